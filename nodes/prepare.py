"""Entry node: normalise the input and initialise the loop counters."""

from __future__ import annotations

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.state import SelfInstructState
from autodata.nodes.common import context
from autodata.rules.acceptance import resolve_preset
from autodata.rules.windows import focus_windows


def prepare(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    ctx = context(runtime)
    document = (state.get("document") or "").strip()
    if not document:
        raise ValueError("the input document is empty")
    span = state.get("span") or [0, len(document)]
    if len(document) > ctx.max_source_chars:
        document = document[: ctx.max_source_chars]
        span = [span[0], span[0] + len(document)]
    return {
        "document": document,
        "source": state.get("source") or "inline",
        "span": span,
        "mode": ctx.mode,
        "preset": resolve_preset(ctx.mode, ctx.preset),
        "round": state.get("round") or 1,
        "attempt": state.get("attempt") or 1,
        "num_candidates": max(1, ctx.candidates),
        "k": max(1, ctx.samples),
        "windows": state.get("windows") or focus_windows(document, ctx.window_chars),
        "feedback": state.get("feedback") or "",
        "status": "running",
        "current": None,
    }
