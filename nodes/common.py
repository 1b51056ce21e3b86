"""Helpers shared by the nodes: the model registry, call metadata and progress events."""

from __future__ import annotations

import contextlib
import re
from typing import Any, TypeVar

from langgraph.runtime import Runtime

from autodata.context import RunContext
from autodata.models import ModelRegistry

C = TypeVar("C")


def registry(runtime: Runtime[RunContext]) -> ModelRegistry:
    return context(runtime).registry()


def runtime_context(runtime: Runtime | None, kind: type[C]) -> C:
    """The graph's context of type ``kind``: the defaults when none was given, built from a dict when it
    came as JSON (LangGraph server / Studio)."""
    ctx = getattr(runtime, "context", None)
    if ctx is None:
        return kind()
    if isinstance(ctx, dict):
        return kind(**ctx)
    return ctx


def context(runtime: Runtime[RunContext] | None) -> RunContext:
    return runtime_context(runtime, RunContext)


def call_metadata(state: dict[str, Any], runtime: Runtime[RunContext], **extra: Any) -> dict[str, Any]:
    ctx = context(runtime)
    return {
        "source": state.get("source", ""),
        "round": state.get("round"),
        "attempt": state.get("attempt"),
        "variant": ctx.variant,
        "mode": ctx.mode,
        **extra,
    }


def emit(runtime: Runtime[RunContext] | None, **event: Any) -> None:
    """Progress event on the ``custom`` stream (a no-op when nobody streams it)."""
    writer = getattr(runtime, "stream_writer", None)
    if writer is not None:
        with contextlib.suppress(Exception):  # progress must never break a run
            writer(event)


def format_rubric(rubric: list[dict]) -> str:
    if not rubric:
        return "(none)"
    return "\n".join(f"[{c['id']}] ({c['points']:+d} points) {c['description']}" for c in rubric)


_FENCE_TAG = re.compile(r"<\s*/?\s*(source|item|answer)\s*>", re.IGNORECASE)


def fence(text: str) -> str:
    """Untrusted text (a source document, a solver's answer) for a prompt: it cannot open or close the tags
    that fence it (``<source>``, ``<item>``, ``<answer>``), so it stays material, never instructions."""
    return _FENCE_TAG.sub("[tag removed]", text)
