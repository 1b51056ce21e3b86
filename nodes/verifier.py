"""Quality verifier: coded format, grounding, leakage and novelty rules first, then two yes/no questions to
the LLM verifier on what survives (with the same source window the challenger saw)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.records import CallRecord
from autodata.core.state import Candidate, Check, Item, Screening, SelfInstructState
from autodata.llm.calls import call_structured
from autodata.nodes.challenger import case_example
from autodata.nodes.common import call_metadata, context, emit, registry
from autodata.nodes.program_checks import program_verdicts
from autodata.prompts.loader import fence, load_prompt
from autodata.rules.arithmetic import check_arithmetic, computes_answer
from autodata.rules.dedup import REPEAT_THRESHOLD, repeat_of
from autodata.rules.format_rules import RuleResult, check_format
from autodata.rules.grounding import check_grounding
from autodata.rules.leakage import check_leakage
from autodata.rules.schemas import VerifierOut
from autodata.rules.windows import reflow

LLM_CHECKS = ("self_contained", "answer_correct")


def decided_in_code(item: Item, mode: str) -> dict[str, str]:
    """The verifier questions code has already answered for ``item``, each with why. The small verifier's
    opinion is recorded but does not reject the item; the strong solvers, who must reach the same answer
    on their own, then test it.
    - A withheld-result item's answer is the passage's own words (autodata/rules/grounding.py:
      check_result_copied).
    - A case code wrote itself (a time limit counted on a date): its answer was computed in code.
    - A case item whose answer its program computed (autodata/local/sandbox.py): the arithmetic is the
      interpreter's.
    - A verifiable case item whose answer is the result of its solution's arithmetic, every step of it
      checked in code (autodata/rules/arithmetic.py: computes_answer): the 1.5B verifier, redoing the sums,
      called "15 * 82 = 1230" and the mean of 10, 20 and 30 being 20 wrong (docs/RESULTS.md)."""
    if item.get("kind") == "withheld":
        return {"answer_correct": "the answer is the source's own"}
    if item.get("kind") == "computed":
        return {"answer_correct": "the answer was computed in code"}
    if item.get("program") and not item.get("program_error"):
        return {"answer_correct": "the answer is what the item's program printed"}
    if (
        mode == "verifiable"
        and item.get("kind") == "case"
        and computes_answer(item.get("solution") or "", item.get("answer") or "")
    ):
        return {"answer_correct": "the answer is the solution's arithmetic, checked"}
    return {}


def _checks(results: Iterable[RuleResult]) -> list[Check]:
    return [Check(name=r.name, passed=r.passed, detail=r.detail) for r in results]


def coded_checks(
    item: Item, mode: str, window: str, document: str | None = None, example: str | None = None
) -> tuple[list[Check], str | None]:
    """Format, grounding and leakage rules (all in code) for ``item`` written from ``window`` of
    ``document`` (a case item: after the worked ``example`` it was shown); returns the checks and the first
    failing category (``program``, ``format``, ``grounding``, ``arithmetic`` or ``leakage``), or None."""
    program = _checks(program_verdicts(item, window, document or window))
    fmt = _checks(check_format(item, mode))
    grounding = _checks(check_grounding(item, window, mode, document, example))
    arithmetic = _checks([check_arithmetic(item.get("solution") or "")])
    # a trace item's question is a program whose literals its output may repeat: no leak (it is computed)
    trace = item.get("kind") == "trace"
    leak = check_leakage(item["answer"], "" if trace else item["context"], "" if trace else item["question"])
    checks = [
        *program,
        *fmt,
        *grounding,
        *arithmetic,
        Check(name="answer_leakage", passed=not leak.leaked, detail=leak.detail),
    ]
    groups = (
        ("program", program),
        ("format", fmt),
        ("grounding", grounding),
        ("arithmetic", arithmetic),
        ("leakage", checks[-1:]),
    )
    for category, group in groups:
        if not all(c["passed"] for c in group):
            return checks, category
    return checks, None


def earlier_questions(state: SelfInstructState) -> list[tuple[int, str]]:
    """The questions this unit already tried, with their rounds (screened-out candidates included)."""
    seen: list[tuple[int, str]] = []
    for r in state.get("rounds", []):
        if not r["counted"]:  # a round lost to a failed call may try the same question again
            continue
        questions = {_question(s.get("item")) for s in r.get("screenings", [])}
        questions.add(_question(r.get("item")))
        seen += [(r["round"], q) for q in questions if q]
    return seen


def _question(item: Item | None) -> str | None:
    return item.get("question") if item else None


TRACE_REPEAT_THRESHOLD = 0.9
"""Two programs on one API share most of their words ("import queue / q = queue.Queue() / q.put(i)"):
measured, a program that printed q.qsize() and one that printed every q.get() were 0.70 alike, so only a
near copy of an earlier program is a repeat."""


def novelty_checks(item: Item, state: SelfInstructState, ctx: RunContext) -> tuple[list[Check], str | None]:
    """Rejects a repeat of one of this unit's earlier questions (reason ``repeat``) and a near-duplicate of an
    item the run already accepted (reason ``duplicate``), before any solver runs."""
    # a question code wrote from a template differs from another by its program or call alone
    threshold = TRACE_REPEAT_THRESHOLD if item.get("kind") in ("trace", "computed") else REPEAT_THRESHOLD
    found = repeat_of(item["question"], earlier_questions(state), threshold)
    if found is not None:
        detail = (
            f"this question repeats the one of round {found[0]} (similarity {found[1]:.2f}): ask about "
            "another fact, case or consequence"
        )
        return [Check(name="not_a_repeat", passed=False, detail=detail)], "repeat"
    index = ctx.duplicates
    hit = index.find(item["question"]) if index is not None else None
    if hit is not None:
        detail = f"near-duplicate of accepted item {hit[0]} (similarity {hit[1]:.2f}): ask something else"
        return [Check(name="not_a_duplicate", passed=False, detail=detail)], "duplicate"
    return [Check(name="not_a_repeat", passed=True, detail="ok")], None


def verifier_checks(out: VerifierOut, decided: dict[str, str] | None = None) -> list[Check]:
    decided = decided or {}
    return [
        Check(
            name=f"verifier:{name}",
            passed=getattr(out, name) == "YES" or name in decided,
            detail=getattr(out, name) + (f" (decided in code: {decided[name]})" if name in decided else ""),
        )
        for name in LLM_CHECKS
    ]


def _rejected(
    candidate: Candidate, item: Item | None, checks: list[Check], reason: str, feedback: str
) -> Screening:
    screening = Screening(
        index=candidate["index"], item=item, checks=checks, passed=False, reason=reason, feedback=feedback
    )
    return _with_window(screening, candidate)


def _with_window(screening: Screening, candidate: Candidate) -> Screening:
    """The screening with the span of text its candidate was written about, when it has one."""
    if candidate.get("window"):
        screening["window"] = candidate["window"]
    return screening


async def _screen(
    candidate: Candidate, state: SelfInstructState, runtime: Runtime[RunContext]
) -> tuple[Screening, list[CallRecord]]:
    ctx = context(runtime)
    item = candidate["item"]
    if item is None:
        return _rejected(
            candidate, None, [], "call_failed", f"the challenger call failed: {candidate['error']}"
        ), []
    start, end = candidate.get("window") or [0, len(state["document"])]
    window = state["document"][start:end]  # exactly what the challenger saw
    example = case_example(ctx, state["round"], candidate["index"]) if item.get("kind") == "case" else None
    checks, failed = coded_checks(item, ctx.mode, window, state["document"], example)
    if not failed:
        novelty, failed = novelty_checks(item, state, ctx)
        checks += novelty
    if failed:
        problems = "; ".join(c["detail"] for c in checks if not c["passed"])
        return _rejected(candidate, item, checks, failed, problems), []
    messages = load_prompt("verifier").render(
        document=fence(reflow(window)),
        context=fence(item["context"]),
        question=fence(item["question"]),
        answer=fence(item["answer"]),
    )
    out, record = await call_structured(
        registry(runtime),
        "verifier",
        messages,
        VerifierOut,
        metadata=call_metadata(state, runtime, candidate=candidate["index"]),
    )
    if out is None:
        return _rejected(
            candidate, item, checks, "call_failed", f"the verifier call failed: {record['error']}"
        ), [record]
    llm = verifier_checks(out, decided_in_code(item, ctx.mode))
    passed = all(c["passed"] for c in llm)
    failing = ", ".join(c["name"].split(":", 1)[1] for c in llm if not c["passed"])
    feedback = "" if passed else f"failed {failing}: {out.problem or 'no reason given'}"
    screening = Screening(
        index=candidate["index"],
        item=item,
        checks=checks + llm,
        passed=passed,
        reason="passed" if passed else "quality",
        feedback=feedback,
    )
    return _with_window(screening, candidate), [record]


async def verifier(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
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
        "judge_check": None,
        "phase": "weak",
        "calls": calls,
    }
