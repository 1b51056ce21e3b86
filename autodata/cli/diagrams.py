"""Mermaid diagrams of the compiled graphs, written into docs/ and README.md (``autodata diagrams``)."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = {
    "self_instruct": "autodata.graphs.self_instruct",
    "cot_self_instruct": "autodata.graphs.cot_self_instruct",
    "meta_optimize": "autodata.graphs.meta_optimize",
    "taxonomy": "autodata.graphs.taxonomy",
}
README_BLOCK = re.compile(r"(<!-- graph:(\w+) -->\n```mermaid\n)(.*?)(```\n<!-- /graph -->)", re.DOTALL)


def mermaid(name: str) -> str:
    graph = importlib.import_module(GRAPHS[name]).graph
    text = graph.get_graph().draw_mermaid()
    # drop the front-matter block so GitHub renders it as a plain flowchart
    text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.DOTALL)
    return text.rstrip() + "\n"


def render_readme(readme: str) -> str:
    return README_BLOCK.sub(lambda m: m.group(1) + mermaid(m.group(2)) + m.group(4), readme)


def write_all(root: Path = ROOT) -> list[Path]:
    written = []
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    for name in GRAPHS:
        path = docs / f"{name}.mmd"
        path.write_text(mermaid(name), encoding="utf-8")
        written.append(path)
    readme = root / "README.md"
    if readme.exists():
        readme.write_text(render_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(readme)
    return written


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    diagrams = subparsers.add_parser(
        "diagrams", help="regenerate the mermaid diagrams in docs/ and README.md"
    )
    diagrams.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True, highlight=False)
    for path in write_all():
        console.print(f"wrote {path}")
    return 0
