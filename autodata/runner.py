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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from autodata.context import RunContext
from autodata.documents import Document, Skipped
from autodata.graphs.self_instruct import build_graph
from autodata.llm import CallRecord, summarize_calls
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


def thread_id(doc: Document) -> str:
    return f"doc-{doc.id}"


def accepted_record(values: dict[str, Any], models: dict[str, str]) -> AcceptedRecord:
    acc = values["accepted"]
    return AcceptedRecord(**{**acc, "source": Source(**acc["source"]), "models": models})


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
        self, out_dir: str | Path, context: RunContext, concurrency: int = 1, progress: Progress | None = None
    ):
        self.out_dir = Path(out_dir)
        self.context = context
        self.concurrency = max(1, concurrency)
        self.progress = progress or (lambda event: None)
        self.accepted = JsonlWriter(self.out_dir / "accepted.jsonl")
        self.rejected = JsonlWriter(self.out_dir / "rejected.jsonl")
        self._write_lock = asyncio.Lock()

    def _doc_context(self, doc: Document) -> RunContext:
        if doc.mode and doc.mode != self.context.mode:
            return dataclasses.replace(self.context, mode=doc.mode, preset=None)
        return self.context

    async def _run_document(self, graph, doc: Document, models: dict[str, str]) -> dict[str, Any]:
        tid = thread_id(doc)
        config = {
            "configurable": {"thread_id": tid},
            "run_name": f"self_instruct:{Path(doc.path).name}",
            "metadata": {"source": doc.path, "thread_id": tid},
        }
        snapshot = await graph.aget_state(config)
        values = snapshot.values or {}
        if values.get("status") in FINISHED and not snapshot.next:
            self.progress({"event": "skip", "source": doc.path, "status": values["status"]})
        else:
            graph_input = None if snapshot.next else {"document": doc.text, "source": doc.path}
            self.progress({"event": "start", "source": doc.path, "resumed": bool(snapshot.next)})
            async for chunk in graph.astream(
                graph_input, config, context=self._doc_context(doc), stream_mode="custom"
            ):
                self.progress(chunk)
            values = (await graph.aget_state(config)).values
        async with self._write_lock:
            for record in rejected_records(values, tid):
                self.rejected.write(record)
            if values.get("accepted"):
                self.accepted.write(accepted_record(values, models))
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
        semaphore = asyncio.Semaphore(self.concurrency)
        all_calls: list[CallRecord] = []
        reasons: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        async with AsyncSqliteSaver.from_conn_string(str(self.out_dir / "checkpoints.sqlite")) as saver:
            graph = build_graph(saver)

            async def guarded(doc: Document) -> None:
                async with semaphore:
                    try:
                        values = await self._run_document(graph, doc, models)
                    except Exception as exc:  # one bad document never stops the run
                        summary.errors.append({"path": doc.path, "error": f"{type(exc).__name__}: {exc}"})
                        self.progress({"event": "error", "source": doc.path, "error": str(exc)})
                        return
                statuses[values.get("status", "unknown")] += 1
                all_calls.extend(values.get("calls", []))
                for r in values.get("rounds", []):
                    summary.attempts += 1
                    summary.rounds += 1 if r["counted"] else 0
                    summary.items_solved += 1 if r["weak"] else 0
                    if r["reason"] != "accepted":
                        reasons[r["reason"]] += 1
                if values.get("accepted"):
                    summary.accepted += 1

            await asyncio.gather(*(guarded(d) for d in documents))
        summary.finished = dict(statuses)
        summary.rejections = dict(reasons.most_common())
        summary.calls = summarize_calls(all_calls)
        summary.wall_seconds = round(time.monotonic() - started, 1)
        (self.out_dir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2), encoding="utf-8")
        return summary
