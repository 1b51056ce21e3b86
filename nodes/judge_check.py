"""Judge check: before any solver runs, the judge grades the reference answer and a null answer on the
item's own rubric; code decides from the two grades whether the rubric can be trusted
(autodata/rules/gradability.py)."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.state import JudgeCheck, SelfInstructState
from autodata.nodes.common import current_item, emit
from autodata.nodes.judge import grade_rubric
from autodata.nodes.solvers import unscored
from autodata.prompts.loader import load_prompt
from autodata.rules.gradability import gradable


async def judge_check(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    item = current_item(state)
    null_text = load_prompt("null_answer").render_text(question=item["question"])
    answers = {"reference": item["answer"], "null": null_text}
    results = await asyncio.gather(
        *(
            grade_rubric(unscored(text, None), item, state, runtime, graded="judge_check:" + name)
            for name, text in answers.items()
        )
    )
    reference, null = (sample["score"] for sample, _ in results)
    passed, detail = gradable(reference, null)
    check = JudgeCheck(reference=reference, null=null, passed=passed, detail=detail)
    emit(runtime, event="judge_check", source=state.get("source"), round=state["round"], passed=passed)
    return {"judge_check": check, "calls": [r for _, records in results for r in records]}
