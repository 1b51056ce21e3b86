"""Command line: ``autodata generate``, ``autodata demo``, ``autodata models``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autodata.cli import evaluate as evaluate_cli
from autodata.cli import export as export_cli
from autodata.cli import optimize as optimize_cli
from autodata.cli import report as report_cli
from autodata.cli import show as show_cli
from autodata.cli import taxonomy as taxonomy_cli
from autodata.cli.support import loop_settings, open_models, quiet_tracing
from autodata.core import aio
from autodata.core.config import ConfigError, add_model_args
from autodata.core.context import RunContext
from autodata.core.records import read_records
from autodata.data.documents import load_documents
from autodata.llm.cache import ResponseCache
from autodata.llm.calls import Budget
from autodata.local.server import LocalServerCrashed
from autodata.rules.acceptance import PRESETS
from autodata.run.checkpointers import describe as describe_checkpointer
from autodata.run.runner import Runner, RunSummary

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXIT_NO_EVIDENCE = 3

console = Console(stderr=True, highlight=False)


def _add_generate_args(parser: argparse.ArgumentParser, *, demo: bool = False) -> None:
    parser.add_argument(
        "--out",
        default="runs/demo" if demo else None,
        required=not demo,
        help="run directory (accepted.jsonl, rejected.jsonl, summary.json, checkpoints)",
    )
    parser.add_argument(
        "--method",
        choices=["agentic", "cot"],
        default="agentic",
        help="agentic: the Agentic Self-Instruct loop; cot: the CoT Self-Instruct baseline "
        "(one pass, quality filter, scored once)",
    )
    parser.add_argument(
        "--mode",
        choices=["rubric", "verifiable"],
        # the demo's CPU models: verifiable items are graded in code, so a round costs no judge calls
        default="verifiable" if demo else "rubric",
        help="default task mode; a document's front matter 'mode: ...' overrides it"
        + (" (demo: verifiable)" if demo else ""),
    )
    parser.add_argument(
        "--preset", choices=PRESETS, default=None, help="acceptance preset (default: the mode's)"
    )
    parser.add_argument(
        "--samples",
        "-k",
        type=int,
        # the demo: the verifiable preset's 3 of 4 (at k = 2 it needs 2 of 2, and one slip of the strong 1.5B
        # in four answers rejected an item it solves)
        default=4 if demo else 2,
        help="solver samples per role and round" + (" (demo: 4)" if demo else ""),
    )
    parser.add_argument(
        "--max-rounds",
        type=int,
        # the demo: a rejected round costs the embedded models 20-30 s, and the time budget bounds the run
        default=5 if demo else 3,
        help="rounds per item before a unit gives it up" + (" (demo: 5)" if demo else ""),
    )
    parser.add_argument(
        "--items-per-doc",
        type=int,
        default=1,
        metavar="N",
        help="accepted items wanted per document section (distinct questions, each its own record)",
    )
    parser.add_argument(
        "--candidates", type=int, default=1, help="challenger candidates per round (parallel)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        # the demo's 3 documents side by side: its time budget then leaves each of them rounds
        default=3 if demo else None,
        help="documents in flight at once (default: 1 on embedded models, whose CPU servers "
        "serialise requests; 4 otherwise" + ("; the demo: its 3 documents at once)" if demo else ")"),
    )
    add_model_args(parser)
    parser.add_argument(
        "--prompts", default=None, help="directory of prompt variants (challenger/orchestrator)"
    )
    parser.add_argument(
        "--no-advice",
        action="store_true",
        # on CPU the advice costs a round about 13 s (measured on the 1.5B); the coded feedback always runs
        default=demo,
        help="skip the orchestrator model's advice" + (" (the demo skips it)" if demo else ""),
    )
    parser.add_argument("--max-source-chars", type=int, default=6000)
    parser.add_argument(
        "--section-chars",
        type=int,
        default=6000,
        help="split longer documents into sections of about this many characters",
    )
    parser.add_argument("--section-overlap", type=int, default=300)
    parser.add_argument("--jsonl-field", default="text", help="text field of .jsonl inputs")
    parser.add_argument(
        "--review", action="store_true", help="ask for a human decision before an item is accepted"
    )
    budget = parser.add_argument_group(
        "budget",
        "stop cleanly when this invocation has spent a limit (cached replays are free); the same command "
        "with a higher limit continues where it stopped",
    )
    budget.add_argument("--budget-calls", type=int, default=None, metavar="N", help="LLM requests sent")
    budget.add_argument("--budget-tokens", type=int, default=None, metavar="N", help="input + output tokens")
    budget.add_argument(
        "--budget-usd",
        type=float,
        default=None,
        metavar="X",
        help="US dollars at the roles' price_per_million_input/output",
    )
    budget.add_argument(
        "--budget-seconds",
        type=float,
        # the demo's 3 documents in flight queue on one CPU server: requests sent before the budget end up to
        # a minute or two after it
        default=540.0 if demo else None,
        metavar="S",
        help="wall time after which no new request is sent" + (" (demo: 540)" if demo else ""),
    )
    parser.add_argument(
        "--dedup-threshold",
        type=float,
        default=0.8,
        help="similarity (the larger Jaccard of word 3-shingles and of content words) from which an "
        "accepted question is a near-duplicate of one accepted before in the run (written to "
        "rejected.jsonl, reason duplicate)",
    )
    parser.add_argument("--no-dedup", action="store_true", help="keep near-duplicate questions")
    parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help="run each document on a LangGraph API server (e.g. langgraph dev) instead of "
        "in-process; the server's own model config applies",
    )
    parser.add_argument(
        "--checkpointer",
        default=None,
        metavar="URL",
        help="where in-process checkpoints live: 'sqlite' (default: OUT/checkpoints.sqlite) or a "
        "postgres://user@host:5432/db URL; with Postgres, several `generate` processes on the same --out "
        "share the run and never run a document twice",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autodata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="create items from source documents")
    gen.add_argument("paths", nargs="+", help="files, directories or globs of .txt/.md documents")
    _add_generate_args(gen)
    demo = sub.add_parser("demo", help="run generate on the bundled examples with the embedded models")
    _add_generate_args(demo, demo=True)
    models = sub.add_parser(
        "models", help="check the embedded models: assemble, start each server, one tiny request"
    )
    models.add_argument("--no-run", action="store_true", help="only the install/assembly status table")
    sub.add_parser("diagrams", help="regenerate the mermaid diagrams in docs/ and README.md")
    evaluate_cli.add_parser(sub)
    export_cli.add_parser(sub)
    optimize_cli.add_parser(sub)
    report_cli.add_parser(sub)
    show_cli.add_parser(sub)
    taxonomy_cli.add_parser(sub)
    status = sub.add_parser("status", help="progress of a running or finished run")
    status.add_argument("run_dir")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.add_argument(
        "--checkpointer",
        metavar="URL",
        help="the postgres:// URL the run was started with (SQLite runs need none)",
    )
    return parser


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


GRAPH_IDS = {"agentic": "self_instruct", "cot": "cot_self_instruct"}


def graph_builder(method: str):
    if method == "cot":
        from autodata.graphs.cot_self_instruct import build_graph as build_cot

        return build_cot
    from autodata.graphs.self_instruct import build_graph

    return build_graph


def check_server(url: str) -> None:
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/ok", timeout=10)
    except httpx.HTTPError as exc:
        raise ConfigError(f"LangGraph server at {url} is unreachable: {exc}") from exc
    if response.status_code != 200:
        raise ConfigError(f"LangGraph server at {url} answered HTTP {response.status_code} to GET /ok")


class TerminalReviewer:
    """Asks on the terminal whether to accept an item (``--review``)."""

    def __call__(self, payload: dict) -> dict:
        console.rule(f"review: {Path(payload.get('source') or '?').name}, round {payload.get('round')}")
        console.print(
            f"[bold]context[/]: {payload['context']}\n[bold]question[/]: {payload['question']}\n"
            f"[bold]answer[/]: {payload['answer']}"
        )
        for criterion in payload.get("rubric") or []:
            console.print(f"  [{criterion['id']}] ({criterion['points']:+d}) {criterion['description']}")
        console.print(f"weak {payload['weak_scores']}  strong {payload['strong_scores']}")
        if not sys.stdin.isatty():
            console.print("[yellow]no terminal to ask: item left pending; resume later to review it[/]")
            return {"defer": True}
        answer = console.input("accept this item? [y/n] ").strip().lower()
        if answer.startswith("y"):
            return {"accept": True}
        return {"accept": False, "reason": console.input("reason (optional): ").strip()}


def print_summary(summary: RunSummary) -> None:
    table = Table(title="autodata run summary", show_header=False)
    table.add_row("run directory", summary.out_dir)
    table.add_row(
        "documents", f"{summary.documents} ({', '.join(f'{k}: {v}' for k, v in summary.finished.items())})"
    )
    if summary.skipped:
        table.add_row("skipped inputs", "\n".join(f"{s['path']}: {s['reason']}" for s in summary.skipped))
    table.add_row("rounds (attempts)", f"{summary.rounds} ({summary.attempts})")
    table.add_row("items that reached the solvers", str(summary.items_solved))
    table.add_row("accepted", f"[bold green]{summary.accepted}[/]")
    if summary.duplicates:
        table.add_row("near-duplicates (rejected)", str(summary.duplicates))
    table.add_row(
        "rejections by reason", ", ".join(f"{k}: {v}" for k, v in summary.rejections.items()) or "-"
    )
    table.add_row("wall time", f"{summary.wall_seconds:.1f} s")
    table.add_row("cost", f"${summary.cost_usd:.4f}")
    if summary.stopped:
        table.add_row("stopped", f"[bold yellow]stopped: {summary.stopped}[/]")
    console.print(table)
    calls = Table(title="LLM calls per role")
    for column in ("role", "calls", "failed", "cached", "input tokens", "output tokens", "seconds", "cost $"):
        calls.add_column(column, justify="left" if column == "role" else "right")
    for role, row in summary.calls.items():
        calls.add_row(
            role,
            str(int(row["calls"])),
            str(int(row["failed"])),
            str(int(row.get("cached", 0))),
            str(int(row["input_tokens"])),
            str(int(row["output_tokens"])),
            f"{row['seconds']:.1f}",
            f"{row.get('cost_usd', 0.0):.4f}",
        )
    console.print(calls)
    if summary.stopped:
        console.print(
            f"[bold yellow]stopped: {summary.stopped}[/]; run the same command (with a higher budget) "
            "to continue where it stopped"
        )
    for warning in summary.warnings:
        console.print(f"[bold red]WARNING: {warning}[/]")


SHOWN_ITEMS = 10


def print_accepted(path: Path, limit: int = SHOWN_ITEMS) -> None:
    """Each accepted item's question, answer and solver scores (the first ``limit`` of the run)."""
    records = read_records(path).records  # none when the file is missing; a torn last line is skipped
    for i, r in enumerate(records[:limit], 1):
        weak = ", ".join(f"{s:.2f}" for s in r["weak_scores"])
        strong = ", ".join(f"{s:.2f}" for s in r["strong_scores"])
        console.print(
            f"[bold green]accepted item {i}[/] ({Path(r['source']['path']).name}, {r['mode']}): "
            f"{r['question']}\n  answer: {r['answer']}\n  weak [{weak}]  strong [{strong}]"
        )
    if len(records) > limit:
        console.print(f"... and {len(records) - limit} more in {path}")


