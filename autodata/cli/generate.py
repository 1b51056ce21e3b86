"""``autodata generate`` and ``autodata demo``: documents in, accepted and rejected items out, with progress
and a summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autodata.cli.progress import ProgressPrinter, make_progress
from autodata.cli.support import loop_settings, open_models, quiet_tracing
from autodata.core import aio
from autodata.core.config import ConfigError, add_model_args
from autodata.core.context import RunContext
from autodata.core.records import read_records
from autodata.data.documents import load_documents
from autodata.llm.accounting import Budget
from autodata.llm.cache import ResponseCache
from autodata.local.server import LocalServerCrashed
from autodata.rules.acceptance import PRESETS
from autodata.run.checkpointers import describe as describe_checkpointer
from autodata.run.runner import Runner
from autodata.run.summary import RunSummary

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXIT_NO_EVIDENCE = 3

console = Console(stderr=True, highlight=False)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """``generate`` and ``demo`` (the same options; the demo's defaults for the embedded models)."""
    gen = subparsers.add_parser("generate", help="create items from source documents")
    gen.add_argument("paths", nargs="+", help="files, directories or globs of .txt/.md documents")
    add_generate_args(gen)
    gen.set_defaults(handler=lambda args: run_generate(args, args.paths))
    demo = subparsers.add_parser("demo", help="run generate on the bundled examples with the embedded models")
    add_generate_args(demo, demo=True)
    demo.set_defaults(handler=lambda args: run_generate(args, [str(EXAMPLES_DIR)], demo=True))


def add_generate_args(parser: argparse.ArgumentParser, *, demo: bool = False) -> None:
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
