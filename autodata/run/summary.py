"""A run's summary: documents by how they finished, rounds, accepted items, rejections, calls per role."""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodata.data.documents import Document, Skipped
from autodata.llm.accounting import summarize_calls
from autodata.run.unit_records import accepted_payloads

FINISHED = ("accepted", "exhausted", "failed")


@dataclass
class RunSummary:
    out_dir: str
    documents: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    finished: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    attempts: int = 0
    accepted: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    items_solved: int = 0
    """Rounds in which a candidate passed screening and reached the solvers."""
    calls: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    wall_seconds: float = 0.0
    cost_usd: float = 0.0
    """Sum of ``calls[role]["cost_usd"]`` (role price tables; cached replays are free)."""
    duplicates: int = 0
    """Accepted items diverted to rejected.jsonl as near-duplicates of an earlier accepted question."""
    stopped: str | None = None
    """Why the run stopped before every unit finished (``budget reached: ...``); None when it did not."""

    @classmethod
    def begin(cls, out_dir: Path, documents: list[Document], skipped: list[Skipped] | None) -> RunSummary:
        """The totals of a run that is starting (its directory created)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            out_dir=str(out_dir),
            documents=len(documents),
            skipped=[{"path": s.path, "reason": s.reason} for s in skipped or []],
        )

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.documents and self.items_solved == 0 and not self.stopped:
            out.append(
                "no candidate item ever passed screening, so no solver ran: the run produced no "
                "evidence at all (see rejected.jsonl for why)"
            )
        failed_calls = sum(int(r["failed"]) for r in self.calls.values())
        total_calls = sum(int(r["calls"]) for r in self.calls.values())
        if total_calls and failed_calls / total_calls > 0.25:
            out.append(f"{failed_calls} of {total_calls} LLM calls failed")
        if self.errors:
            out.append(f"{len(self.errors)} document(s) stopped with an error")
        return out

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "warnings": self.warnings}


def tally(
    summary: RunSummary,
    values: dict[str, Any],
    statuses: Counter[str],
    reasons: Counter[str],
) -> None:
    """Add one finished document's final state to the run totals (constant memory per run)."""
    statuses[values.get("status", "unknown")] += 1
    summarize_calls(values.get("calls", []), into=summary.calls)
    for r in values.get("rounds", []):
        summary.attempts += 1
        summary.rounds += 1 if r["counted"] else 0
        summary.items_solved += 1 if r["weak"] else 0
        if r["reason"] != "accepted":
            reasons[r["reason"]] += 1
    diverted = len(values.get("duplicates_of") or [])  # set by write_records: went to rejected.jsonl
    summary.duplicates += diverted
    if diverted:
        reasons["duplicate"] += diverted
    summary.accepted += len(accepted_payloads(values)) - diverted


def finish_summary(
    summary: RunSummary,
    out_dir: Path,
    started: float,
    statuses: Counter[str],
    reasons: Counter[str],
) -> RunSummary:
    summary.finished = dict(statuses)
    summary.rejections = dict(reasons.most_common())
    summary.wall_seconds = round(time.monotonic() - started, 1)
    summary.cost_usd = round(sum(row.get("cost_usd", 0.0) for row in summary.calls.values()), 6)
    if summary.stopped:  # units stopped by the budget or never started: every unit is accounted for
        left = summary.documents - sum(summary.finished.values()) - len(summary.errors)
        if left > 0:
            summary.finished["stopped"] = left
    (out_dir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2), encoding="utf-8")
    return summary
