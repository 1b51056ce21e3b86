"""Judge: grades every solver answer of the current phase.

Verifiable items: equivalence in code (normalisation, math-verify), the judge LLM only when code cannot
decide. Rubric items: the judge LLM gives a verdict per criterion; the score is recomputed here.
"""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.records import CallRecord
from autodata.core.state import Item, Sample, SelfInstructState
from autodata.llm.calls import call_structured
from autodata.nodes.common import call_metadata, context, current_item, emit, registry, samples_update
from autodata.prompts.loader import fence, load_prompt
from autodata.rules.equivalence import code_verdict
from autodata.rules.grading import format_rubric, rubric_score, rubric_validator
from autodata.rules.schemas import EquivalenceOut, RubricJudgeOut

MAX_RESPONSE_CHARS = 2500


def unanswered(sample: Sample) -> str | None:
    """Why a reply holds no answer to grade (empty, or cut off by the token limit before its final answer),
    or None. Such a reply is a wrong answer, not a failed call: it is evidence that the item is hard."""
    if not (sample["answer"] or "").strip():
        return "empty answer"
    if sample.get("truncated") and not sample["final_answer"]:
        return "cut off by the token limit before its final answer"
    return None


async def grade_rubric(
    sample: Sample,
    item: Item,
    state: SelfInstructState,
    runtime: Runtime[RunContext],
    graded: str | None = None,
) -> tuple[Sample, list[CallRecord]]:
    """One judge call: the sample's answer graded on the item's rubric (``graded`` names what is graded in
    the call's metadata; default: the current solver phase)."""
    messages = load_prompt("judge_rubric").render(
        question=item["question"],
        answer=item["answer"],
        rubric=format_rubric(item["rubric"]),
        response=fence((sample["answer"] or "")[:MAX_RESPONSE_CHARS]),
    )
    out, record = await call_structured(
        registry(runtime),
        "judge",
        messages,
        RubricJudgeOut,
        metadata=call_metadata(state, runtime, graded_role=graded or state.get("phase")),
        validate=rubric_validator(item["rubric"]),
    )
    if out is None:
        return {**sample, "graded_by": "none", "error": f"judge failed: {record['error']}"}, [record]
    valid_ids = {c["id"] for c in item["rubric"]}
    verdicts: dict[int, str] = {}
    for s in out.scores:
        if s.criterion_id in valid_ids and s.criterion_id not in verdicts:
            verdicts[s.criterion_id] = s.verdict
    criteria = [
        {"id": c["id"], "verdict": verdicts.get(c["id"], "unscored"), "points": c["points"]}
        for c in item["rubric"]
    ]
    return {
        **sample,
        "score": rubric_score(item["rubric"], verdicts),
        "criteria": criteria,
        "failure_modes": out.failure_modes,
        "graded_by": "judge",
    }, [record]


def wrong_answer_note(final: str, reference: str) -> str:
    """What a wrong answer got wrong, for the feedback: written by code, so the judge writes no reason."""
    return f"answered {final[:120]!r}, expected {reference[:120]!r}"


async def _grade_verifiable(
    sample: Sample, item: Item, state: SelfInstructState, runtime: Runtime[RunContext]
) -> tuple[Sample, list[CallRecord]]:
    final = sample["final_answer"] or ""
    same = code_verdict(item["answer"], final, item["question"])
    if same is not None:
        note = "" if same else wrong_answer_note(final, item["answer"])
        return {**sample, "score": 1.0 if same else 0.0, "graded_by": "code", "failure_modes": note}, []
    messages = load_prompt("judge_equivalence").render(
        question=item["question"], answer=item["answer"], response=fence(final[:MAX_RESPONSE_CHARS])
    )
    out, record = await call_structured(
        registry(runtime),
        "judge",
        messages,
        EquivalenceOut,
        metadata=call_metadata(state, runtime, graded_role=state.get("phase")),
    )
    if out is None:
        return {**sample, "graded_by": "none", "error": f"judge failed: {record['error']}"}, [record]
    ok = out.verdict == "EQUIVALENT"
    return {
        **sample,
        "score": 1.0 if ok else 0.0,
        "graded_by": "judge",
        "failure_modes": "" if ok else wrong_answer_note(final, item["answer"]),
    }, [record]


def graded_on_rubric(mode: str, item: Item) -> bool:
    """Rubric runs grade on the item's rubric, except a withheld-result item: its reference is the source's
    own result, and a small judge let rambling answers "meet" a one-criterion rubric naming it where it
    told them apart when asked whether they are equivalent to it (docs/RESULTS.md). A case code wrote and
    answered (a date) is graded against its answer too, in code where it can be."""
    return mode == "rubric" and item.get("kind") not in ("withheld", "computed")


async def judge(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    phase = state["phase"]
    item = current_item(state)
    grade = grade_rubric if graded_on_rubric(context(runtime).mode, item) else _grade_verifiable

    async def one(sample: Sample) -> tuple[Sample, list[CallRecord]]:
        if sample["answer"] is None or sample["graded_by"] != "none":  # failed call, or graded before
            return sample, []
        if no_answer := unanswered(sample):  # a wrong answer, graded in code
            return {**sample, "score": 0.0, "graded_by": "code", "failure_modes": no_answer}, []
        return await grade(sample, item, state, runtime)

    results = await asyncio.gather(*(one(s) for s in state.get(phase, [])))
    graded = [s for s, _ in results]
    emit(
        runtime,
        event="judged",
        source=state.get("source"),
        round=state["round"],
        phase=phase,
        scores=[s["score"] for s in graded],
    )
    return {**samples_update(phase, graded), "calls": [r for _, records in results for r in records]}
