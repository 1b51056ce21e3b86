"""Run the inner graph over documents: one thread per document, SQLite checkpoints, JSONL outputs.

Re-running on the same output directory resumes: finished documents are not run again, interrupted ones
continue from their last checkpoint, and records already written are not written twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from autodata.context import RunContext
from autodata.documents import Document, Skipped
from autodata.graphs.self_instruct import build_graph
from autodata.llm import summarize_calls
from autodata.records import AcceptedRecord, JsonlWriter, RejectedRecord, Source

FINISHED = ("accepted", "exhausted", "failed")
Progress = Callable[[dict[str, Any]], None]


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

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.documents and self.items_solved == 0:
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


async def run_pool(items: Iterable[Any], concurrency: int, work: Callable[[Any], Awaitable[None]]) -> None:
    """``concurrency`` workers pulling from one iterator: memory does not grow with the number of items."""
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # the event loop is single-threaded, so next() is never concurrent
            await work(item)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))


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
    if values.get("accepted"):
        summary.accepted += 1


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
    (out_dir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2), encoding="utf-8")
    return summary


def write_records(
    values: dict[str, Any], tid: str, models: dict[str, str], accepted: JsonlWriter, rejected: JsonlWriter
) -> None:
    for record in rejected_records(values, tid):
        rejected.write(record)
    if values.get("accepted"):
        accepted.write(accepted_record(values, models))


def document_input(doc: Document) -> dict[str, Any]:
    """The graph input of one work unit (a document or one of its sections)."""
    payload: dict[str, Any] = {"document": doc.text, "source": doc.path}
    if getattr(doc, "span", None):
        payload["span"] = list(doc.span)
    return payload


def thread_id(doc: Document) -> str:
    return f"doc-{doc.id}"


def accepted_record(values: dict[str, Any], models: dict[str, str]) -> AcceptedRecord:
    """``models``: the configured model per role, overridden by the models the calls really used."""
    acc = values["accepted"]
    used = {call["role"]: call["model"] for call in values.get("calls", [])}
    return AcceptedRecord(**{**acc, "source": Source(**acc["source"]), "models": {**models, **used}})


def rejected_records(values: dict[str, Any], tid: str) -> list[RejectedRecord]:
    records = []
    for r in values.get("rounds", []):
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
                    {"index": s["index"], "reason": s["reason"], "feedback": s["feedback"]}
                    for s in r["screenings"]
                ],
            )
        )
    return records


class Runner:
    def __init__(
        self,
        out_dir: str | Path,
        context: RunContext,
        concurrency: int = 1,
        progress: Progress | None = None,
        graph_builder: Callable[[Any], Any] = build_graph,
        reviewer: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ):
        """``graph_builder(checkpointer)`` compiles the per-document graph (default: the inner loop,
        ``autodata.graphs.self_instruct.build_graph``; the CoT baseline passes its own).
        ``reviewer(payload) -> decision`` answers human-review interrupts (``RunContext.review``); a decision
        ``{"defer": True}`` leaves the item pending for a later run."""
        self.out_dir = Path(out_dir)
        self.graph_builder = graph_builder
        self.context = context
        self.concurrency = max(1, concurrency)
        self.progress = progress or (lambda event: None)
        self.accepted = JsonlWriter(self.out_dir / "accepted.jsonl")
        self.rejected = JsonlWriter(self.out_dir / "rejected.jsonl")
        self.reviewer = reviewer
        self._write_lock = asyncio.Lock()
        self._review_lock = asyncio.Lock()

    async def _review(self, snapshot) -> dict[str, Any] | None:
        """The reviewer's decision for a pending review interrupt, or None (nothing to resume with)."""
        pending = [
            i.value
            for task in snapshot.tasks
            for i in task.interrupts
            if isinstance(i.value, dict) and i.value.get("kind") == "review"
        ]
        if not pending or self.reviewer is None:
            return None
        async with self._review_lock:  # one question on the terminal at a time
            decision = await asyncio.to_thread(self.reviewer, pending[0])
        return None if decision.get("defer") else decision

    def _doc_context(self, doc: Document) -> RunContext:
        if doc.mode and doc.mode != self.context.mode:
            return dataclasses.replace(self.context, mode=doc.mode, preset=None)
        return self.context

    async def _run_document(self, graph, doc: Document, models: dict[str, str]) -> dict[str, Any]:
        tid = thread_id(doc)
        config = {
            "configurable": {"thread_id": tid},
            "run_name": f"{getattr(graph, 'name', None) or 'self_instruct'}:{Path(doc.path).name}",
            "metadata": {"source": doc.path, "thread_id": tid},
        }
        snapshot = await graph.aget_state(config)
        values = snapshot.values or {}
        if values.get("status") in FINISHED and not snapshot.next:
            self.progress({"event": "skip", "source": doc.path, "status": values["status"]})
        else:
            graph_input = None if snapshot.next else document_input(doc)
            self.progress({"event": "start", "source": doc.path, "resumed": bool(snapshot.next)})
            while True:
                async for chunk in graph.astream(
                    graph_input, config, context=self._doc_context(doc), stream_mode="custom"
                ):
                    self.progress(chunk)
                snapshot = await graph.aget_state(config)
                decision = await self._review(snapshot)
                if decision is None:
                    break
                graph_input = Command(resume=decision)
            values = snapshot.values
        async with self._write_lock:
            write_records(values, tid, models, self.accepted, self.rejected)
        self.progress({"event": "done", "source": doc.path, "status": values.get("status")})
        return values

    async def run(self, documents: list[Document], skipped: list[Skipped] | None = None) -> RunSummary:
        started = time.monotonic()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        summary = RunSummary(
            out_dir=str(self.out_dir),
            documents=len(documents),
            skipped=[{"path": s.path, "reason": s.reason} for s in skipped or []],
        )
        models = self.context.registry().describe()
        reasons: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        async with AsyncSqliteSaver.from_conn_string(str(self.out_dir / "checkpoints.sqlite")) as saver:
            graph = self.graph_builder(saver)

            async def guarded(doc: Document) -> None:
                try:
                    values = await self._run_document(graph, doc, models)
                except Exception as exc:  # one bad document never stops the run
                    summary.errors.append({"path": doc.path, "error": f"{type(exc).__name__}: {exc}"})
                    self.progress({"event": "error", "source": doc.path, "error": str(exc)})
                    return
                tally(summary, values, statuses, reasons)

            await run_pool(documents, self.concurrency, guarded)
        return finish_summary(summary, self.out_dir, started, statuses, reasons)
