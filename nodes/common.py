"""Helpers shared by the nodes: the model registry, call metadata and progress events."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, TypeVar

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.state import Item, Phase, Sample, SelfInstructState
from autodata.llm.models import ModelRegistry, registry_of

C = TypeVar("C")


def registry(runtime: Runtime[RunContext]) -> ModelRegistry:
    return registry_of(context(runtime))


def runtime_context(runtime: Runtime[Any] | None, kind: type[C]) -> C:
    """The graph's context of type ``kind``: the defaults when none was given, built from a dict when it
    came as JSON (LangGraph server / Studio)."""
    ctx: C | dict[str, Any] | None = getattr(runtime, "context", None)
    if ctx is None:
        return kind()
    if isinstance(ctx, dict):
        return kind(**ctx)
    return ctx


def context(runtime: Runtime[RunContext] | None) -> RunContext:
    return runtime_context(runtime, RunContext)


def call_metadata(state: Mapping[str, Any], runtime: Runtime[RunContext], **extra: Any) -> dict[str, Any]:
    ctx = context(runtime)
    return {
        "source": state.get("source", ""),
        "round": state.get("round"),
        "attempt": state.get("attempt"),
        "variant": ctx.variant,
        "mode": ctx.mode,
        **extra,
    }


def current_item(state: SelfInstructState) -> Item:
    """The round's item: the nodes after the verifier run only when it chose one (nodes/routing.py)."""
    item = state["current"]
    if item is None:
        raise ValueError("no current item: the verifier chose none this round")
    return item


def samples_update(phase: Phase, samples: list[Sample]) -> SelfInstructState:
    """The state update that sets ``phase``'s samples."""
    update: SelfInstructState = {}
    update[phase] = samples
    return update


def emit(runtime: Runtime[Any] | None, **event: Any) -> None:
    """Progress event on the ``custom`` stream (a no-op when nobody streams it)."""
    writer = getattr(runtime, "stream_writer", None)
    if writer is not None:
        with contextlib.suppress(Exception):  # progress must never break a run
            writer(event)
