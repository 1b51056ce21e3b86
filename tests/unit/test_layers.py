"""The packages form layers and import one way only (docs/ARCHITECTURE.md): a module may import its own layer
and the layers below it, never one above. Every import counts, also those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = {
    "autodata": ROOT / "autodata",
    "autodata.nodes": ROOT / "nodes",
    "autodata.graphs": ROOT / "graphs",
    "autodata.evals": ROOT / "evals",
    "autodata.prompts": ROOT / "prompts",
}
LAYERS = ("core", "local", "llm", "rules", "data", "nodes", "graphs", "run", "evals", "cli")
"""Bottom to top. ``autodata.prompts`` (the prompt files and their loader) belongs to ``core``."""


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "autodata":
        return None
    return "core" if parts[1] == "prompts" else parts[1] if parts[1] in LAYERS else None


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, directory in PACKAGE_DIRS.items():
        for path in directory.rglob("*.py"):
            relative = path.relative_to(directory).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_every_module_is_in_a_layer():
    loose = [m for m in modules() if m.count(".") >= 1 and layer_of(m) is None]
    assert not loose, f"modules outside the layers {LAYERS}: {loose}"


def test_no_import_runs_up_the_layers():
    wrong: list[str] = []
    for module, path in modules().items():
        own = layer_of(module)
        if own is None:
            continue
        for line, target in imports(path):
            theirs = layer_of(target)
            if theirs is not None and LAYERS.index(theirs) > LAYERS.index(own):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({own}) imports {target} ({theirs})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)
