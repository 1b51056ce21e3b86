"""Conditional edges of the inner loop: pure functions of the state."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Send

from autodata.core.state import ChallengerTask, RoundRecord, Sample, SelfInstructState
from autodata.nodes.judge import graded_on_rubric
from autodata.nodes.verifier import earlier_questions
from autodata.rules.acceptance import settled_rejection, weak_gate
from autodata.rules.windows import window_for


def rounds_screened_out(rounds: list[RoundRecord]) -> int:
    """How many of the unit's last counted rounds ended before the solvers (quality, repeat, ...)."""
    count = 0
    for r in reversed(rounds):
        if not r["counted"]:  # an infrastructure failure says nothing about the unit
            continue
        if r["weak"] or r["strong"]:
            break
        count += 1
    return count


def dispatch_challengers(state: SelfInstructState) -> list[Send]:
    """Fan out: one challenger branch per candidate of this round."""
    n = max(1, state.get("num_candidates", 1))
    windows = state.get("windows") or [[0, len(state["document"])]]
    defer = rounds_screened_out(state.get("rounds") or [])
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
                window=window_for(windows, state["round"], i, n),
                asked=[question for _, question in earlier_questions(state)],
                defer=defer,
            ),
        )
        for i in range(n)
    ]


def after_verifier(state: SelfInstructState) -> Literal["judge_check", "weak_solver", "decide"]:
    """A screened item goes to the judge check (items graded on a rubric: can the judge tell answers apart?)
    or, for items graded for equivalence with their reference (nodes/judge.py: graded_on_rubric), straight
    to the weak solver."""
    item = state.get("current")
    if not item:
        return "decide"
    return "judge_check" if graded_on_rubric(state.get("mode") or "rubric", item) else "weak_solver"


def after_judge_check(state: SelfInstructState) -> Literal["weak_solver", "decide"]:
    check = state.get("judge_check")
    return "weak_solver" if check and check["passed"] else "decide"


def graded_scores(samples: list[Sample]) -> list[float] | None:
    """The samples' scores, or None when one of them has none."""
    scores = [s["score"] for s in samples if s["score"] is not None]
    return scores if len(scores) == len(samples) else None


def after_judge(state: SelfInstructState) -> Literal["weak_solver", "strong_solver", "decide"]:
    """The weak gate: the costly strong solver runs only if the weak scores leave acceptance possible. A
    phase with fewer than k answers (nodes/solvers.py: batch_size) gets the rest only while its rejection
    is not settled (autodata/rules/acceptance.py: settled_rejection)."""
    phase = state.get("phase")
    samples = state.get("strong", []) if phase == "strong" else state.get("weak", [])
    scores = graded_scores(samples)
    if not scores:  # no samples, or one not graded (a failed call)
        return "decide"
    weak = graded_scores(state.get("weak", []))
    if len(samples) < state.get("k", len(samples)):
        strong = scores if phase == "strong" else []
        # weak scores with one not graded settle nothing (autodata/rules/acceptance.py: settled_rejection)
        if weak is not None and settled_rejection(state["preset"], weak, strong, state["k"]):
            return "decide"
        return "strong_solver" if phase == "strong" else "weak_solver"
    if phase != "weak":
        return "decide"
    return "decide" if weak_gate(state["preset"], scores) else "strong_solver"


def after_decide(state: SelfInstructState) -> Literal["feedback", "__end__"]:
    return "feedback" if state.get("status") == "running" else "__end__"
