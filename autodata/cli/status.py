"""``autodata status``: where a run stands (documents by state, accepted records), from its checkpoints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(stderr=True, highlight=False)


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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser("status", help="progress of a running or finished run")
    status.add_argument("run_dir")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.add_argument(
        "--checkpointer",
        metavar="URL",
        help="the postgres:// URL the run was started with (SQLite runs need none)",
    )
    status.set_defaults(
        handler=lambda args: show_status(args.run_dir, as_json=args.json, checkpointer=args.checkpointer)
    )