def run_generate(args: argparse.Namespace, paths: list[str], *, demo: bool = False) -> int:
    quiet_tracing()
    loaded = load_documents(
        paths,
        section_chars=args.section_chars,
        section_overlap=args.section_overlap,
        jsonl_field=args.jsonl_field,
    )
    for skipped in loaded.skipped:
        console.print(f"[yellow]skipping {skipped.path}: {skipped.reason}[/]")
    if not loaded.documents:
        console.print("[bold red]error:[/] no readable documents among the given paths")
        return 2
    if not args.no_dedup and not 0.0 < args.dedup_threshold <= 1.0:
        console.print("[bold red]error:[/] --dedup-threshold must be in (0, 1]")
        return 2
    # the budget is checked before every request (autodata.llm.calls; without limits it only counts), and a
    # call answered once is never paid for again
    budget = Budget(args.budget_calls, args.budget_tokens, args.budget_usd, args.budget_seconds)
    out = Path(args.out)
    opened = open_models(
        args,
        console,
        preflight=not args.server,  # a server checks its own models
        cache=ResponseCache(out / "responses.sqlite"),
        budget=budget,
    )
    if opened is None:
        return 2
    config, registry = opened
    if args.server:
        try:
            check_server(args.server)
        except ConfigError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            return 2
    context = RunContext(
        **loop_settings(args),
        max_source_chars=args.max_source_chars,
        prompts_dir=args.prompts,
        models=registry,
        variant=Path(args.prompts).name if args.prompts else "seed",
        review=args.review,
        dedup_threshold=None if args.no_dedup else args.dedup_threshold,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(
        json.dumps(
            {
                "paths": paths,
                "method": args.method,
                "mode": args.mode,
                "preset": args.preset,
                "samples": args.samples,
                "max_rounds": args.max_rounds,
                "candidates": args.candidates,
                "profile": args.profile,
                "config": args.config,
                "overrides": args.overrides,
                "prompts": args.prompts,
                "dedup_threshold": context.dedup_threshold,
                "budget": budget.to_json() if budget.limited else None,
                "checkpointer": describe_checkpointer(args.checkpointer),
                "models": {role: m.model_dump() for role, m in config.roles.items()},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    console.print(f"{len(loaded.documents)} document(s) -> {out}")
    concurrency = args.concurrency or (1 if config.local_models() else 4)
    # the live panel would fight with --review's questions on the same terminal
    progress = ProgressPrinter() if args.review else make_progress(len(loaded.documents), budget)
    if args.server:
        from autodata.run.remote import RemoteRunner

        runner = RemoteRunner(
            args.server,
            out,
            context,
            models=registry.describe(),
            concurrency=concurrency,
            progress=progress,
            graph_id=GRAPH_IDS[args.method],
        )
    else:
        runner = Runner(
            out,
            context,
            concurrency=concurrency,
            progress=progress,
            reviewer=TerminalReviewer() if args.review else None,
            graph_builder=graph_builder(args.method),
            checkpointer=args.checkpointer,
        )
    try:
        with progress:
            summary = aio.run(runner.run(loaded.documents, loaded.skipped))
    except KeyboardInterrupt:
        console.print(f"[bold yellow]interrupted[/]: run the same command again to resume from {out}")
        return 130
    except LocalServerCrashed as exc:  # reported once, without a traceback; the run is resumable
        console.print(f"[bold red]error:[/] {exc}\nthe run stopped; once fixed, the same command resumes it")
        return 1
    print_summary(summary)
    print_accepted(out / "accepted.jsonl")
    console.print(f"accepted items: {out / 'accepted.jsonl'}\nrejected rounds: {out / 'rejected.jsonl'}")
    if summary.documents and summary.items_solved == 0 and not demo and not summary.stopped:
        return EXIT_NO_EVIDENCE
    return 0


def show_status(run_dir: str, *, as_json: bool = False, checkpointer: str | None = None) -> int:
    from autodata.run.status import StatusError, run_status

    try:
        status = run_status(run_dir, checkpointer)
    except (FileNotFoundError, StatusError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    if as_json:
        print(json.dumps(status, indent=2))
        return 0
    table = Table(
        title=f"run {run_dir}: {'finished' if status['finished'] else 'in progress or interrupted'}"
    )
    shared = any("worker" in t for t in status["threads"])  # a Postgres run: units claimed by workers
    columns = ["document", "status", "round", "next step", "LLM calls"]
    for column in columns + (["worker", "takeovers"] if shared else []):
        table.add_column(column)
    for t in status["threads"]:
        row = [
            Path(t["source"]).name,
            t["status"],
            str(t["round"] or "-"),
            ", ".join(t["waiting_for"]) or "-",
            str(t["calls"]),
        ]
        if shared:
            row += [f"{t['worker']}{' (holds it)' if t['held'] else ''}", str(t["takeovers"])]
        table.add_row(*row)
    console.print(table)
    counts = ", ".join(f"{k}: {v}" for k, v in status["by_status"].items()) or "no documents started"
    console.print(
        f"documents: {counts}; accepted.jsonl: {status['accepted_records']} item(s), "
        f"rejected.jsonl: {status['rejected_records']} round(s)"
    )
    if not status["finished"]:
        console.print("resume or finish it with the same `autodata generate ... --out DIR` command")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "models":
        if args.no_run:
            from autodata.local.models import print_models_status

            print_models_status(Console())
            return 0
        from autodata.local.doctor import run_doctor

        return run_doctor(Console())
    if args.command == "evaluate":
        return evaluate_cli.run(args)
    if args.command == "export":
        return export_cli.run(args)
    if args.command == "optimize":
        return optimize_cli.run(args)
    if args.command == "report":
        return report_cli.run(args)
    if args.command == "show":
        return show_cli.run(args)
    if args.command == "taxonomy":
        return taxonomy_cli.run(args)
    if args.command == "status":
        return show_status(args.run_dir, as_json=args.json, checkpointer=args.checkpointer)
    if args.command == "diagrams":
        from autodata.cli.diagrams import write_all

        for path in write_all():
            console.print(f"wrote {path}")
        return 0
    if args.command == "demo":
        return run_generate(args, [str(EXAMPLES_DIR)], demo=True)
    return run_generate(args, args.paths)


if __name__ == "__main__":
    sys.exit(main())
