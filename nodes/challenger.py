"""Challenger: writes one candidate item grounded in the source (one parallel branch per candidate)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from autodata.context import RunContext
from autodata.llm import CallRecord, call_structured
from autodata.nodes.common import context, emit, registry
from autodata.nodes.schemas import RubricItemOut, VerifiableItemOut
from autodata.prompts.loader import load_prompt
from autodata.state import Candidate, ChallengerTask, Item

ANSWER_RULES = {
    "verifiable": "The answer must be short and exactly checkable: prefer an exact symbolic expression, "
    "a named entity or a short phrase; avoid bare integers and long decimals.",
    "rubric": "The answer is a one-sentence claim that a grader can check against the rubric.",
}
RUBRIC_RULES = {
    "verifiable": "",
    "rubric": "- rubric: 3-7 criteria, each a specific, checkable property of a correct answer with points "
    "from 1 to 5 (more for essential points); optionally a penalty criterion with negative points for a "
    "typical mistake.\n",
}
FIELDS = {
    "verifiable": "question_type, skills, context, question, answer",
    "rubric": "question_type, skills, context, question, answer, rubric (a list of {description, points})",
}
ANGLES = (
    "focus on a consequence the source implies but does not state",
    "focus on applying a rule or formula of the source to a new case",
    "focus on comparing two mechanisms or provisions of the source",
    "focus on a counterfactual: what changes if one condition is different",
)
MODE_BRIEF = {
    "verifiable": "a question with one short, exactly verifiable answer that needs several reasoning steps.",
    "rubric": "an open question whose answer needs an inference that the source supports but does not state.",
}


def to_item(parsed: VerifiableItemOut | RubricItemOut) -> Item:
    rubric = getattr(parsed, "rubric", []) or []
    return Item(
        question_type=parsed.question_type.strip(),
        skills=[s.strip() for s in parsed.skills if s.strip()],
        context=parsed.context.strip(),
        question=parsed.question.strip(),
        answer=parsed.answer.strip(),
        rubric=[
            {"id": i + 1, "description": c.description.strip(), "points": int(c.points)}
            for i, c in enumerate(rubric)
        ],
    )


def item_prompt_values(ctx: RunContext) -> dict[str, str]:
    """The mode-dependent parts of every item-writing prompt (agentic and CoT challengers)."""
    brief = load_prompt("brief", ctx.prompts_dir).render_text(mode=ctx.mode, mode_brief=MODE_BRIEF[ctx.mode])
    return {
        "brief": brief,
        "answer_rules": ANSWER_RULES[ctx.mode],
        "rubric_rules": RUBRIC_RULES[ctx.mode],
        "fields": FIELDS[ctx.mode],
    }


async def write_candidate(
    runtime: Runtime[RunContext],
    messages: list,
    schema: type[VerifiableItemOut],
    *,
    source: str,
    round: int,
    attempt: int,
    index: int,
    **metadata: str,
) -> tuple[Candidate, CallRecord]:
    """One challenger call -> one candidate (``item`` None and the error when the call failed)."""
    ctx = context(runtime)
    parsed, record = await call_structured(
        registry(runtime),
        "challenger",
        messages,
        schema,
        metadata={
            "source": source,
            "round": round,
            "attempt": attempt,
            "candidate": index,
            "variant": ctx.variant,
            "mode": ctx.mode,
            **metadata,
        },
        sample=attempt * 1000 + index,  # the candidates of one prompt are distinct cached responses
    )
    item = to_item(parsed) if parsed is not None else None
    emit(
        runtime,
        event="candidate",
        source=source,
        round=round,
        index=index,
        ok=item is not None,
        error=record["error"],
    )
    return Candidate(attempt=attempt, index=index, item=item, error=record["error"]), record


async def challenger(task: ChallengerTask, runtime: Runtime[RunContext]) -> dict:
    ctx = context(runtime)
    messages = load_prompt("challenger", ctx.prompts_dir).render(
        source=task["source"],
        document=task["document"],
        feedback=task["feedback"],
        angle=ANGLES[task["index"] % len(ANGLES)],
        **item_prompt_values(ctx),
    )
    candidate, record = await write_candidate(
        runtime,
        messages,
        RubricItemOut if ctx.mode == "rubric" else VerifiableItemOut,
        source=task["source"],
        round=task["round"],
        attempt=task["attempt"],
        index=task["index"],
    )
    return {"candidates": [candidate], "calls": [record]}
