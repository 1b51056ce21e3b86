"""``autodata report DIR... [--out FILE]``: the CLI side of :mod:`autodata.evals.report`."""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="write one self-contained HTML report (plots, comparison table) for one or more runs",
        description="Score and gap distributions, rounds, rejection reasons, taxonomy and a side-by-side "
        "comparison of run directories, as a single HTML file with embedded PNG plots.",
    )
    parser.add_argument("runs", nargs="+", metavar="DIR", help="run directories")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="output file (default DIR/report.html, or ./report.html for several runs)",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("error: the report needs matplotlib: pip install 'autodata[plot]'", file=sys.stderr)
        return EXIT_USAGE
    from autodata.evals.report import ReportError, write_report

    try:
        path = write_report(args.runs, args.out)
    except (ReportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {path}")
    return 0
