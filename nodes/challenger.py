"""Challenger: writes one candidate item grounded in the source (one parallel branch per candidate)."""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.state import Candidate, ChallengerTask, Item
from autodata.llm.calls import CallRecord, call_structured
from autodata.local.program_imports import with_imports
from autodata.local.sandbox import allowed_modules, run_program
from autodata.nodes.common import context, emit, registry
from autodata.prompts.loader import PromptError, fence, load_examples, load_lines, load_prompt
from autodata.rules.arithmetic import repair
from autodata.rules.code_passages import passage_code_names, qualified_names, without_comments
from autodata.rules.evidence import grounded_context
from autodata.rules.format_rules import (
    CASE_WORDS,
    MAX_ANSWER_WORDS,
    RUBRIC_MAX,
    RUBRIC_MIN,
    answer_core,
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
from autodata.rules.windows import passage_sentences, reflow, turn_of
from autodata.rules.withheld import (
    consequence_premise,
    formula_subject,
    reason_fact,
    withheld_result,
    withhold,
)


def mode_brief(ctx: RunContext) -> str:
    """What an item of the run's mode is, from prompts/mode_briefs.md (one ``mode: text`` line a mode)."""
    briefs = dict(line.split(":", 1) for line in load_lines("mode_briefs", ctx.prompts_dir) if ":" in line)
    if ctx.mode not in briefs:
        raise PromptError(f"prompts/mode_briefs.md has no line for the mode {ctx.mode!r}")
    return briefs[ctx.mode].strip()


REASON_TYPE = "causal explanation"
"""The question type of a withheld reason (its question is code's: reason_question)."""
FORMULA_TYPE = "derivation"
"""The question type of a withheld equation for a named quantity (its question is code's too)."""
CONSEQUENCE_TYPE = "consequence"
"""The question type of a withheld consequence in words (consequence_question)."""

ItemOut = (
    VerifiableItemOut
    | RubricItemOut
    | CaseItemOut
    | CaseRubricItemOut
    | ProgramItemOut
    | TraceItemOut
    | WithheldItemOut
)


def _criteria(parsed: ItemOut) -> list:
    return [
        {"id": i + 1, "description": c.description.strip(), "points": int(c.points)}
        for i, c in enumerate(getattr(parsed, "rubric", []) or [])
    ]


def withheld_rubric(result: str) -> list:
    """The rubric of a withheld-result item: one criterion, written by code from the source's result (a small
    model's criteria restate the facts the context gives, which any answer can repeat)."""
    description = load_prompt("withheld_criterion").render_text(result=result.strip().rstrip("."))
    return [{"id": 1, "description": description, "points": 3}]


def _withheld_item(parsed: WithheldItemOut, window: str, result: str, mode: str | None) -> Item:
    """The passage without ``result`` as the context, ``result`` as the reference answer. A result not found
    in the passage keeps the whole passage as context (the grounding check rejects it)."""
    evidence = passage_sentences(window)
    context = withhold(window, result)
    return Item(
        kind="withheld",
        evidence=evidence,
        question_type=parsed.question_type.strip(),
        skills=[],
        context=" ".join(evidence) if context is None else context,
        question=parsed.question.strip(),
        answer=result.strip().rstrip("."),
        rubric=withheld_rubric(result) if mode == "rubric" else [],
    )


def _program_item(parsed: ProgramItemOut, window: str | None) -> Item:
    """A case item whose answer its program will compute (answer_by_program): empty until it has run."""
    evidence = passage_sentences(window) if window is not None else []
    return Item(
        kind="case",
        evidence=evidence,
        question_type=parsed.question_type.strip(),
        skills=[],
        context=" ".join([*evidence, parsed.context.strip()]).strip(),
        question=parsed.question.strip(),
        answer="",
        rubric=[],
        program=with_imports(unescaped_program(parsed.program.strip())),
    )


def trace_question(program: str) -> str:
    """The program without its comments, then code's question about what it prints
    (prompts/trace_question.md): the program is part of the question, so every check that tells questions
    apart (repeats, run-wide duplicates, item ids) tells programs apart."""
    return f"{program}\n\n{load_prompt('trace_question').render_text()}"


def _trace_item(parsed: TraceItemOut, window: str | None) -> Item:
    """The passage as the context, the program and code's question as the question; the answer is the line
    the program prints once run (answer_by_program)."""
    evidence = passage_sentences(window) if window is not None else []
    program = with_imports(without_comments(unescaped_program(parsed.program.strip())))
    return Item(
        kind="trace",
        evidence=evidence,
        question_type=parsed.question_type.strip(),
        skills=[],
        context=" ".join(evidence),
        question=trace_question(program),
        answer="",
        rubric=[],
        program=program,
    )


_DOUBLE_ESCAPES = (("\\n", "\n"), ('\\"', '"'), ("\\t", "\t"))


def unescaped_program(program: str) -> str:
    """A program whose JSON string was escaped twice (every line break a literal backslash-n: measured on the
    1.5B) is one comment line that prints nothing; undo the second escaping when it has no line break."""
    if "\n" in program or "\\n" not in program:
        return program
    for escaped, plain in _DOUBLE_ESCAPES:
        program = program.replace(escaped, plain)
    return program


_INTEGRAL_FLOAT = re.compile(r"(?<![\d.])(\d+)\.0\b(?!\.)")
_ADDRESS = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")
"""An object printed by its default repr ("<itertools.chain object at 0x7f9b...>"): no answer, it changes from
run to run."""


async def answer_by_program(item: Item) -> Item:
    """The item with its program's printed line as the answer (a float with nothing after the point loses
    it: "30.0 minutes" -> "30 minutes"), or with the reason it gave none in ``program_error``."""
    run = await run_program(item["program"])
    if run.output is None:
        return Item(**{**item, "program_error": run.error or "no output"})
    if item.get("kind") == "trace" and run.lines > 1:  # the question asks for all it prints
        error = load_prompt("program_lines_feedback").render_text(lines=run.lines)
        return Item(**{**item, "program_error": error})
    if address := _ADDRESS.search(run.output):
        error = load_prompt("program_address_feedback").render_text(printed=address.group(0))
        return Item(**{**item, "program_error": error})
    return Item(**{**item, "answer": answer_core(_INTEGRAL_FLOAT.sub(r"\1", run.output))})


def to_item(
    parsed: ItemOut, window: str | None = None, result: str | None = None, mode: str | None = None
) -> Item:
    """The candidate item; with the source ``window`` the challenger saw, its context starts with the source
    sentences the item rests on. A case item rests on the whole passage it was given, a withheld-result item
    on the passage without ``result`` (autodata/rules/withheld.py), a CoT item on the sentences its evidence
    quotes (autodata/rules/grounding.py: grounded_context). A withheld-result item of a rubric-``mode`` run
    gets its rubric from code (withheld_rubric)."""
    if isinstance(parsed, WithheldItemOut):
        return _withheld_item(parsed, window or "", result or "", mode)
    if isinstance(parsed, ProgramItemOut):
        return _program_item(parsed, window)
    if isinstance(parsed, TraceItemOut):
        return _trace_item(parsed, window)
    context = parsed.context.strip()
    if isinstance(parsed, CaseItemOut):
        item_kind: dict = {"kind": "case"}
        evidence = passage_sentences(window) if window is not None else []
        context = " ".join([*evidence, context]).strip()
    else:
        item_kind = {}
        evidence = [e.strip() for e in parsed.evidence if e.strip()]
        if window is not None:
            context = grounded_context(evidence, context, window)
    item = Item(
        **item_kind,
        evidence=evidence,
        question_type=parsed.question_type.strip(),
        skills=[s.strip() for s in getattr(parsed, "skills", []) if s.strip()],
        context=context,
        question=parsed.question.strip(),
        answer=answer_core(parsed.answer) if item_kind else parsed.answer.strip(),
        rubric=_criteria(parsed),
    )
    if getattr(parsed, "solution", ""):
        item["solution"] = parsed.solution.strip()
        repaired = repair(item["solution"], item["answer"])
        if repaired is not None:  # the answer becomes what the item's own last step computes
            item["solution"], item["answer"], note = repaired
            item["repairs"] = [f"arithmetic: {note}"]
    return item


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
    messages: list,
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


_LINKING_WORD = re.compile(
    r"^(moreover|however|furthermore|also|thus|hence|therefore|besides|indeed|instead|still|similarly|likewise|"
    r"finally|then|in addition|in particular|in practice|in contrast|in short|in other words|for example|"
    r"for instance|by contrast|as a result|on the other hand|nevertheless|nonetheless|conversely),\s+",
    re.IGNORECASE,
)
"""A sentence's link to the one before it ("Moreover, ..."), which reads wrong after "the fact that"."""


def _in_sentence(fact: str) -> str:
    """``fact`` to follow "the fact that": without its linking word, its first letter lowered unless it
    opens an acronym."""
    fact = _LINKING_WORD.sub("", fact.strip())
    lead = fact[:1].lower() + fact[1:] if fact[:1].isupper() and not fact[1:2].isupper() else fact
    return lead.rstrip(". ")


def reason_question(fact: str) -> str:
    """The question of a withheld reason, written by code (prompts/withheld_reason_question.md): asked about
    the fact the reason explains, it cannot give the reason away, and a small model asked for it wrote
    "Why <the reason itself>?"."""
    return load_prompt("withheld_reason_question").render_text(fact=_in_sentence(fact))


def consequence_question(premise: str) -> str:
    """The question of a withheld consequence in words, written by code
    (prompts/withheld_consequence_question.md), about the fact it follows from: a small model asked for it
    addressed "the passage" the solvers never see ("What does the passage suggest about ...?")."""
    return load_prompt("withheld_consequence_question").render_text(premise=_in_sentence(premise))


def formula_question(subject: str) -> str:
    """The question of a withheld equation for ``subject``, written by code
    (prompts/withheld_formula_question.md): a small model asked for it put the equation itself into it."""
    return load_prompt("withheld_formula_question").render_text(subject=subject)


def code_question(passage: str, result: str) -> WithheldItemOut | None:
    """The question code writes for ``result`` of ``passage``: about the fact a reason explains or a
    consequence follows from, or for what an equation solves; None when a model must write it."""
    if fact := reason_fact(passage, result):
        return WithheldItemOut(question=reason_question(fact), question_type=REASON_TYPE)
    if premise := consequence_premise(passage, result):
        return WithheldItemOut(question=consequence_question(premise), question_type=CONSEQUENCE_TYPE)
    kept = withhold(passage, result)
    if kept and (subject := formula_subject(result, kept)):
        return WithheldItemOut(question=formula_question(subject), question_type=FORMULA_TYPE)
    return None


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


async def challenger(task: ChallengerTask, runtime: Runtime[RunContext]) -> dict:
    ctx = context(runtime)
    window = task.get("window") or [0, len(task["document"])]
    text = task["document"][window[0] : window[1]]
    # a passage that works something out gets a withheld-result item (its answer is the source's own words);
    # a rule or a definition gets a case item
    result = withheld_result(text)
    parsed = code_question(text, result) if result else None
    if parsed:  # no model call: code asks for the withheld reason, consequence or equation
        item = to_item(parsed, text, result, ctx.mode)
        source, round_no, index = task["source"], task["round"], task["index"]
        emit(runtime, event="candidate", source=source, round=round_no, index=index, ok=True)
        candidate = Candidate(attempt=task["attempt"], index=task["index"], item=item, error=None)
        return {"candidates": [{**candidate, "window": window}], "calls": []}
    names = passage_code_names(text, task["document"]) if ctx.mode == "verifiable" else []
    # a passage that documents code a program here can run gets a program whose output is asked for
    # (autodata/rules/code_passages.py); other code (a library the sandbox does not allow) gets a case item
    where = qualified_names(names, list(allowed_modules()), task["document"]) if names else []
    schema = WithheldItemOut if result else TraceItemOut if where else case_schema(ctx.mode)
    turn = turn_of(task["round"], task["index"], task.get("num_candidates", 1))
    prompt = "challenger_withheld" if result else CASE_PROMPT[schema]
    messages = load_prompt(prompt, ctx.prompts_dir).render(
        source=task["source"],
        document=fence(reflow(text)),
        result=fence(result or ""),
        feedback=task["feedback"],
        angle=angle_for(turn, ctx.prompts_dir),
        names=", ".join(names),
        where=", ".join(where),
        **item_prompt_values(ctx, schema, turn=turn),
    )
    candidate, records = await write_candidate(
        runtime,
        messages,
        schema,
        source=task["source"],
        round=task["round"],
        attempt=task["attempt"],
        index=task["index"],
        window=text,
        result=result,
        defer=task.get("defer", 0),
    )
    return {"candidates": [{**candidate, "window": window}], "calls": records}
