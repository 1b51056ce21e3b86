"""Decide: accept or reject the round from the judge scores, in code (no LLM)."""

from __future__ import annotations

import hashlib
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from autodata.core.context import RunContext
from autodata.core.records import AcceptedItem, Source
from autodata.core.state import Item, RoundRecord, Sample, SelfInstructState, Status
from autodata.nodes.common import context, current_item, emit
from autodata.rules.acceptance import Verdict, mean, weak_gate
from autodata.rules.acceptance import decide as apply_preset

INFRA_REASON = "call_failed"


def item_id(source: str, span: list[int], question: str) -> str:
    return hashlib.sha256(f"{source}\x00{span}\x00{question}".encode()).hexdigest()[:16]


def _scores(samples: list[Sample]) -> list[float]:
    return [s["score"] for s in samples if s["score"] is not None]


def _failed(samples: list[Sample]) -> str | None:
    errors = [s["error"] for s in samples if s["score"] is None]
    return errors[0] or "no score" if errors else None


def round_window(state: SelfInstructState) -> list[int] | None:
    """The source window of the round's item: the screened-in candidate's, else the first screened one's."""
    screenings = state.get("screenings", [])
    chosen = [s for s in screenings if s["passed"]] if state.get("current") else []
    return next((s["window"] for s in chosen + screenings if s.get("item") and s.get("window")), None)


def round_record(state: SelfInstructState, reason: str, detail: str, item: Item | None) -> RoundRecord:
    """This round's record: the verdict, the item, and the solver scores with their means and gap."""
    weak, strong = state.get("weak", []), state.get("strong", [])
    weak_scores, strong_scores = _scores(weak), _scores(strong)
    weak_mean = mean(weak_scores) if weak_scores else None
    strong_mean = mean(strong_scores) if strong_scores else None
    gap = round(strong_mean - weak_mean, 4) if weak_mean is not None and strong_mean is not None else None
    return RoundRecord(
        round=state["round"],
        attempt=state["attempt"],
        counted=reason != INFRA_REASON,
        reason=reason,
        detail=detail,
        item=item,
        screenings=state.get("screenings", []),
        weak=weak,
        strong=strong,
        weak_scores=weak_scores,
        strong_scores=strong_scores,
        weak_mean=weak_mean,
        strong_mean=strong_mean,
        gap=gap,
        judge_check=state.get("judge_check"),
        feedback=state.get("feedback") or "",
        window=round_window(state),
    )


def accepted_payload(
    state: SelfInstructState, item: Item, record: RoundRecord, variant: str
) -> dict[str, Any]:
    """The accepted item (the runner adds the models per role: autodata/core/records.py AcceptedRecord)."""
    weak_mean, strong_mean, gap = record["weak_mean"], record["strong_mean"], record["gap"]
    if weak_mean is None or strong_mean is None or gap is None:
        raise ValueError("an accepted round has the scores of both solvers")
    return AcceptedItem(
        id=item_id(state["source"], state["span"], item["question"]),
        source=Source(path=state["source"], span=state["span"]),
        mode=state["mode"],
        preset=state["preset"],
        question=item["question"],
        context=item["context"],
        answer=item["answer"],
        rubric=[dict(c) for c in item["rubric"]],
        evidence=item.get("evidence", []),
        solution=item.get("solution") or item.get("program", ""),
        repairs=item.get("repairs", []),
        question_type=item["question_type"],
        skills=item["skills"],
        weak_scores=record["weak_scores"],
        strong_scores=record["strong_scores"],
        weak_mean=weak_mean,
        strong_mean=strong_mean,
        gap=gap,
        rounds=item_rounds(state),
        variant=variant,
    ).model_dump()


