"""Progress of a generate run in the terminal: a live table, or one line per event without a terminal."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autodata.llm.accounting import Budget

console = Console(stderr=True, highlight=False)


class ProgressPrinter:
    """One line per step, so a long CPU run shows it is alive (the display when stderr is no terminal)."""

    def __init__(self, root: Path | None = None):
        self.root = root

    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def _name(self, source: str | None) -> str:
        return Path(source or "?").name

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        name = self._name(event.get("source"))
        r = event.get("round")
        if kind == "start":
            console.print(f"[bold]{name}[/]: {'resuming' if event.get('resumed') else 'starting'}")
        elif kind == "skip":
            console.print(f"[bold]{name}[/]: already finished ({event.get('status')}), skipped")
        elif kind == "candidate":
            state = "written" if event.get("ok") else f"[red]failed[/] ({event.get('error')})"
            console.print(f"  {name} r{r}: challenger candidate {event.get('index', 0) + 1} {state}")
        elif kind == "screened":
            console.print(
                f"  {name} r{r}: {event.get('passed')}/{event.get('total')} candidate(s) passed screening"
            )
        elif kind == "solved":
            console.print(
                f"  {name} r{r}: {event.get('role')} answered {event.get('ok')}/{event.get('total')}"
            )
        elif kind == "judged":
            scores = ", ".join("-" if s is None else f"{s:.2f}" for s in event.get("scores", []))
            console.print(f"  {name} r{r}: judged {event.get('phase')} answers: [{scores}]")
        elif kind == "round":
            colour = "green" if event.get("reason") == "accepted" else "yellow"
            console.print(
                f"  {name} r{r}: [{colour}]{event.get('reason')}[/] - {event.get('detail', '')[:160]}"
            )
        elif kind == "done":
            console.print(f"[bold]{name}[/]: {event.get('status')}")
        elif kind == "error":
            console.print(f"[bold red]{name}: error: {event.get('error')}[/]")
        elif kind == "stopped":
            console.print(f"[bold yellow]{name}: stopped ({event.get('reason')}); resumable[/]")


class LiveProgress:
    """A live panel on a terminal: units done/total, accepted, rejections by reason, requests in flight,
    tokens, cost and ETA (``budget`` counts this invocation's requests, tokens and dollars). Errors and
    budget stops are still printed as lines above it."""

    def __init__(self, total: int, budget: Budget | None = None):
        self.total = total
        self.budget = budget
        self.done = 0
        self.worked = 0  # units finished by this invocation (not skipped): they set the pace for the ETA
        self.running: set[str] = set()
        self.statuses: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.started = time.monotonic()
        self._live = None

    def __enter__(self) -> LiveProgress:
        from rich.live import Live

        self.started = time.monotonic()
        self._live = Live(console=console, get_renderable=self.render, refresh_per_second=4, transient=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def eta(self) -> str:
        left = self.total - self.done
        if left <= 0:
            return "-"
        if not self.worked:
            return "?"
        seconds = (time.monotonic() - self.started) / self.worked * left
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"

    def render(self) -> Table:
        table = Table(show_header=False, box=None, padding=(0, 1))
        elapsed = time.monotonic() - self.started
        table.add_row("units", f"{self.done}/{self.total} done, {len(self.running)} running")
        table.add_row("accepted", f"[green]{self.statuses.get('accepted', 0)}[/]")
        table.add_row("rejected", ", ".join(f"{k}: {v}" for k, v in self.rejections.most_common()) or "-")
        other = {k: v for k, v in self.statuses.items() if k != "accepted"}
        if other:
            table.add_row("other outcomes", ", ".join(f"{k}: {v}" for k, v in sorted(other.items())))
        if self.budget is not None:
            table.add_row(
                "LLM requests",
                f"{self.budget.calls} sent, {self.budget.in_flight} in flight, {self.budget.tokens} tokens, "
                f"${self.budget.usd:.4f}",
            )
        table.add_row("elapsed / ETA", f"{int(elapsed // 60)}m{int(elapsed % 60):02d}s / {self.eta()}")
        return table

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        source = event.get("source") or "?"
        if kind == "start":
            self.running.add(source)
        elif kind == "round" and event.get("reason") != "accepted":
            self.rejections[event.get("reason") or "?"] += 1
        elif kind in ("done", "skip", "error", "stopped"):
            self.running.discard(source)
            self.done += 1
            self.worked += 1 if kind != "skip" else 0
            status = event.get("status") if kind in ("done", "skip") else kind
            self.statuses[status or "unknown"] += 1
            if kind == "error":
                console.print(f"[bold red]{Path(source).name}: error: {event.get('error')}[/]")
            elif kind == "stopped":
                console.print(f"[bold yellow]{Path(source).name}: stopped ({event.get('reason')})[/]")


def make_progress(total: int, budget: Budget | None = None) -> LiveProgress | ProgressPrinter:
    """The live panel when stderr is a terminal, else one line per step (CI logs, pipes)."""
    return LiveProgress(total, budget) if console.is_terminal else ProgressPrinter()
