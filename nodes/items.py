"""The item a challenger candidate becomes: from the model's reply (a case, a program, a trace program, a
withheld-result question) to the :class:`~autodata.core.state.Item` the verifier screens, with its context
built from the passage in code, and the questions code itself asks about a passage's withheld result."""

from __future__ import annotations

import re
from typing import Literal

from typing_extensions import TypedDict

from autodata.core.state import Criterion, Item
from autodata.local.program_imports import with_imports
from autodata.local.sandbox import run_program
from autodata.prompts.loader import load_prompt
from autodata.rules.arithmetic import repair
from autodata.rules.background import background, with_background
from autodata.rules.code_passages import passage_code_names, without_comments
from autodata.rules.dates import format_date
from autodata.rules.doc_examples import (
    DocExample,
    answerable,
    asked_calls,
    calls_program,
    examples_for,
    lead_up,
    varied_calls,
)
from autodata.rules.evidence import grounded_context
from autodata.rules.format_rules import answer_core
from autodata.rules.leakage import check_leakage
from autodata.rules.schemas import (
    CaseItemOut,
    CaseRubricItemOut,
    ProgramItemOut,
    RubricItemOut,
    TraceItemOut,
    VerifiableItemOut,
    WithheldItemOut,
)
from autodata.rules.time_limits import TimeLimit, case_start, find_time_limit, limit_end
from autodata.rules.windows import passage_sentences
from autodata.rules.withheld import (
    consequence_premise,
    formula_subject,
    reason_fact,
    withheld_result,
    withhold,
)

REASON_TYPE = "causal explanation"
"""The question type of a withheld reason (its question is code's: reason_question)."""
FORMULA_TYPE = "derivation"
"""The question type of a withheld equation for a named quantity (its question is code's too)."""
CONSEQUENCE_TYPE = "consequence"
"""The question type of a withheld consequence in words (consequence_question)."""
CALL_TYPE = "function application"
"""The question type of a documented call with other data (doc_example_item)."""
EXAMPLES_TRIED = 3
"""Documented calls tried for one passage (a sandbox run each) before a model writes its item instead."""
TIME_LIMIT_TYPE = "time limit"
"""The question type of a time limit counted on a case date (time_limit_item)."""


class _Kind(TypedDict, total=False, closed=True):
    """An item's ``kind`` when the model's reply has one (a case); a CoT item has none. Closed (no other
    keys), so that it can open the :class:`Item` it is unpacked into."""

    kind: Literal["case"]


ItemOut = (
    VerifiableItemOut
    | RubricItemOut
    | CaseItemOut
    | CaseRubricItemOut
    | ProgramItemOut
    | TraceItemOut
    | WithheldItemOut
)


def _criteria(parsed: ItemOut) -> list[Criterion]:
    return [
        {"id": i + 1, "description": c.description.strip(), "points": int(c.points)}
        for i, c in enumerate(getattr(parsed, "rubric", []) or [])
    ]


def code_criterion(prompt: str, **values: str) -> list[Criterion]:
    """A rubric of one criterion, written by code from ``prompt`` (prompts/<prompt>.md) and the item's own
    answer: the rubric of every item whose answer code knows."""
    return [{"id": 1, "description": load_prompt(prompt).render_text(**values), "points": 3}]


def withheld_rubric(result: str) -> list[Criterion]:
    """The rubric of a withheld-result item: one criterion, written by code from the source's result (a small
    model's criteria restate the facts the context gives, which any answer can repeat)."""
    return code_criterion("withheld_criterion", result=result.strip().rstrip("."))


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
        item_kind: _Kind = {"kind": "case"}
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
    solution: str = getattr(parsed, "solution", "")
    if solution:
        item["solution"] = solution.strip()
        repaired = repair(item["solution"], item["answer"])
        if repaired is not None:  # the answer becomes what the item's own last step computes
            item["solution"], item["answer"], note = repaired
            item["repairs"] = [f"arithmetic: {note}"]
    return item


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


