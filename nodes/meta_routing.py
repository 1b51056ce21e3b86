"""Conditional edges of the outer meta-optimisation loop (graphs/meta_optimize.py), as nodes/routing.py holds
those of the inner loop."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Send

from autodata.core.meta_state import EvalTask, MetaContext, MetaState
from autodata.nodes.common import runtime_context


def should_continue(state: MetaState, runtime: Runtime[MetaContext]) -> str:
    ctx = runtime_context(runtime, MetaContext)
    if state.get("iteration", 0) >= ctx.iterations:
        return "report"
    if ctx.budget is not None and state.get("cost", {}).get("calls", 0) >= ctx.budget:
        return "report"
    return "select_parent"


def after_guard(state: MetaState) -> list[Send] | str:
    """Evaluate parent and child side by side; with no child to compare, the parent is still measured
    once if it never was, so the report always has a validation figure for the seed."""
    iteration = state.get("iteration", 0) + 1
    parent = Send("evaluate", EvalTask(iteration=iteration, variant=state["parent"], role="parent"))
    if state.get("outcome") != "pending":
        never_measured = not state["variants"][state["parent"]]["val_pass_rates"]
        return [parent] if never_measured else "record"
    child = state["child"]
    if child is None:
        raise ValueError("a pending edit has a child variant (nodes/meta_nodes.py: guard)")
    return [parent, Send("evaluate", EvalTask(iteration=iteration, variant=child, role="child"))]
