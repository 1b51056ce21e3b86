"""Helpers shared by the nodes: the model registry, call metadata and progress events."""

from __future__ import annotations

import contextlib
from typing import Any, TypeVar

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.llm.models import ModelRegistry, registry_of

C = TypeVar("C")


def registry(runtime: Runtime[RunContext]) -> ModelRegistry:
    return registry_of(context(runtime))


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
