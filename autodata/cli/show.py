"""``autodata show RUN [UNIT]``: a run's units, or one unit's trajectory round by round, in the terminal.

Without UNIT: one row per unit (id, document, span, outcome, rounds, reasons). With UNIT (a unit id, a
source path or file name, or a document whose sections are all shown): every round in order with its
question, the candidates' verdicts, the solver scores, reason and detail, the feedback the orchestrator
sent into the next round, and the accepted item in full. Read from the run's files
(:mod:`autodata.evals.trajectory`); no model is called.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autodata.evals.trajectory import ACCEPTED, Round, Unit, find_units, read_trajectories, scores_text

EXIT_USAGE = 2
LISTED_IN_ERRORS = 10


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "show",
        help="a run's units, or one unit's trajectory round by round (question, verdicts, scores, feedback)",
        description="Without UNIT, list the run's units with their outcome and number of rounds; with UNIT "
        "(a unit id, a source path or file name, or a document: all its sections), print its rounds in "
        "order: question, the candidates' verdicts, solver scores, reason, the feedback sent next, and the "
        "accepted item in full.",
    )
    parser.add_argument("run_dir", metavar="RUN", help="run directory")
    parser.add_argument("unit", nargs="?", metavar="UNIT", help="unit id, source path or document name")
    parser.add_argument("--json", action="store_true", help="print the unit(s) as JSON")
    parser.set_defaults(handler=run)
    return parser


def rubric_lines(rubric: list[dict[str, Any]]) -> str:
    return "\n".join(f"- ({c.get('points', '?')} pt) {c.get('description', '')}" for c in rubric)


def units_table(units: list[Unit], run_dir: str) -> Table:
    items = sum(len(u["accepted"]) for u in units)
    table = Table(
        title=f"run {escape(run_dir)}: {len(units)} units, {items} accepted item{'s' * (items != 1)}",
        box=box.SIMPLE_HEAD,
    )
    for column in ("unit", "document", "span", "outcome", "rounds", "reasons"):
        table.add_column(
            column, justify="right" if column == "rounds" else "left", no_wrap=column != "reasons"
        )
    for u in units:
        span = "-".join(map(str, u["span"])) or "-"
        style = "green" if u["outcome"] == ACCEPTED else "red"
        outcome = Text(u["outcome"], style)
        table.add_row(u["id"], u["name"], span, outcome, str(len(u["rounds"])), ", ".join(u["reasons"]))
    return table


def round_panel(r: Round) -> Panel:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()

    def row(label: str, value: str | None) -> None:
        if value:
            grid.add_row(label, Text(value))

    item = r["accepted"]
    row("question", r["question"] or "(no item)")
    verdicts = [  # a refused candidate's feedback is usually the round's detail: said once
        f"candidate {v['index']}: {v['reason']}"
        + (f": {v['feedback']}" if v["feedback"] and v["feedback"] != r["detail"] else "")
        for v in r["verdicts"]
    ]
    row("verdicts", "\n".join(verdicts))
    row("scores", scores_text(r))
    row("detail", r["detail"])
    if item is not None:
        row("context", item.get("context"))
        row("answer", item.get("answer"))
        row("solution", item.get("solution") or item.get("program"))
        if item.get("program_error"):
            row("program error", item["program_error"])
        if item.get("repairs"):
            row("repaired", "; ".join(item["repairs"]))
        row("rubric", rubric_lines(item.get("rubric") or []))
        row("evidence", "\n".join(item.get("evidence") or []))
        row("type", item.get("question_type"))
    parts: list[Any] = [grid]
    if r["feedback_next"]:
        parts += [Text("feedback sent next", style="bold"), Text(r["feedback_next"], style="dim")]
    attempt = "" if r["attempt"] is None else f" (attempt {r['attempt']})"
    colour = "green" if r["reason"] == ACCEPTED else "yellow" if not r["counted"] else "red"
    title = f"round {r['round']}{attempt} · [{colour}]{escape(r['reason'])}[/]"
    return Panel(Group(*parts), title=title, title_align="left", border_style=colour)


def print_unit(console: Console, unit: Unit) -> None:
    span = "-".join(map(str, unit["span"])) or "-"
    console.rule(
        f"[bold]{escape(unit['name'])}[/] · unit {unit['id']} · span {span} · {unit['outcome']}, "
        f"{len(unit['rounds'])} round(s)"
    )
    console.print(Text(unit["source"], style="dim"))
    for r in unit["rounds"]:
        console.print(round_panel(r))


def run(args: argparse.Namespace) -> int:
    from autodata.evals.report import ReportError

    console, errors = Console(), Console(stderr=True)
    try:
        units = read_trajectories(args.run_dir)
    except (ReportError, OSError) as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    chosen = units if args.unit is None else find_units(units, args.unit)
    if args.unit is not None and not chosen:
        known = ", ".join(f"{u['name']} ({u['id']})" for u in units[:LISTED_IN_ERRORS]) or "none"
        more = f" and {len(units) - LISTED_IN_ERRORS} more" if len(units) > LISTED_IN_ERRORS else ""
        errors.print(
            f"[bold red]error:[/] no unit matches {escape(repr(args.unit))} in {escape(args.run_dir)}; "
            f"units: {escape(known)}{more}"
        )
        return EXIT_USAGE
    if args.json:
        print(json.dumps(chosen, indent=2, ensure_ascii=False))
    elif args.unit is None:
        console.print(units_table(units, args.run_dir))
        console.print("one unit's rounds: autodata show RUN UNIT (a unit id, path or document name)")
    else:
        for unit in chosen:
            print_unit(console, unit)
    return 0
