"""Each unit's trajectory, round by round, from a run directory's files (``accepted.jsonl``,
``rejected.jsonl``, read once by :func:`autodata.evals.report.load_run`).

A unit is one document or one section of it (its ``source`` path and character ``span``). Its rounds come
in the order they ran: each rejected record is one round (its candidates' verdicts, solver scores, reason,
detail, and the feedback the orchestrator sent into the next round, ``feedback_next``); each accepted
record is the round that accepted it. An accepted record does not keep its round number, only the rounds
its item took, so the accepted rounds of a unit are numbered by summing those in file order. Runs written
before ``feedback_next`` was recorded, or before the candidates' items were, still read: those fields are
None.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from autodata.evals.report import load_run

ACCEPTED = "accepted"


class Verdict(TypedDict):
    """One candidate of a round, as screening judged it."""

    index: int
    reason: str
    """``passed`` (it went on to the solvers), or why it was refused (``format``, ``leakage``, ...)."""
    feedback: str
    item: dict[str, Any] | None
    """The candidate item in full (None when its call failed, or in runs that did not record it)."""


class Round(TypedDict):
    round: int
    attempt: int | None
    """None for an accepted round (its record does not keep the attempt)."""
    counted: bool
    reason: str
    detail: str
    question: str | None
    verdicts: list[Verdict]
    weak_scores: list[float]
    strong_scores: list[float]
    weak_mean: float | None
    strong_mean: float | None
    gap: float | None
    feedback_next: str | None
    """The feedback sent into the unit's next round; None after its last round or when not recorded."""
    accepted: dict[str, Any] | None
    """The accepted record (the item in full), when this round accepted it."""
    record_id: str


class Unit(TypedDict):
    id: str
    """Short and stable: a hash of ``source`` and ``span``."""
    source: str
    document: str
    """``source`` without a section's ``#sK`` suffix: the file all of its sections come from."""
    name: str
    """The file name of ``source`` (with its section suffix)."""
    span: list[int]
    outcome: str
    """``accepted`` (at least one item) or ``not accepted``."""
    reasons: list[str]
    """The distinct reasons of its rounds, in order of first appearance."""
    rounds: list[Round]
    accepted: list[dict[str, Any]]


def unit_id(source: str, span: list[int]) -> str:
    return hashlib.sha256(f"{source}\x00{list(span)}".encode()).hexdigest()[:8]


def document_of(source: str) -> str:
    head, sep, tail = source.rpartition("#s")
    return head if sep and tail.isdigit() else source


def _source(record: dict[str, Any]) -> tuple[str, list[int]]:
    source = record.get("source") or {}
    return str(source.get("path", "")), list(source.get("span") or [])


def _scores(record: dict[str, Any], key: str) -> list[float]:
    return list(record.get(key) or [])


def _round(record: dict[str, Any], number: int, accepted: bool) -> Round:
    verdicts = [
        Verdict(
            index=int(s.get("index", i)),
            reason=str(s.get("reason", "")),
            feedback=str(s.get("feedback", "")),
            item=s.get("item"),
        )
        for i, s in enumerate(record.get("screenings") or [])
    ]
    return Round(
        round=number,
        attempt=None if accepted else record.get("attempt"),
        counted=bool(record.get("counted", True)),
        reason=ACCEPTED if accepted else str(record.get("reason") or "unknown"),
        detail=str(record.get("detail") or ""),
        question=record.get("question"),
        verdicts=verdicts,
        weak_scores=_scores(record, "weak_scores"),
        strong_scores=_scores(record, "strong_scores"),
        weak_mean=record.get("weak_mean"),
        strong_mean=record.get("strong_mean"),
        gap=record.get("gap"),
        feedback_next=record.get("feedback_next") or None,
        accepted=record if accepted else None,
        record_id=str(record.get("id", "")),
    )


def unit_trajectories(accepted: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> list[Unit]:
    """The units of a run's records, sorted by source and span, each with its rounds in order."""
    by_unit: dict[tuple[str, tuple[int, ...]], list[tuple[tuple[int, int, int], Round]]] = {}
    for record in rejected:
        path, span = _source(record)
        number = int(record.get("round") or 0)
        # a diverted near-duplicate stands for the accepting round; failed calls share the next round's
        # number, so within a round the rejected attempts come first
        last = 1 if record.get("reason") == "duplicate" else 0
        key = (number, last, int(record.get("attempt") or 0))
        by_unit.setdefault((path, tuple(span)), []).append((key, _round(record, number, False)))
    numbers: dict[tuple[str, tuple[int, ...]], int] = {}
    for record in accepted:
        path, span = _source(record)
        unit = (path, tuple(span))
        numbers[unit] = numbers.get(unit, 0) + int(record.get("rounds") or 1)
        by_unit.setdefault(unit, []).append(((numbers[unit], 1, 0), _round(record, numbers[unit], True)))
    units = []
    for (path, span), keyed in sorted(by_unit.items()):
        rounds = [r for _, r in sorted(keyed, key=lambda pair: pair[0])]
        items = [r["accepted"] for r in rounds if r["accepted"] is not None]
        units.append(
            Unit(
                id=unit_id(path, list(span)),
                source=path,
                document=document_of(path),
                name=Path(path).name or path or "(no source)",
                span=list(span),
                outcome=ACCEPTED if items else "not accepted",
                reasons=list(dict.fromkeys(r["reason"] for r in rounds)),
                rounds=rounds,
                accepted=items,
            )
        )
    return units


def read_trajectories(run_dir: str | Path) -> list[Unit]:
    """Every unit of the run in ``run_dir`` (``ReportError`` when it is not a run directory)."""
    run = load_run(run_dir)
    return unit_trajectories(run["accepted"], run["rejected"])


def _side(label: str, values: list[float], mean: float | None) -> str:
    if not values:
        return f"{label} -"
    return f"{label} {', '.join(f'{v:.2f}' for v in values)} (mean {'-' if mean is None else f'{mean:.2f}'})"


def scores_text(r: Round | dict[str, Any]) -> str:
    """``weak 0.00, 1.00 (mean 0.50) · strong - · gap -`` (a side that did not run: ``-``)."""
    gap = "-" if r["gap"] is None else f"{r['gap']:+.2f}"
    return (
        f"{_side('weak', r['weak_scores'], r['weak_mean'])} · "
        f"{_side('strong', r['strong_scores'], r['strong_mean'])} · gap {gap}"
    )


def _resolved(path: str) -> str:
    try:
        return str(Path(path).expanduser().resolve())
    except (OSError, RuntimeError):
        return path


def find_units(units: list[Unit], query: str) -> list[Unit]:
    """The units ``query`` names: a unit id, a source path or file name (one unit), or a document's path or
    file name (all of its sections). Empty when it names none."""
    query = query.strip()
    exact = [u for u in units if query in (u["id"], u["source"], u["name"])]
    if exact:
        return exact
    by_document = [u for u in units if query in (u["document"], Path(u["document"]).name)]
    if by_document:
        return by_document
    target = _resolved(query)
    return [u for u in units if target in (_resolved(u["source"]), _resolved(u["document"]))]
