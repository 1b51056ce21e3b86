"""What a finished unit (a document's graph thread) writes: its accepted items (checked against the run's
near-duplicates) and its rejected rounds, each once, from the graph's final state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autodata.core.records import AcceptedRecord, JsonlWriter, RejectedRecord, Source
from autodata.rules.dedup import DuplicateIndex


def write_records(
    values: dict[str, Any],
    tid: str,
    models: dict[str, str],
    accepted: JsonlWriter,
    rejected: JsonlWriter,
    dedup: DuplicateIndex | None = None,
) -> None:
    """With ``dedup``, an accepted item whose question near-duplicates one accepted before goes to
    ``rejected`` (reason ``duplicate``) and that item's id is added to ``values["duplicates_of"]``. The check
    runs under the accepted file's lock with the index caught up on every process's items (see
    :func:`open_writers`), so two workers cannot both accept near-duplicates."""
    for record in rejected_records(values, tid):
        rejected.write(record)
    values["duplicates_of"] = []
    for payload in accepted_payloads(values):
        record = accepted_record(payload, values, models)
        found: tuple[str, float] | None = None

        def near_duplicate(record=record) -> tuple[str, float] | None:
            nonlocal found
            found = None if record.id in dedup else dedup.find(record.question)
            return found

        written = accepted.write(record, veto=near_duplicate if dedup is not None else None)
        if found is not None:
            values["duplicates_of"].append(found[0])
            rejected.write(duplicate_record(record, found[0], found[1]))
        elif written and dedup is not None:
            dedup.add(record.id, record.question)


def open_writers(
    out_dir: Path, dedup_threshold: float | None
) -> tuple[JsonlWriter, JsonlWriter, DuplicateIndex | None]:
    """The run's ``accepted.jsonl`` and ``rejected.jsonl`` writers and, with a threshold, the near-duplicate
    index of the accepted questions, kept up to date with what every process writes to the file."""
    dedup = DuplicateIndex(dedup_threshold) if dedup_threshold else None
    on_read = (lambda data: dedup.add(data["id"], data["question"])) if dedup is not None else None
    accepted = JsonlWriter(out_dir / "accepted.jsonl", on_read=on_read)
    return accepted, JsonlWriter(out_dir / "rejected.jsonl"), dedup


def duplicate_record(record: AcceptedRecord, duplicate_of: str, similarity: float) -> RejectedRecord:
    return RejectedRecord(
        id=f"{record.id}-duplicate",
        source=record.source,
        round=record.rounds,
        attempt=record.rounds,
        counted=True,
        reason="duplicate",
        detail=f"near-duplicate of accepted item {duplicate_of} (similarity {similarity:.2f})",
        question=record.question,
        weak_scores=record.weak_scores,
        strong_scores=record.strong_scores,
        weak_mean=record.weak_mean,
        strong_mean=record.strong_mean,
        gap=record.gap,
        screenings=[],
        duplicate_of=duplicate_of,
    )


def accepted_payloads(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item the unit accepted (states written before several items per unit: the one ``accepted``)."""
    items = values.get("accepted_items")
    if items:
        return list(items)
    return [values["accepted"]] if values.get("accepted") else []


def accepted_record(acc: dict[str, Any], values: dict[str, Any], models: dict[str, str]) -> AcceptedRecord:
    """``models``: the configured model per role, overridden by the models the calls really used."""
    used = {call["role"]: call["model"] for call in values.get("calls", [])}
    return AcceptedRecord(**{**acc, "models": {**models, **used}})


def feedback_sent_after(values: dict[str, Any]) -> list[str | None]:
    """Per round of the unit, the feedback sent into the round after it: the next round's ``feedback``;
    after the last round, the state's ``feedback`` if the feedback node ran since (the attempt moved on:
    a unit stopped by the budget mid-round). None when nothing was sent or it was not recorded."""
    rounds = values.get("rounds", [])
    sent: list[str | None] = [r.get("feedback") for r in rounds[1:]]
    if rounds:
        moved_on = values.get("attempt", 0) > rounds[-1]["attempt"]
        sent.append(values.get("feedback") if moved_on and values.get("status") == "running" else None)
    return sent


def rejected_records(values: dict[str, Any], tid: str) -> list[RejectedRecord]:
    records = []
    for r, feedback_next in zip(values.get("rounds", []), feedback_sent_after(values), strict=True):
        if r["reason"] == "accepted":
            continue
        records.append(
            RejectedRecord(
                id=f"{tid}-a{r['attempt']}",
                source=Source(path=values.get("source", ""), span=values.get("span", [0, 0])),
                round=r["round"],
                attempt=r["attempt"],
                counted=r["counted"],
                reason=r["reason"],
                detail=r["detail"],
                question=(r.get("item") or {}).get("question"),
                weak_scores=r["weak_scores"],
                strong_scores=r["strong_scores"],
                weak_mean=r["weak_mean"],
                strong_mean=r["strong_mean"],
                gap=r["gap"],
                screenings=[
                    {"index": s["index"], "reason": s["reason"], "feedback": s["feedback"], "item": s["item"]}
                    for s in r["screenings"]
                ],
                feedback_next=feedback_next or None,
            )
        )
    return records
