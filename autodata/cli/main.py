"""Command line: one module per command (autodata/cli/NAME.py); each registers its parser and the handler
that runs it."""

from __future__ import annotations

import argparse
import sys

from autodata.cli import (
    diagrams,
    evaluate,
    export,
    generate,
    models,
    optimize,
    report,
    show,
    status,
    taxonomy,
)

COMMANDS = (generate, models, diagrams, evaluate, export, optimize, report, show, taxonomy, status)
"""In the order ``autodata --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autodata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
