"""Command line: the parser of every command and the dispatch to its module (autodata/cli/NAME.py)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from autodata.cli import evaluate as evaluate_cli
from autodata.cli import export as export_cli
from autodata.cli import optimize as optimize_cli
from autodata.cli import report as report_cli
from autodata.cli import show as show_cli
from autodata.cli import taxonomy as taxonomy_cli
from autodata.cli.generate import EXAMPLES_DIR, add_generate_args, run_generate
from autodata.cli.status import show_status

console = Console(stderr=True, highlight=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autodata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="create items from source documents")
    gen.add_argument("paths", nargs="+", help="files, directories or globs of .txt/.md documents")
    add_generate_args(gen)
    demo = sub.add_parser("demo", help="run generate on the bundled examples with the embedded models")
    add_generate_args(demo, demo=True)
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
