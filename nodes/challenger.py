"""Challenger: writes one candidate item grounded in the source (one parallel branch per candidate)."""

from __future__ import annotations

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.records import CallRecord
from autodata.core.state import Candidate, ChallengerTask, SelfInstructState
from autodata.llm.calls import call_structured
from autodata.local.sandbox import allowed_modules
from autodata.nodes.common import context, emit, registry
from autodata.nodes.items import ItemOut, answer_by_program, code_written_item, to_item
from autodata.prompts.loader import PromptError, fence, load_examples, load_lines, load_prompt
from autodata.rules.code_passages import passage_code_names, qualified_names
from autodata.rules.format_rules import (
    CASE_WORDS,
    MAX_ANSWER_WORDS,
    RUBRIC_MAX,
    RUBRIC_MIN,
)
from autodata.rules.schemas import (
    CaseItemOut,
    CaseRubricItemOut,
    ProgramItemOut,
    RubricItemOut,
    TraceItemOut,
    VerifiableItemOut,
    WithheldItemOut,
)
from autodata.rules.windows import reflow, turn_of
from autodata.rules.withheld import (
    withheld_result,
)


def mode_brief(ctx: RunContext) -> str:
    """What an item of the run's mode is, from prompts/mode_briefs.md (one ``mode: text`` line a mode)."""
    briefs = dict(line.split(":", 1) for line in load_lines("mode_briefs", ctx.prompts_dir) if ":" in line)
    if ctx.mode not in briefs:
        raise PromptError(f"prompts/mode_briefs.md has no line for the mode {ctx.mode!r}")
    return briefs[ctx.mode].strip()


def item_schema(mode: str) -> type[VerifiableItemOut]:
    """The evidence-quoting schema of the CoT baseline, which reads a whole document."""
    return RubricItemOut if mode == "rubric" else VerifiableItemOut


def case_schema(mode: str) -> type[CaseItemOut] | type[ProgramItemOut]:
    """The agentic challenger's schema: a case about the passage code chose (no quotes to copy); a verifiable
    case's answer is computed by the program the challenger writes."""
    return CaseRubricItemOut if mode == "rubric" else ProgramItemOut


def item_prompt_values(ctx: RunContext, schema: type[ItemOut] | None = None, turn: int = 0) -> dict[str, str]:
    """The mode-dependent parts of every item-writing prompt (agentic and CoT challengers): rules, limits,
    the worked example (the ``turn``-th of its file, in rotation) and the field list, all from prompts/ and
    autodata/rules/format_rules.py."""
    schema = schema or item_schema(ctx.mode)
    kind = (
        "trace_"
        if issubclass(schema, TraceItemOut)
        else "program_"
        if issubclass(schema, ProgramItemOut)
        else "case_"
        if issubclass(schema, CaseItemOut)
        else "withheld_"
        if issubclass(schema, WithheldItemOut)
        else ""
    )
    example = f"example_{kind}{ctx.mode}"
    limits = {
        "answer_words": MAX_ANSWER_WORDS[ctx.mode],
        "context_max": CASE_WORDS,
        "rubric_min": RUBRIC_MIN,
        "rubric_max": RUBRIC_MAX,
    }
    rules = load_prompt(f"item_rules_{ctx.mode}", ctx.prompts_dir).render_text(**limits)
    answer_rules, _, rubric_rules = rules.partition("\n- rubric:")
    brief = load_prompt("brief", ctx.prompts_dir).render_text(mode=ctx.mode, mode_brief=mode_brief(ctx))
    return {
        "brief": brief,
        "answer_rules": answer_rules.strip(),
        "rubric_rules": f"- rubric:{rubric_rules}" if rubric_rules else "",
        "example": rotate(load_examples(example, ctx.prompts_dir), turn),
        "fields": ", ".join(schema.model_fields),  # not model_json_schema(): ~1 ms a call
        **{k: str(v) for k, v in limits.items()},
    }


