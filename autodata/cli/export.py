"""``autodata export DIR --format jsonl|hf|sft|grpo`` or ``--to langsmith NAME``: the CLI side of
:mod:`autodata.data.export` and :mod:`autodata.data.langsmith_export`."""

from __future__ import annotations

import argparse
import shlex
import sys

EXIT_USAGE = 2


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        help="export accepted items as JSONL, a Hugging Face dataset, SFT chats or GRPO prompts",
        description="Export a run's accepted items (DIR/accepted.jsonl) for training, with a dataset card.",
    )
    parser.add_argument("dir", metavar="DIR", help="run output directory (holds accepted.jsonl)")
    parser.add_argument("--format", choices=("jsonl", "hf", "sft", "grpo"), default="jsonl")
    parser.add_argument("--out", metavar="PATH", help="output directory (default DIR/export-FORMAT)")
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.0,
        metavar="F",
        help="test split: a fraction in (0, 1) or a whole count; 0 (default) for no split",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="split seed (default 0)")
    parser.add_argument(
        "--to",
        nargs=2,
        metavar=("TARGET", "NAME"),
        help="upload instead of writing files: --to langsmith NAME creates LangSmith dataset NAME "
        "(needs LANGSMITH_API_KEY)",
    )
    parser.set_defaults(handler=run)
    return parser


def run_upload(args: argparse.Namespace) -> int:
    from autodata.data.export import ExportError
    from autodata.data.langsmith_export import upload

    target, name = args.to
    if target != "langsmith":
        print(f"error: unknown upload target {target!r}; the only one is langsmith", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = upload(args.dir, name)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # network / auth errors from the LangSmith client
        print(f"error: LangSmith upload failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"uploaded {result.examples} item(s) to LangSmith dataset {result.dataset} ({result.dataset_id})")
    if result.invalid_lines or result.duplicates:
        print(f"skipped {result.invalid_lines} invalid line(s), {result.duplicates} duplicate id(s)")
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "to", None):
        return run_upload(args)
    from autodata.data.export import ExportError, export

    parts = ["autodata", "export", args.dir, "--format", args.format]
    if args.out:
        parts += ["--out", args.out]
    if args.test_size:
        parts += ["--test-size", f"{args.test_size:g}", "--seed", str(args.seed)]
    command = shlex.join(parts)
    try:
        result = export(
            args.dir, args.format, args.out, test_size=args.test_size, seed=args.seed, command=command
        )
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    counts = ", ".join(f"{name} {n}" for name, n in result.splits.items())
    print(f"exported {counts} item(s) as {result.format} to {result.out_dir}")
    if result.invalid_lines or result.duplicates:
        print(f"skipped {result.invalid_lines} invalid line(s), {result.duplicates} duplicate id(s)")
    return 0
