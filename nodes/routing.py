"""Conditional edges of the inner loop: pure functions of the state."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Send

from autodata.evals.acceptance import weak_gate
from autodata.state import ChallengerTask, SelfInstructState


def dispatch_challengers(state: SelfInstructState) -> list[Send]:
    """Fan out: one challenger branch per candidate of this round."""
    n = max(1, state.get("num_candidates", 1))
    return [
        Send(
            "challenger",
            ChallengerTask(
                document=state["document"],
                source=state.get("source", ""),
                round=state["round"],
                attempt=state["attempt"],
                index=i,
                num_candidates=n,
                feedback=state.get("feedback", ""),
            ),
        )
        for i in range(n)
    ]


def after_verifier(state: SelfInstructState) -> Literal["weak_solver", "decide"]:
    return "weak_solver" if state.get("current") else "decide"


def after_judge(state: SelfInstructState) -> Literal["strong_solver", "decide"]:
    """The weak gate: the costly strong solver runs only if the weak scores leave acceptance possible."""
    if state.get("phase") != "weak":
        return "decide"
    scores = [s["score"] for s in state.get("weak", [])]
    if not scores or any(s is None for s in scores):
        return "decide"
    return "decide" if weak_gate(state["preset"], scores) else "strong_solver"


def after_decide(state: SelfInstructState) -> Literal["feedback", "__end__"]:
    return "feedback" if state.get("status") == "running" else "__end__"
