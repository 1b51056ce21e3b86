"""Pieces every model-using command shares: quiet tracing, opening the per-role models with a pre-flight."""

from __future__ import annotations

import argparse
import os

from rich.console import Console

from autodata.core.config import ModelsConfig, load_models_config
from autodata.llm.accounting import Budget
from autodata.llm.cache import ResponseCache
from autodata.llm.models import OpenAIModelRegistry


def quiet_tracing() -> None:
    """LangSmith tracing is opt-in: without a key it would only delay the exit."""
    if not os.environ.get("LANGSMITH_API_KEY") and not os.environ.get("LANGCHAIN_API_KEY"):
        os.environ.setdefault("LANGSMITH_TRACING", "false")


def open_models(
    args: argparse.Namespace,
    console: Console,
    *,
    preflight: bool = True,
    require_role: str | None = None,
    cache: ResponseCache | None = None,
    budget: Budget | None = None,
) -> tuple[ModelsConfig, OpenAIModelRegistry] | None:
    """Resolve ``--profile/--config/--set`` and check every endpoint before any work; on a problem print
    one error line and return None (the caller exits 2)."""
    try:
        config = load_models_config(args.profile, args.config, args.overrides)
        if require_role:
            config.role(require_role)
        registry = OpenAIModelRegistry(config, cache=cache, budget=budget)
        if preflight:
            console.print(f"checking model endpoints ({config.profile} profile)...")
            registry.preflight()
    except Exception as exc:  # ConfigError, an unreachable endpoint, or the embedded models not installed
        console.print(f"[bold red]error:[/] {exc}")
        return None
    return config, registry


def loop_settings(args: argparse.Namespace) -> dict:
    """The inner loop's settings from the shared ``generate``/``optimize`` options, as RunContext fields."""
    return {
        "mode": args.mode,
        "preset": args.preset,
        "samples": args.samples,
        "max_rounds": args.max_rounds,
        "items_per_unit": getattr(args, "items_per_doc", 1),
        "candidates": args.candidates,
        "advice": not args.no_advice,
        "profile": args.profile,
        "config_path": args.config,
    }
