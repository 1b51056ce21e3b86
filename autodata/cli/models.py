"""``autodata models``: the embedded models, checked: assembled, each server started, one tiny request."""

from __future__ import annotations

import argparse

from rich.console import Console


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser(
        "models", help="check the embedded models: assemble, start each server, one tiny request"
    )
    models.add_argument("--no-run", action="store_true", help="only the install/assembly status table")
    models.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.no_run:
        from autodata.local.status import print_models_status

        print_models_status(Console())
        return 0
    from autodata.local.doctor import run_doctor

    return run_doctor(Console())
