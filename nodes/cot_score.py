"""Score (CoT Self-Instruct baseline): record the single pass, in code.

The baseline has no feedback loop, so "accepted" means *passed the final quality filter* (format rules,
leakage check, LLM verifier) with every solver and judge call scored. The weak/strong scores of the one
solving pass are kept for the report, and the verdict the agentic acceptance rule would have given is kept
in the round's ``detail`` (it does not decide anything here).
"""

from __future__ import annotations

from typing import Final

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.state import SelfInstructState, Status
from autodata.nodes.common import context, emit
from autodata.nodes.decide import INFRA_REASON, _failed, _scores, accepted_payload, judge_round, round_record
from autodata.rules.acceptance import decide as apply_preset

ACCEPTED: Final = "accepted"


def after_judge(state: SelfInstructState) -> str:
    """The strong solver always runs once the weak answers are scored (no weak gate: the scores are
    the report)."""
    if state.get("phase") != "weak":
        return "score"
    weak = state.get("weak", [])
    if not weak or _failed(weak):
        return "score"
    return "strong_solver"


def after_verifier(state: SelfInstructState) -> str:
    return "weak_solver" if state.get("current") else "score"


def score(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    ctx = context(runtime)
    weak, strong = state.get("weak", []), state.get("strong", [])
    weak_scores, strong_scores = _scores(weak), _scores(strong)
    item = state.get("current")
    if not item:
        verdict = judge_round(state)  # the first screening failure (or failed calls)
        reason, detail = verdict.reason, verdict.detail
    elif problem := _failed(weak) or _failed(strong) or (None if strong else "the strong solver did not run"):
        reason, detail = INFRA_REASON, f"solver/judge: {problem}"
    else:
        rule = apply_preset(state["preset"], weak_scores, strong_scores)
        reason = ACCEPTED
        detail = (
            f"passed the quality filter; acceptance rule {state['preset']} would say "
            f"{rule.reason}: {rule.detail}"
        )
    status: Status = ACCEPTED if reason == ACCEPTED else ("failed" if reason == INFRA_REASON else "exhausted")
    record = round_record(state, reason, detail, item)
    update: SelfInstructState = {"rounds": [record], "status": status}
    if status == ACCEPTED and item:  # accepted only with an item (the else above)
        update["accepted"] = accepted_payload(state, item, record, ctx.variant)
    emit(
        runtime,
        event="round",
        source=state.get("source"),
        round=state["round"],
        reason=reason,
        detail=detail,
        weak_mean=record["weak_mean"],
        strong_mean=record["strong_mean"],
        status=status,
    )
    return update
