"""``autodata taxonomy DIR``: two-phase LLM taxonomy of a run's accepted items (``graphs/taxonomy.py``).

Writes ``DIR/taxonomy.json``: types with definitions and category, per-item assignment, the distribution
and every parse failure. Exit 0 on success, 2 for a configuration or input error, 1 when no taxonomy could
be built (e.g. every discovery call failed; the file still records why).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autodata.cli.support import open_models, quiet_tracing
from autodata.core import aio
from autodata.core.config import add_model_args

console = Console(stderr=True, highlight=False)
TAXONOMY_FILE = "taxonomy.json"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "taxonomy",
        help="annotate a run's accepted items with an LLM-discovered taxonomy of question types",
        description="Discover question types on a sample stratified by challenge score, consolidate them "
        "into at most N types, assign every accepted item to one type; writes DIR/taxonomy.json.",
    )
    parser.add_argument("dir", metavar="DIR", help="run directory (with accepted.jsonl)")
    parser.add_argument("--max-types", type=int, default=11, metavar="N", help="at most N types (default 11)")
    parser.add_argument(
        "--sample", type=int, default=40, metavar="N", help="items in the discovery sample (default 40)"
    )
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="items per assignment call")
    parser.add_argument("--role", default="judge", help="role whose model annotates (default judge)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stratified sample")
    add_model_args(parser)
    parser.set_defaults(handler=run)
    return parser


def render(taxonomy: dict) -> Table:
    table = Table(title=f"taxonomy of {taxonomy['items']} accepted item(s)")
    table.add_column("type")
    table.add_column("category")
    table.add_column("items", justify="right")
    table.add_column("share", justify="right")
    for row in taxonomy["distribution"]:
        share = "-" if row["share"] is None else f"{row['share']:.0%}"
        table.add_row(row["type"], row["category"], str(row["count"]), share)
    if taxonomy["unassigned"]:
        table.add_row("(unassigned)", "", str(taxonomy["unassigned"]), "")
    return table


async def build_taxonomy(run_dir: str | Path, context) -> dict:
    from autodata.graphs.taxonomy import graph

    state = await graph.ainvoke({"run_dir": str(run_dir)}, context=context)
    return state["taxonomy"]


def run(args: argparse.Namespace) -> int:
    from autodata.nodes.taxonomy import TaxonomyContext

    quiet_tracing()
    run_dir = Path(args.dir)
    if not (run_dir / "accepted.jsonl").is_file():
        console.print(f"[bold red]error:[/] not a run directory (no accepted.jsonl): {run_dir}")
        return 2
    if args.max_types < 1 or args.sample < 1 or args.batch_size < 1:
        console.print("[bold red]error:[/] --max-types, --sample and --batch-size must be at least 1")
        return 2
    opened = open_models(args, console, require_role=args.role)
    if opened is None:
        return 2
    config, registry = opened
    discover_chunk = 20
    if config.local_models():  # small context windows on the embedded models
        args.batch_size = min(args.batch_size, 4)
        discover_chunk = 8
    context = TaxonomyContext(
        discover_chunk=discover_chunk,
        max_types=args.max_types,
        sample=args.sample,
        batch_size=args.batch_size,
        role=args.role,
        seed=args.seed,
        models=registry,
    )
    try:
        taxonomy = aio.run(build_taxonomy(run_dir, context))
    except KeyboardInterrupt:
        console.print("[bold yellow]interrupted[/]")
        return 130
    path = run_dir / TAXONOMY_FILE
    path.write_text(json.dumps(taxonomy, indent=2, ensure_ascii=False), encoding="utf-8")
    if taxonomy["items"]:
        Console().print(render(taxonomy))
    else:
        console.print("no accepted items")
    failures = taxonomy["parse_failures"]
    if failures["total"]:
        phases = ", ".join(f"{k} {v}" for k, v in failures["by_phase"].items())
        console.print(
            f"[yellow]{failures['total']} parse failure(s)[/] ({phases}); "
            f"{taxonomy['unassigned']} item(s) unassigned"
        )
    console.print(f"wrote {path}")
    if taxonomy["error"]:
        console.print(f"[bold red]error:[/] {taxonomy['error']}")
        return 1
    return 0