async def write_candidate(
    runtime: Runtime[RunContext],
    messages: list[BaseMessage],
    schema: type[ItemOut],
    *,
    source: str,
    round: int,
    attempt: int,
    index: int,
    window: str | None = None,
    result: str | None = None,
    defer: int = 0,
    **metadata: str,
) -> tuple[Candidate, list[CallRecord]]:
    """One challenger call -> one candidate (``item`` None and the error when the call failed); ``window``
    is the source text the challenger saw (its sentences open the item's context), ``result`` the passage's
    result a withheld-result item asks for. A program item's answer is what its program prints."""
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
        defer=defer,
    )
    records = [record]
    item = to_item(parsed, window, result, ctx.mode) if parsed is not None else None
    if item is not None and "program" in item:
        item = await answer_by_program(item)
    emit(
        runtime,
        event="candidate",
        source=source,
        round=round,
        index=index,
        ok=item is not None,
        error=record["error"],
    )
    return Candidate(attempt=attempt, index=index, item=item, error=record["error"]), records


CASE_PROMPT: dict[type, str] = {
    CaseItemOut: "challenger",
    CaseRubricItemOut: "challenger",
    ProgramItemOut: "challenger_program",
    TraceItemOut: "challenger_trace",
}


def rotate(entries: list[str], turn: int) -> str:
    return entries[turn % len(entries)]


def case_example(ctx: RunContext, round_no: int, index: int) -> str:
    """The worked example a case challenger was shown (what the verifier checks a case did not copy)."""
    kind = "program" if case_schema(ctx.mode) is ProgramItemOut else "case"
    turn = turn_of(round_no, index, ctx.candidates)
    return rotate(load_examples(f"example_{kind}_{ctx.mode}", ctx.prompts_dir), turn)


def angle_for(turn: int, prompts_dir: str | None) -> str:
    """A different angle every round (and for every parallel candidate of a round)."""
    return rotate(load_lines("angles", prompts_dir), turn)


async def challenger(state: ChallengerTask, runtime: Runtime[RunContext]) -> SelfInstructState:
    ctx = context(runtime)
    window = state.get("window") or [0, len(state["document"])]
    text = state["document"][window[0] : window[1]]
    seed = f"{state['source']}:{state['round']}:{state['index']}"
    built = await code_written_item(
        state["document"], (window[0], window[1]), seed, state.get("asked", []), ctx.mode
    )
    if built is not None:  # no model call
        item, rests_on = built
        source, round_no, index = state["source"], state["round"], state["index"]
        emit(runtime, event="candidate", source=source, round=round_no, index=index, ok=True)
        candidate = Candidate(attempt=state["attempt"], index=state["index"], item=item, error=None)
        return {"candidates": [{**candidate, "window": list(rests_on)}], "calls": []}
    # a passage whose result code could not ask for gets a model-written question about it; a rule or a
    # definition gets a case item
    result = withheld_result(text)
    names = passage_code_names(text, state["document"]) if ctx.mode == "verifiable" else []
    # a passage that documents code a program here can run gets a program whose output is asked for
    # (autodata/rules/code_passages.py); other code (a library the sandbox does not allow) gets a case item
    where = qualified_names(names, list(allowed_modules()), state["document"]) if names else []
    schema = WithheldItemOut if result else TraceItemOut if where else case_schema(ctx.mode)
    turn = turn_of(state["round"], state["index"], state.get("num_candidates", 1))
    prompt = "challenger_withheld" if result else CASE_PROMPT[schema]
    messages = load_prompt(prompt, ctx.prompts_dir).render(
        source=state["source"],
        document=fence(reflow(text)),
        result=fence(result or ""),
        feedback=state["feedback"],
        angle=angle_for(turn, ctx.prompts_dir),
        names=", ".join(names),
        where=", ".join(where),
        **item_prompt_values(ctx, schema, turn=turn),
    )
    candidate, records = await write_candidate(
        runtime,
        messages,
        schema,
        source=state["source"],
        round=state["round"],
        attempt=state["attempt"],
        index=state["index"],
        window=text,
        result=result,
        defer=state.get("defer", 0),
    )
    return {"candidates": [{**candidate, "window": window}], "calls": records}
