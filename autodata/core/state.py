"""Typed graph state of the inner loop (plain TypedDicts: they checkpoint as JSON-like data)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired

from typing_extensions import TypedDict

from autodata.core.records import CallRecord


class Criterion(TypedDict):
    id: int
    description: str
    points: int


class Item(TypedDict):
    kind: NotRequired[Literal["case", "withheld", "trace", "computed"]]
    """How the agentic challenger built it: a new case about its passage, the passage with its own result
    withheld (autodata/rules/withheld.py), a program that calls the code its passage documents, whose
    output is asked for (autodata/rules/code_passages.py), or a case code wrote and answered itself (a time
    limit counted on a date, autodata/rules/time_limits.py); absent for the CoT baseline's items."""
    evidence: NotRequired[list[str]]
    """Sentences of the source the item rests on (checked in code to be in the challenger's window)."""
    question_type: str
    skills: list[str]
    context: str
    question: str
    answer: str
    rubric: list[Criterion]
    solution: NotRequired[str]
    """The challenger's worked solution (its reference solution), when its schema asks for one."""
    repairs: NotRequired[list[str]]
    """What code corrected in the challenger's item (autodata/rules/arithmetic.py: a miscomputed last
    step)."""
    program: NotRequired[str]
    """A verifiable case item's answer program (autodata/local/sandbox.py): its printed line is the answer."""
    program_error: NotRequired[str]
    """Why the answer program gave no answer (the item is then rejected as ``program``)."""


class Candidate(TypedDict):
    attempt: int
    index: int
    item: Item | None
    error: str | None
    window: NotRequired[list[int]]
    """The span of the unit's text the challenger saw (the verifier and the evidence check see the same)."""


class Check(TypedDict):
    name: str
    passed: bool
    detail: str


class Screening(TypedDict):
    index: int
    item: Item | None
    checks: list[Check]
    passed: bool
    reason: str
    """``passed``, ``format``, ``grounding``, ``program``, ``arithmetic``, ``leakage``, ``repeat``,
    ``duplicate``, ``quality`` or ``call_failed``."""
    feedback: str
    window: NotRequired[list[int]]
    """The span of the unit's text the candidate was written about."""


class Sample(TypedDict):
    answer: str | None
    final_answer: str | None
    score: float | None
    criteria: list[dict[str, Any]]
    failure_modes: str
    graded_by: str
    """``code`` (normalisation / math-verify, empty answers), ``judge`` (LLM), or ``none`` (failed call)."""
    error: str | None
    truncated: NotRequired[bool]
    """The reply hit the token limit (``finish_reason`` ``length``)."""


class JudgeCheck(TypedDict):
    """The judge graded the reference answer and a null answer on the item's own rubric before solving."""

    reference: float | None
    null: float | None
    passed: bool
    detail: str


class RoundRecord(TypedDict):
    round: int
    attempt: int
    counted: bool
    reason: str
    detail: str
    item: Item | None
    screenings: list[Screening]
    weak: list[Sample]
    strong: list[Sample]
    weak_scores: list[float]
    strong_scores: list[float]
    weak_mean: float | None
    strong_mean: float | None
    gap: float | None
    judge_check: NotRequired[JudgeCheck | None]
    feedback: NotRequired[str]
    """The orchestrator's feedback this round's challenger was sent (empty in a unit's first round; absent
    from rounds checkpointed before it was recorded)."""
    window: NotRequired[list[int] | None]
    """The span of the unit's text the round's item was written about (None when no candidate had one)."""


Status = Literal["running", "accepted", "exhausted", "failed"]
Phase = Literal["weak", "strong"]
"""The solver phase of a round: its samples are the state's ``weak`` or ``strong``."""


class SelfInstructInput(TypedDict):
    """What a run needs: the source text (a document or one section of it)."""

    document: str
    source: NotRequired[str]
    span: NotRequired[list[int]]


class SelfInstructState(TypedDict, total=False):
    document: str
    source: str
    span: list[int]
    mode: str
    preset: str
    round: int
    attempt: int
    num_candidates: int
    k: int
    """Solver samples per phase (the run's ``samples``); absent from units checkpointed before it was kept."""
    candidates: Annotated[list[Candidate], operator.add]
    screenings: list[Screening]
    current: Item | None
    windows: list[list[int]]
    """Paragraph-aligned spans of ``document`` the rounds are pointed at in turn
    (autodata/rules/windows.py)."""
    judge_check: JudgeCheck | None
    weak: list[Sample]
    strong: list[Sample]
    phase: Phase
    feedback: str
    rounds: Annotated[list[RoundRecord], operator.add]
    calls: Annotated[list[CallRecord], operator.add]
    status: Status
    accepted: dict[str, Any] | None
    """The unit's latest accepted item (all of them: ``accepted_items``)."""
    accepted_items: Annotated[list[dict[str, Any]], operator.add]


class ChallengerTask(TypedDict):
    """Payload of one parallel challenger branch (sent with ``Send``)."""

    document: str
    source: str
    round: int
    attempt: int
    index: int
    num_candidates: int
    feedback: str
    window: NotRequired[list[int]]
    asked: NotRequired[list[str]]
    """The questions the unit's earlier rounds asked (code does not build an item it already asked)."""
    defer: NotRequired[int]
    """How many of the unit's last rounds failed screening: its challenger call waits behind others' on a
    busy endpoint (autodata/llm/limits.py)."""
