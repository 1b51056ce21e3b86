"""``autodata evaluate DIR...``: the CLI side of :mod:`autodata.evals.evaluate` (wired in
``autodata/cli/main.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from autodata.cli.support import open_models, quiet_tracing
from autodata.core import aio
from autodata.core.config import add_model_args
from autodata.evals.evaluate import EVALUATION_FILE, evaluate_runs, render_table

console = Console(stderr=True, highlight=False)


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        help="re-solve the accepted items of one or more runs with fresh samples and compare them",
    )
    parser.add_argument("runs", nargs="+", help="run directories (each with accepted.jsonl)")
    parser.add_argument(
        "--samples", "-k", type=int, default=4, help="fresh answers per solver and item (default 4)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap confidence interval")
    parser.add_argument("--concurrency", type=int, default=4, help="items solved at once")
    add_model_args(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    quiet_tracing()
    missing = [d for d in args.runs if not (Path(d) / "accepted.jsonl").is_file()]
    if missing:
        console.print(f"[bold red]error:[/] not a run directory (no accepted.jsonl): {', '.join(missing)}")
        return 2
    opened = open_models(args, console)
    if opened is None:
        return 2
    config, registry = opened
    if config.local_models() and args.concurrency > 1:
        args.concurrency = 1  # the embedded CPU servers serialise requests anyway
    try:
        reports = aio.run(
            evaluate_runs(
                args.runs,
                registry,
                samples=max(1, args.samples),
                seed=args.seed,
                concurrency=args.concurrency,
            )
        )
    except KeyboardInterrupt:
        console.print("[bold yellow]interrupted[/]")
        return 130
    Console().print(render_table(reports))
    for report in reports:
        console.print(f"wrote {Path(report['run']) / EVALUATION_FILE}")
    return 0
