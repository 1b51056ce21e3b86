"""Typed graph state of the inner loop (plain TypedDicts: they checkpoint as JSON-like data)."""

from __future__ import annotations

import operator
from typing import Annotated, Literal, NotRequired

from typing_extensions import TypedDict

from autodata.llm import CallRecord


class Criterion(TypedDict):
    id: int
    description: str
    points: int


class Item(TypedDict):
    question_type: str
    skills: list[str]
    context: str
    question: str
    answer: str
    rubric: list[Criterion]


class Candidate(TypedDict):
    attempt: int
    index: int
    item: Item | None
    error: str | None


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
    """``passed``, ``format``, ``leakage``, ``quality`` or ``call_failed``."""
    feedback: str


class Sample(TypedDict):
    answer: str | None
    final_answer: str | None
    score: float | None
    criteria: list[dict]
    failure_modes: str
    graded_by: str
    """``code`` (normalisation / math-verify), ``judge`` (LLM), or ``none`` (failed call)."""
    error: str | None


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


Status = Literal["running", "accepted", "exhausted", "failed"]


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
    candidates: Annotated[list[Candidate], operator.add]
    screenings: list[Screening]
    current: Item | None
    weak: list[Sample]
    strong: list[Sample]
    phase: Literal["weak", "strong"]
    feedback: str
    rounds: Annotated[list[RoundRecord], operator.add]
    calls: Annotated[list[CallRecord], operator.add]
    status: Status
    accepted: dict | None


class ChallengerTask(TypedDict):
    """Payload of one parallel challenger branch (sent with ``Send``)."""

    document: str
    source: str
    round: int
    attempt: int
    index: int
    num_candidates: int
    feedback: str
