"""What ``autodata models --no-run`` reports on the embedded models (autodata/local/models.py): packages
installed, parts found, the cache file assembled and verified, the llama.cpp server installed. Cheap: nothing
is hashed, assembled or started here."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autodata.local.models import (
    EMBEDDED_MODELS,
    INSTALL_HINT,
    LocalModelsUnavailable,
    cache_dir,
    get_model,
    locate_part,
    marker_valid,
    require_llama_cpp,
)


def _distribution_installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class ModelStatus:
    name: str
    description: str
    distributions: tuple[str, ...]
    missing_distributions: tuple[str, ...]
    parts_found: int
    parts_total: int
    assembled: bool  # a file of the right size exists in the cache
    verified: bool  # ... and its marker says the sha256 was checked
    size: int
    path: Path

    @property
    def packages_installed(self) -> bool:
        return not self.missing_distributions

    @property
    def ready(self) -> bool:
        return self.verified or (self.packages_installed and self.parts_found == self.parts_total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "packages_installed": self.packages_installed,
            "missing_distributions": list(self.missing_distributions),
            "parts_found": self.parts_found,
            "parts_total": self.parts_total,
            "assembled": self.assembled,
            "verified": self.verified,
            "size": self.size,
            "path": str(self.path),
        }


def model_status(name: str) -> ModelStatus:
    """Cheap status (no hashing): packages, parts, cache file and marker."""
    model = get_model(name)
    path = cache_dir() / model.filename
    missing = tuple(d for d in model.distributions if not _distribution_installed(d))
    found = sum(locate_part(p) is not None for p in model.parts)
    try:
        assembled = path.stat().st_size == model.size
    except OSError:
        assembled = False
    return ModelStatus(
        name=model.name,
        description=model.description,
        distributions=model.distributions,
        missing_distributions=missing,
        parts_found=found,
        parts_total=len(model.parts),
        assembled=assembled,
        verified=assembled and marker_valid(model, path),
        size=model.size,
        path=path,
    )


def llama_cpp_installed() -> bool:
    try:
        require_llama_cpp()
    except LocalModelsUnavailable:
        return False
    return True


def print_models_status(console: Any = None) -> None:
    """Rich table of the embedded models for ``autodata models``."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Embedded models (cache: {cache_dir()})")
    for col in ("model", "description", "packages", "parts", "cache", "size", "path"):
        table.add_column(col, overflow="fold")
    for name in EMBEDDED_MODELS:
        st = model_status(name)
        packages = (
            "[green]installed[/]"
            if st.packages_installed
            else f"[red]missing: {', '.join(st.missing_distributions)}[/]"
        )
        if st.verified:
            cache = "[green]verified[/]"
        elif st.assembled:
            cache = "[yellow]present, not verified[/]"
        else:
            cache = "[dim]not assembled (done on first use)[/]"
        table.add_row(
            st.name,
            st.description,
            packages,
            f"{st.parts_found}/{st.parts_total}",
            cache,
            f"{st.size / 1e6:.0f} MB",
            str(st.path),
        )
    console.print(table)
    if llama_cpp_installed():
        console.print("llama-cpp-python server: [green]installed[/]")
    else:
        console.print(f"llama-cpp-python server: [red]missing[/] (fix: {INSTALL_HINT})")
    if not all(model_status(n).ready for n in EMBEDDED_MODELS):
        console.print(f"Some embedded models are unavailable. Fix: {INSTALL_HINT}")
