"""Weak and strong solvers: k independent answers each, from context + question only.

The solver prompt is owned by code (a protected prompt file); no prompt variant can change it.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.state import Phase, Sample, SelfInstructState
from autodata.llm.calls import call_text_samples
from autodata.nodes.common import call_metadata, context, current_item, emit, registry, samples_update
from autodata.nodes.judge import graded_on_rubric
from autodata.prompts.loader import load_prompt
from autodata.rules.equivalence import extract_final_answer, marked_final_answer


def unscored(answer: str | None, error: str | None, truncated: bool = False) -> Sample:
    """A solver reply before grading. A reply cut off by the token limit has a final answer only if it got
    as far as marking one (``Final answer:``), never its last line of reasoning."""
    final = None
    if answer:
        final = marked_final_answer(answer) if truncated else extract_final_answer(answer)
    return Sample(
        answer=answer,
        final_answer=final,
        score=None,
        criteria=[],
        failure_modes="",
        graded_by="none",
        error=error,
        truncated=truncated,
    )


def batch_size(k: int, drawn: int, right_or_wrong: bool) -> int:
    """How many answers to draw now: all ``k`` at once for answers graded on a rubric; for answers graded
    right or wrong, half of them first, since two wrong strong answers of four already reject the item
    (nodes/routing.py: after_judge asks for the rest only while the outcome is open)."""
    if drawn or not right_or_wrong:
        return k - drawn
    return (k + 1) // 2


async def solve(
    state: SelfInstructState, runtime: Runtime[RunContext], role: str, phase: Phase, *, all_k: bool = False
) -> SelfInstructState:
    """The phase's answers so far plus the next batch (unscored; ``all_k``: all k at once); the judge grades
    the new ones."""
    item = current_item(state)
    ctx = context(runtime)
    k = state.get("k") or max(1, ctx.samples)  # the unit's k, which routing reads too (nodes/routing.py)
    drawn = list(state.get(phase) or [])
    n = batch_size(k, len(drawn), not all_k and not graded_on_rubric(ctx.mode, item))
    messages = load_prompt("solver").render(context=item["context"], question=item["question"])
    results = await call_text_samples(
        registry(runtime), role, messages, n, metadata=call_metadata(state, runtime), offset=len(drawn)
    )
    samples = [unscored(r.text, r.record["error"], r.truncated) for r in results]
    emit(
        runtime,
        event="solved",
        source=state.get("source"),
        round=state["round"],
        role=role,
        ok=sum(s["answer"] is not None for s in samples),
        total=n,
    )
    calls = list({id(r.record): r.record for r in results}.values())
    return {**samples_update(phase, drawn + samples), "phase": phase, "calls": calls}


async def weak_solver(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    return await solve(state, runtime, "weak_solver", "weak")


async def strong_solver(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    return await solve(state, runtime, "strong_solver", "strong")
