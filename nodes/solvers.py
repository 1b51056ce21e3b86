"""Weak and strong solvers: k independent answers each, from context + question only.

The solver prompt is owned by code (a protected prompt file); no prompt variant can change it.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from autodata.context import RunContext
from autodata.evals.equivalence import extract_final_answer, marked_final_answer
from autodata.llm import call_text_samples
from autodata.nodes.common import call_metadata, context, emit, registry
from autodata.prompts.loader import load_prompt
from autodata.state import Sample, SelfInstructState


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


async def solve(state: SelfInstructState, runtime: Runtime[RunContext], role: str) -> dict:
    item = state["current"]
    k = max(1, context(runtime).samples)
    messages = load_prompt("solver").render(context=item["context"], question=item["question"])
    models = registry(runtime)
    results = await call_text_samples(models, role, messages, k, metadata=call_metadata(state, runtime))
    samples = [unscored(r.text, r.record["error"], r.truncated) for r in results]
    emit(
        runtime,
        event="solved",
        source=state.get("source"),
        round=state["round"],
        role=role,
        ok=sum(s["answer"] is not None for s in samples),
        total=k,
    )
    return {"samples": samples, "calls": list({id(r.record): r.record for r in results}.values())}


async def weak_solver(state: SelfInstructState, runtime: Runtime[RunContext]) -> dict:
    out = await solve(state, runtime, "weak_solver")
    return {"weak": out["samples"], "phase": "weak", "calls": out["calls"]}


async def strong_solver(state: SelfInstructState, runtime: Runtime[RunContext]) -> dict:
    out = await solve(state, runtime, "strong_solver")
    return {"strong": out["samples"], "phase": "strong", "calls": out["calls"]}
