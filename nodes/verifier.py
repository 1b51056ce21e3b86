"""Quality verifier: coded format and leakage rules first, then the LLM verifier on what survives."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from autodata.context import RunContext
from autodata.evals.format_rules import check_format
from autodata.evals.leakage import check_leakage
from autodata.llm import CallRecord, call_structured
from autodata.nodes.common import call_metadata, context, emit, format_rubric, registry
from autodata.nodes.schemas import VerifierOut
from autodata.prompts.loader import load_prompt
from autodata.state import Candidate, Check, Screening, SelfInstructState

LLM_CHECKS = (
    "no_leakage",
    "requires_reasoning",
    "single_question",
    "rubric_well_formed",
    "type_matches",
    "grounded",
)


def coded_checks(item: dict, mode: str) -> tuple[list[Check], str | None]:
    """Format rules and the leakage check; returns the checks and the first failing category."""
    checks = [Check(name=r.name, passed=r.passed, detail=r.detail) for r in check_format(item, mode)]
    leak = check_leakage(item["answer"], item["context"], item["question"])
    checks.append(Check(name="answer_leakage", passed=not leak.leaked, detail=leak.detail))
    if not all(c["passed"] for c in checks[:-1]):
        return checks, "format"
    if leak.leaked:
        return checks, "leakage"
    return checks, None


def verifier_checks(out: VerifierOut) -> list[Check]:
    checks = []
    for name in LLM_CHECKS:
        verdict = getattr(out, name)
        checks.append(Check(name=f"verifier:{name}", passed=verdict != "FAIL", detail=verdict))
    return checks


async def _screen(
    candidate: Candidate, state: SelfInstructState, runtime: Runtime[RunContext]
) -> tuple[Screening, list[CallRecord]]:
    ctx = context(runtime)
    item = candidate["item"]
    if item is None:
        return Screening(
            index=candidate["index"],
            item=item,
            checks=[],
            passed=False,
            reason="call_failed",
            feedback=f"the challenger call failed: {candidate['error']}",
        ), []
    checks, failed = coded_checks(item, ctx.mode)
    if failed:
        problems = "; ".join(c["detail"] for c in checks if not c["passed"])
        return Screening(
            index=candidate["index"], item=item, checks=checks, passed=False, reason=failed, feedback=problems
        ), []
    messages = load_prompt("verifier").render(
        document=state["document"][:3000],
        question_type=item["question_type"],
        skills=", ".join(item["skills"]),
        context=item["context"],
        question=item["question"],
        answer=item["answer"],
        rubric=format_rubric(item["rubric"]) if ctx.mode == "rubric" else "(none: verifiable item)",
    )
    out, record = await call_structured(
        registry(runtime),
        "verifier",
        messages,
        VerifierOut,
        metadata=call_metadata(state, runtime, candidate=candidate["index"]),
    )
    if out is None:
        return Screening(
            index=candidate["index"],
            item=item,
            checks=checks,
            passed=False,
            reason="call_failed",
            feedback=f"the verifier call failed: {record['error']}",
        ), [record]
    llm = verifier_checks(out)
    if ctx.mode == "verifiable":
        llm = [c for c in llm if c["name"] != "verifier:rubric_well_formed"]
    passed = all(c["passed"] for c in llm)
    failing = ", ".join(c["name"].split(":", 1)[1] for c in llm if not c["passed"])
    feedback = "" if passed else f"failed {failing}: {out.feedback or out.analysis}"
    return Screening(
        index=candidate["index"],
        item=item,
        checks=checks + llm,
        passed=passed,
        reason="passed" if passed else "quality",
        feedback=feedback,
    ), [record]


async def verifier(state: SelfInstructState, runtime: Runtime[RunContext]) -> dict:
    mine = sorted(
        (c for c in state.get("candidates", []) if c["attempt"] == state["attempt"]), key=lambda c: c["index"]
    )
    results = await asyncio.gather(*(_screen(c, state, runtime) for c in mine))
    screenings = [s for s, _ in results]
    calls = [r for _, records in results for r in records]
    chosen = next((c for c, s in zip(mine, screenings, strict=True) if s["passed"]), None)
    emit(
        runtime,
        event="screened",
        source=state.get("source"),
        round=state["round"],
        passed=sum(s["passed"] for s in screenings),
        total=len(screenings),
    )
    return {
        "screenings": screenings,
        "current": chosen["item"] if chosen else None,
        "weak": [],
        "strong": [],
        "phase": "weak",
        "calls": calls,
    }
