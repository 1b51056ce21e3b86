"""``autodata optimize``: meta-optimise the editable prompts on training/validation documents.

    autodata optimize --train docs/train --val docs/val --iterations 10 --out runs/opt [--resume]
        [--budget CALLS] [--minibatch N] [--temperature T] [--profile/--config/--set ...]

Writes DIR/variants/<id>/, DIR/iterations.jsonl, DIR/report.md, DIR/pass_rate.png and DIR/best/ (usable as
``autodata generate --prompts DIR/best``). The outer graph is checkpointed in DIR/meta.sqlite (one thread),
so ``--resume`` continues an interrupted run, or extends a finished one to more ``--iterations``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from rich.console import Console

from autodata.cli.support import loop_settings, open_models, quiet_tracing
from autodata.core import aio
from autodata.core.config import ConfigError
from autodata.core.context import RunContext
from autodata.core.meta_state import MetaContext
from autodata.data.documents import load_documents
from autodata.rules.acceptance import PRESETS

THREAD_ID = "meta-optimize"
CHECKPOINTS = "meta.sqlite"

console = Console(stderr=True, highlight=False)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("optimize", help="meta-optimise the challenger/orchestrator prompts")
    p.add_argument("--train", nargs="+", required=True, help="training documents (files, dirs, globs)")
    p.add_argument("--val", nargs="+", required=True, help="validation documents (files, dirs, globs)")
    p.add_argument("--iterations", type=int, default=5, help="outer iterations (default 5)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--budget", type=int, default=None, help="max LLM calls (checked before each iteration)")
    p.add_argument("--minibatch", type=int, default=2, help="training documents per iteration")
    p.add_argument("--temperature", type=float, default=0.1, help="Boltzmann temperature of parent sampling")
    p.add_argument("--seed", type=int, default=0, help="random seed (parent and minibatch sampling)")
    p.add_argument("--mode", choices=["rubric", "verifiable"], default="rubric")
    p.add_argument("--preset", choices=PRESETS, default=None)
    p.add_argument("--samples", "-k", type=int, default=2)
    p.add_argument("--max-rounds", type=int, default=3)
    p.add_argument("--candidates", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=None, help="documents in flight per inner run")
    p.add_argument("--profile", default="local", help="model profile: local (embedded, default) or openai")
    p.add_argument("--config", default=None, help="TOML file with per-role models")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="ROLE.FIELD=VALUE")
    p.add_argument("--no-advice", action="store_true")
    p.set_defaults(handler=run)
    return p


def progress_printer(event: dict[str, Any]) -> None:
    kind = event.get("event", "")
    if kind == "meta_iteration":
        console.print(f"[bold]iteration {event['iteration']}[/]: parent {event['parent']}")
    elif kind == "meta_edit":
        console.print(f"  edit {event['child']} ({event['prompt']}): {event['outcome']} {event['detail']}")
    elif kind == "meta_eval":
        console.print(f"  val {event['role']} {event['variant']}: pass rate {event['pass_rate']:.2f}")
    elif kind == "meta_record":
        console.print(f"  -> {event['outcome']}; best {event['best']}")


async def optimize(ctx: MetaContext, *, resume: bool = False, progress=None) -> dict[str, Any]:
    """Run (or resume) the outer graph with a SQLite checkpointer under ``ctx.out_dir``."""
    from autodata.graphs.meta_optimize import build_graph

    out = Path(ctx.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "configurable": {"thread_id": THREAD_ID},
        "recursion_limit": 10_000,
        "run_name": "meta_optimize",
    }
    async with AsyncSqliteSaver.from_conn_string(str(out / CHECKPOINTS)) as saver:
        graph = build_graph(saver)
        snapshot = await graph.aget_state(config)
        if snapshot.values and not resume:
            raise ConfigError(f"{out} already holds an optimisation run; pass --resume to continue it")
        graph_input = None if snapshot.next else {"run": "optimize"}
        async for chunk in graph.astream(graph_input, config, context=ctx, stream_mode="custom"):
            if progress:
                progress(chunk)
        return dict((await graph.aget_state(config)).values)


def run(args: argparse.Namespace) -> int:
    quiet_tracing()
    train, val = load_documents(args.train), load_documents(args.val)
    for skipped in [*train.skipped, *val.skipped]:
        console.print(f"[yellow]skipping {skipped.path}: {skipped.reason}[/]")
    if not train.documents or not val.documents:
        console.print("[bold red]error:[/] need readable --train and --val documents")
        return 2
    opened = open_models(args, console)
    if opened is None:
        return 2
    models, registry = opened
    inner = RunContext(**loop_settings(args), models=registry)
    ctx = MetaContext(
        out_dir=args.out,
        train=train.documents,
        val=val.documents,
        iterations=args.iterations,
        budget=args.budget,
        minibatch=args.minibatch,
        temperature=args.temperature,
        seed=args.seed,
        concurrency=args.concurrency or (1 if models.local_models() else 4),
        inner=inner,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "optimize.json").write_text(
        json.dumps(
            {k: v for k, v in vars(args).items() if k != "func"}
            | {"models": {role: m.model_dump() for role, m in models.roles.items()}},
            indent=2,
        ),
        encoding="utf-8",
    )
    try:
        state = aio.run(optimize(ctx, resume=args.resume, progress=progress_printer))
    except ConfigError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print(f"[bold yellow]interrupted[/]: rerun with --resume to continue {out}")
        return 130
    best = (out / "best" / "VARIANT").read_text(encoding="utf-8").strip()
    cost = state.get("cost", {})
    console.print(
        f"{state.get('iteration', 0)} iteration(s), {cost.get('calls', 0)} LLM calls; best variant {best}\n"
        f"report: {out / 'report.md'}\n"
        f"best prompts: {out / 'best'} (autodata generate --prompts {out / 'best'})"
    )
    return 0