def code_item(document: str, window: tuple[int, int], result: str, mode: str) -> Item | None:
    """The item code writes itself about ``result`` of the passage ``window`` of ``document``
    (code_question), or None when a model must write its question. A withheld reason or consequence is worked
    out from premises: its context also gets the document's sentences it rests on
    (autodata/rules/background.py)."""
    passage = document[window[0] : window[1]]
    parsed = code_question(passage, result)
    if parsed is None:
        return None
    item = to_item(parsed, passage, result, mode)
    if parsed.question_type in (REASON_TYPE, CONSEQUENCE_TYPE):
        found = background(document, window, item["context"], item["question"], item["answer"])
        item["context"] = with_background(item["context"], found, window)
    return item


def time_limit_item(passage: str, limit: TimeLimit, seed: str, mode: str) -> Item:
    """The item code writes for a time limit of ``passage`` (autodata/rules/time_limits.py): the event it
    counts from falls on a date fixed by ``seed`` (prompts/time_limit_question.md), the answer is the limit's
    last day, counted in code. The passage is the whole context: the solver finds the limit that applies."""
    evidence = passage_sentences(passage)
    start = case_start(seed, limit.amount, limit.unit)
    answer = format_date(limit_end(start, limit.amount, limit.unit))
    question = load_prompt("time_limit_question").render_text(trigger=limit.trigger, start=format_date(start))
    return Item(
        kind="computed",
        evidence=evidence,
        question_type=TIME_LIMIT_TYPE,
        skills=[],
        context=" ".join(evidence),
        question=question,
        answer=answer,
        rubric=code_criterion("time_limit_criterion", answer=answer) if mode == "rubric" else [],
    )


async def doc_example_item(
    document: str, example: DocExample, seed: str, mode: str
) -> tuple[Item, tuple[int, int]] | None:
    """The item code writes for a worked example of ``document`` (autodata/rules/doc_examples.py): the
    documentation up to the example and the example are the context, the question asks what the same call
    on other data returns (prompts/call_question.md), and the sandbox computes the answer. Returns the item
    and the span of ``document`` it rests on; None when no varied call gives a short answer the context
    does not already hold."""
    shown = load_prompt("call_example").render_text(call=example.call, result=example.result)
    context, sentences, span = lead_up(document, example, shown)
    calls = varied_calls(example.call, seed)
    if not sentences or not calls:
        return None
    run = await run_program(with_imports(calls_program(calls)))
    for call, value in answerable(calls, run.printed, example.result):
        question = load_prompt("call_question").render_text(call=call)
        if check_leakage(value, context, question).leaked:
            continue
        item = Item(
            kind="computed",
            evidence=sentences,
            question_type=CALL_TYPE,
            skills=[],
            context=context,
            question=question,
            answer=value,
            rubric=code_criterion("call_criterion", answer=value) if mode == "rubric" else [],
        )
        return item, span
    return None


async def code_written_item(
    document: str, window: tuple[int, int], seed: str, asked: list[str], mode: str
) -> tuple[Item, tuple[int, int]] | None:
    """The item code writes itself for the passage ``window`` of ``document``, with the span of the document
    it rests on; None when a model must write one. In order:
    - a passage that works something out: its withheld reason, consequence or equation (code_item);
    - a rule with a calendar time limit: the limit's last day for an event on a date fixed by ``seed``;
    - a passage on documented code whose document shows a call and its result: that call on other data
      (none the unit already ``asked`` about), resting on the documentation up to the example."""
    passage = document[window[0] : window[1]]
    result = withheld_result(passage)
    if result:
        item = code_item(document, window, result, mode)
        return (item, window) if item is not None else None
    if limit := find_time_limit(passage):
        return time_limit_item(passage, limit, f"{seed}:{limit.sentence}", mode), window
    names = passage_code_names(passage, document)
    for example in examples_for(document, window, names, asked_calls(asked))[:EXAMPLES_TRIED]:
        built = await doc_example_item(document, example, f"{seed}:{example.call}", mode)
        if built is not None:
            return built
    return None