def judge_round(state: SelfInstructState) -> Verdict:
    """The verdict of this round from what the state holds (pure)."""
    screenings = state.get("screenings", [])
    if not state.get("current"):
        if not screenings or all(s["reason"] == INFRA_REASON for s in screenings):
            detail = "; ".join(s["feedback"] for s in screenings) or "no candidate was produced"
            return Verdict(False, INFRA_REASON, detail)
        first = next(s for s in screenings if s["reason"] != INFRA_REASON)
        return Verdict(False, first["reason"], first["feedback"])
    check = state.get("judge_check")
    if state.get("mode") == "rubric" and check is not None and not check["passed"]:
        if check["reference"] is None or check["null"] is None:
            return Verdict(False, INFRA_REASON, f"judge check: {check['detail']}")
        return Verdict(False, "ungradable", check["detail"])
    weak, strong = state.get("weak", []), state.get("strong", [])
    if problem := _failed(weak):
        return Verdict(False, INFRA_REASON, f"weak solver/judge: {problem}")
    if state.get("phase") == "weak" or not strong:
        gate = weak_gate(state["preset"], _scores(weak))
        return gate or Verdict(False, INFRA_REASON, "the strong solver did not run")
    if problem := _failed(strong):
        return Verdict(False, INFRA_REASON, f"strong solver/judge: {problem}")
    return apply_preset(state["preset"], _scores(weak), _scores(strong))


def item_rounds(state: SelfInstructState) -> int:
    """Rounds spent on the item being written now: counted rounds since the unit's last acceptance
    (this round included). Each item of a unit gets ``max_rounds`` rounds."""
    spent = 1
    for r in reversed(state.get("rounds", [])):
        if r["reason"] == "accepted":
            break
        spent += 1 if r["counted"] else 0
    return spent


def next_status(
    verdict: Verdict, state: SelfInstructState, ctx: RunContext, failed_attempts: int, accepted_so_far: int
) -> Status:
    """``running`` until the unit has ``items_per_unit`` accepted items, its current item has used its
    ``max_rounds`` rounds, or failed calls gave it up; a unit with an accepted item ends ``accepted``."""
    done: Status = "accepted" if accepted_so_far else "exhausted"
    if verdict.accepted:
        return "accepted" if accepted_so_far >= max(1, ctx.items_per_unit) else "running"
    if verdict.reason == INFRA_REASON:
        if failed_attempts < ctx.max_failed_attempts:
            return "running"
        return "accepted" if accepted_so_far else "failed"
    return done if item_rounds(state) >= ctx.max_rounds else "running"


def human_review(state: SelfInstructState, verdict: Verdict) -> Verdict:
    """Pause the graph (``interrupt``) and let a person confirm an item the rule accepted."""
    item = current_item(state)
    decision = interrupt(
        {
            "kind": "review",
            "source": state.get("source"),
            "round": state["round"],
            "question": item["question"],
            "context": item["context"],
            "answer": item["answer"],
            "rubric": item["rubric"],
            "weak_scores": _scores(state.get("weak", [])),
            "strong_scores": _scores(state.get("strong", [])),
            "instructions": 'resume with {"accept": true} or {"accept": false, "reason": "..."}',
        }
    )
    accept = decision.get("accept") if isinstance(decision, dict) else bool(decision)
    if accept:
        return Verdict(True, "accepted", verdict.detail + "; approved by reviewer")
    reason = decision.get("reason", "") if isinstance(decision, dict) else ""
    return Verdict(False, "human_rejected", f"rejected by reviewer: {reason}".strip())


def decide(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    ctx = context(runtime)
    verdict = judge_round(state)
    if verdict.accepted and ctx.review:
        verdict = human_review(state, verdict)
    item = state.get("current") or next(
        (s["item"] for s in state.get("screenings", []) if s.get("item")), None
    )
    record = round_record(state, verdict.reason, verdict.detail, item)
    counted = record["counted"]
    failed_attempts = sum(1 for r in state.get("rounds", []) if not r["counted"]) + (0 if counted else 1)
    accepted_so_far = len(state.get("accepted_items") or []) + (1 if verdict.accepted else 0)
    status = next_status(verdict, state, ctx, failed_attempts, accepted_so_far)
    update: SelfInstructState = {"rounds": [record], "status": status}
    if verdict.accepted:
        payload = accepted_payload(state, current_item(state), record, ctx.variant)
        update["accepted"] = payload  # the latest; every one is in accepted_items
        update["accepted_items"] = [payload]
    emit(
        runtime,
        event="round",
        source=state.get("source"),
        round=state["round"],
        reason=verdict.reason,
        detail=verdict.detail,
        weak_mean=record["weak_mean"],
        strong_mean=record["strong_mean"],
        status=status,
    )
    return update
