"""Structured outputs of the LLM roles. Flat, shallow, every string bounded, enums for verdicts and scores
(small models under grammar-constrained decoding follow these; the code recomputes every total)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema, create_model

from autodata.llm.dialects import GRAMMAR_PATTERN
from autodata.prompts.loader import OPTIMISED
from autodata.rules.format_rules import (
    CASE_CHARS,
    EVIDENCE_MAX,
    EVIDENCE_MIN,
    MAX_ANSWER_CHARS,
    MAX_CONTEXT_CHARS,
    PROGRAM_CHARS,
    RUBRIC_MAX,
    RUBRIC_MIN,
    SOLUTION_CHARS,
)

ONE_SENTENCE = r'^([^.!?"\\\n]|\\[\\"]|[.!?][^ .!?"\\\n]){{{low},{high}}}[.!?]?$'
"""One sentence, as the coded format rule counts them: sentence-ending punctuation only at the end or
inside a token ("3.5", "e.g.x"). The pattern sees the raw JSON string, so a quote or a backslash may only
come escaped (``\\"``, ``\\\\``: quotes and LaTeX such as ``\\frac{1}{2}`` stay possible) and the
reply stays valid JSON; no newline."""


ONE_QUESTION = r'^([^?"\\\n]|\\[\\"]){{{low},{high}}}\?$'
"""One question: a single question mark, at the end (escapes as in ONE_SENTENCE). Without it the 1.5B
challenger continued copying the source into the question field."""


class Bounded(GroupedMetadata):
    """What ``bounded`` returns: pydantic expands it in place inside ``Annotated[str, ...]``."""

    def __init__(self, *metadata: object) -> None:
        self.metadata = metadata

    def __iter__(self) -> Iterator[object]:
        return iter(self.metadata)


def bounded(
    limit: int,
    description: str = "",
    min_chars: int = 0,
    one_sentence: bool = False,
    one_question: bool = False,
) -> Bounded:
    """A string capped at ``limit`` characters: longer replies are truncated, not rejected.

    ``min_chars`` only shapes constrained decoding (``minLength``); the coded format rules judge it.
    ``one_sentence`` makes grammar-constrained decoding write a single sentence (small local models
    otherwise tend to add a second one, which the format rules reject).
    llama.cpp cannot build grammars for ``maxLength`` above 1000, so keep limits at or below that."""
    assert limit <= 1000, "llama.cpp grammars fail for maxLength > 1000"
    schema: dict[str, object] = {"type": "string", "maxLength": limit}
    if min_chars:
        schema["minLength"] = min_chars
    if description:
        schema["description"] = description
    if one_sentence:
        schema[GRAMMAR_PATTERN] = ONE_SENTENCE.format(low=max(1, min_chars), high=limit)
    if one_question:
        schema[GRAMMAR_PATTERN] = ONE_QUESTION.format(low=max(1, min_chars), high=limit - 1)
    return Bounded(AfterValidator(lambda s: s.strip()[:limit]), WithJsonSchema(schema))


YesNo = Literal["YES", "NO"]


Points = Literal[-3, -2, -1, 1, 2, 3, 4, 5]


class RubricCriterionOut(BaseModel):
    description: Annotated[
        str, bounded(160, "one checkable fact or step a correct answer contains", min_chars=10)
    ]
    points: Points = Field(description="weight: 1 to 5, or negative for a penalised mistake")


def _evidence_field() -> Any:
    return Field(
        description="1-2 sentences copied word for word from the source, on which the item rests",
        json_schema_extra={"minItems": EVIDENCE_MIN, "maxItems": EVIDENCE_MAX},
    )


class VerifiableItemOut(BaseModel):
    # Grammar-constrained decoding writes the fields in schema order: the model quotes the source first, puts
    # its facts in the context, draws the conclusion (the answer) from them, and only then asks for it; labels
    # come last. Measured on the 1.5B challenger: question-first items had answers the source did not support.
    evidence: Annotated[
        list[Annotated[str, bounded(300, min_chars=20)]], AfterValidator(lambda v: v[:EVIDENCE_MAX])
    ] = _evidence_field()
    context: Annotated[
        str,
        bounded(
            MAX_CONTEXT_CHARS,
            "the case or setting of the question; must not contain the answer",
            min_chars=20,
        ),
    ]
    answer: Annotated[
        str,
        bounded(
            MAX_ANSWER_CHARS["verifiable"], "the short exact reference answer", min_chars=1, one_sentence=True
        ),
    ]
    question: Annotated[str, bounded(300, "exactly one question", min_chars=15, one_question=True)]
    question_type: Annotated[
        str, bounded(60, "short label, e.g. 'derivation', 'causal inference'", min_chars=3)
    ]
    skills: Annotated[list[Annotated[str, bounded(40, min_chars=3)]], AfterValidator(lambda v: v[:3])] = (
        Field(
            description="2-3 reasoning skills the question needs",
            json_schema_extra={"minItems": 2, "maxItems": 3},
        )
    )


class RubricItemOut(VerifiableItemOut):
    answer: Annotated[
        str,
        bounded(
            MAX_ANSWER_CHARS["rubric"], "the reference answer in one sentence", min_chars=5, one_sentence=True
        ),
    ]
    rubric: Annotated[list[RubricCriterionOut], AfterValidator(lambda v: v[:RUBRIC_MAX])] = Field(
        description=f"{RUBRIC_MIN}-{RUBRIC_MAX} grading criteria",
        json_schema_extra={"minItems": RUBRIC_MIN, "maxItems": RUBRIC_MAX},
    )


class CaseItemOut(BaseModel):
    """What the agentic challenger writes about the passage code chose for it (autodata/rules/windows.py:
    focus_windows): the passage itself opens the item's context in code, so the model quotes nothing.

    Field order is the order of decoding: the new case, the question about it, the worked solution, and only
    then the answer, read off the solution. Measured on the 1.5B challenger: with the answer before any
    worked step, the question asked for one thing and the answer gave another."""

    context: Annotated[
        str,
        bounded(CASE_CHARS, "the new concrete case, 1-2 sentences; must not state the result", min_chars=30),
    ]
    question: Annotated[
        str, bounded(300, "exactly one question about the case", min_chars=15, one_question=True)
    ]
    solution: Annotated[
        str, bounded(SOLUTION_CHARS, "the rule applied to the case, step by step", min_chars=20)
    ]
    answer: Annotated[
        str,
        bounded(
            MAX_ANSWER_CHARS["verifiable"], "the result the solution reaches", min_chars=1, one_sentence=True
        ),
    ]
    question_type: Annotated[str, bounded(60, "short label, e.g. 'rule application'", min_chars=3)]


class ProgramItemOut(BaseModel):
    """The agentic challenger's verifiable case item: the case, its question, and a short Python program that
    computes the answer from the case's values by the passage's rule. Code runs the program
    (autodata/local/sandbox.py) and its printed line is the reference answer: the 1.5B challenger's cases were
    rejected for wrong arithmetic, and its verifier rejected right arithmetic it redid wrongly
    (docs/RESULTS.md)."""

    context: Annotated[
        str,
        bounded(CASE_CHARS, "the new concrete case, 1-2 sentences; must not state the result", min_chars=30),
    ]
    question: Annotated[
        str, bounded(300, "exactly one question about the case", min_chars=15, one_question=True)
    ]
    program: Annotated[
        str,
        bounded(
            PROGRAM_CHARS,
            "Python: a comment quoting the passage's rule, then the rule applied to the case; "
            "prints the answer",
            min_chars=20,
        ),
    ]
    question_type: Annotated[str, bounded(60, "short label, e.g. 'rule application'", min_chars=3)]


class TraceItemOut(BaseModel):
    """A verifiable item about a passage that documents code (autodata/rules/code_passages.py): a short
    program that calls what the passage documents; code runs it, and the question is what it prints."""

    program: Annotated[
        str, bounded(PROGRAM_CHARS, "4-10 lines of Python, no comments; the last line prints", min_chars=20)
    ]
    question_type: Annotated[str, bounded(60, "short label, e.g. 'edge case'", min_chars=3)]


class CaseRubricItemOut(CaseItemOut):
    answer: Annotated[
        str,
        bounded(
            MAX_ANSWER_CHARS["rubric"],
            "the result and its reason, in one sentence",
            min_chars=5,
            one_sentence=True,
        ),
    ]
    rubric: Annotated[list[RubricCriterionOut], AfterValidator(lambda v: v[:RUBRIC_MAX])] = Field(
        description=f"{RUBRIC_MIN}-{RUBRIC_MAX} grading criteria",
        json_schema_extra={"minItems": RUBRIC_MIN, "maxItems": RUBRIC_MAX},
    )


class WithheldItemOut(BaseModel):
    """What the agentic challenger writes about a passage that works something out: the question asking for
    the result code chose in it (autodata/rules/withheld.py: chosen_result). Code takes the result out of the
    passage to build the context, so the reference answer is the source's own words."""

    question: Annotated[
        str, bounded(300, "exactly one question asking for the result", min_chars=15, one_question=True)
    ]
    question_type: Annotated[str, bounded(60, "short label, e.g. 'derivation'", min_chars=3)]


class VerifierOut(BaseModel):
    """Two concrete yes/no questions; everything code can decide is decided before this call."""

    self_contained: YesNo = Field(description="YES if the question can be answered from the context alone")
    answer_correct: YesNo = Field(description="YES if the reference answer is correct for the question")
    problem: Annotated[str, bounded(160, "if a NO: what is wrong, in one sentence; else empty")]


class CriterionScoreOut(BaseModel):
    criterion_id: int
    verdict: Literal["met", "partial", "unmet"]


class RubricJudgeOut(BaseModel):
    scores: Annotated[list[CriterionScoreOut], AfterValidator(lambda v: v[:12])]
    failure_modes: Annotated[str, bounded(240, "what the answer got wrong or missed")]


class EquivalenceOut(BaseModel):
    """The verdict alone: a reason after it cannot change it, and cost the CPU judge ~35 tokens a call (code
    writes what a wrong answer got wrong, nodes/judge.py: wrong_answer_note)."""

    verdict: Literal["EQUIVALENT", "DIFFERENT"]


VERDICT_SCORE = {"met": 1.0, "partial": 0.5, "unmet": 0.0}


# ---------------------------------------------------------------------------------------------- taxonomy

TypeCategory = Literal["reasoning", "knowledge", "mixed"]


class TypeProposalOut(BaseModel):
    name: Annotated[str, bounded(60, "short name of the question type", min_chars=3)]
    definition: Annotated[str, bounded(240, "what questions of this type ask for", min_chars=10)]


class DiscoverOut(BaseModel):
    types: Annotated[list[TypeProposalOut], AfterValidator(lambda v: v[:15])] = Field(
        description="the question types seen in these items",
        json_schema_extra={"minItems": 1, "maxItems": 15},
    )


class TaxonomyTypeOut(BaseModel):
    name: Annotated[str, bounded(60, "short distinct name", min_chars=3)]
    definition: Annotated[str, bounded(300, "what belongs to this type and what does not", min_chars=10)]
    category: TypeCategory = Field(description="reasoning, knowledge or mixed")


class ConsolidateOut(BaseModel):
    types: Annotated[list[TaxonomyTypeOut], AfterValidator(lambda v: v[:30])] = Field(
        description="non-overlapping question types", json_schema_extra={"minItems": 1}
    )


# what the taxonomy's assign step reads (nodes/taxonomy.py); assign_schema's models add the type names as an
# enum (no docstrings here: a model's docstring would go into its JSON schema as its description)
class Assignment(BaseModel):
    item: int
    type: str


class Assignments(BaseModel):
    assignments: list[Assignment]


def assign_schema(type_names: list[str]) -> type[Assignments]:
    """``{"assignments": [{"item": n, "type": name}]}`` with the type names as an enum for constrained
    decoding; parsing stays lenient (plain strings), so an unknown name is counted by the caller."""
    type_field = Annotated[
        str,
        AfterValidator(lambda s: s.strip()[:120]),
        WithJsonSchema({"type": "string", "enum": list(type_names)}),
    ]
    assignment = create_model("AssignmentOut", __base__=Assignment, type=(type_field, ...))
    return create_model(
        "AssignOut",
        __base__=Assignments,
        assignments=(
            # mypy cannot check a model class built at run time
            Annotated[list[assignment], AfterValidator(lambda v: v[:100])],  # type: ignore[valid-type]
            Field(description="one entry per item, by item number"),
        ),
    )


class EditOut(BaseModel):
    """The meta-optimiser's editor: one part of one optimised prompt (prompts/manifest.toml), rewritten."""

    # the enum constrains decoding (small models otherwise write prose here); validation stays a plain str
    # so that the guardrail in code, not the schema, is what refuses a protected prompt
    prompt: str = Field(
        description="name of the ONE prompt file to replace", json_schema_extra={"enum": list(OPTIMISED)}
    )
    part: int = Field(
        default=0, ge=0, description="the number of the part to replace; 0 adds a part to the instructions"
    )
    new_text: str = Field(description="the new text of that part")
    rationale: str = Field(default="", description="why this change addresses the analysis")
