"""Run the inner graph over documents: one thread per document, SQLite checkpoints, JSONL outputs.

Re-running on the same output directory resumes: finished documents are not run again, interrupted ones
continue from their last checkpoint, and records already written are not written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from langgraph.types import Command, Durability

from autodata.core.context import RunContext
from autodata.data.documents import Document, Skipped
from autodata.graphs.self_instruct import build_graph
from autodata.llm.accounting import BudgetExhausted
from autodata.llm.models import registry_of
from autodata.local.server import LocalServerCrashed
from autodata.run.checkpointers import checkpointed_threads, is_postgres, open_checkpointer
from autodata.run.summary import FINISHED, RunSummary, finish_summary, tally
from autodata.run.unit_records import open_writers, write_records

Progress = Callable[[dict[str, Any]], None]


async def run_pool(items: Iterable[Any], concurrency: int, work: Callable[[Any], Awaitable[None]]) -> None:
    """``concurrency`` workers pulling from one iterator: memory does not grow with the number of items."""
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # the event loop is single-threaded, so next() is never concurrent
            await work(item)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))


def document_input(doc: Document) -> dict[str, Any]:
    """The graph input of one work unit (a document or one of its sections)."""
    payload: dict[str, Any] = {"document": doc.text, "source": doc.path}
    if getattr(doc, "span", None):
        payload["span"] = list(doc.span)
    return payload


def thread_id(doc: Document) -> str:
    return f"doc-{doc.id}"


class Runner:
    def __init__(
        self,
        out_dir: str | Path,
        context: RunContext,
        concurrency: int = 1,
        progress: Progress | None = None,
        graph_builder: Callable[[Any], Any] = build_graph,
        reviewer: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        checkpointer: str | None = None,
        stale_after: float = 60.0,
        durability: Durability | None = None,
    ):
        """``graph_builder(checkpointer)`` compiles the per-document graph (default: the inner loop,
        ``autodata.graphs.self_instruct.build_graph``; the CoT baseline passes its own).
        ``reviewer(payload) -> decision`` answers human-review interrupts (``RunContext.review``); a decision
        ``{"defer": True}`` leaves the item pending for a later run.
        ``checkpointer``: None/"sqlite" (``out_dir/checkpoints.sqlite``) or a ``postgres://`` URL; with
        Postgres, several worker processes may run the same run directory at once: each unit is claimed in
        ``autodata_claims`` (``autodata.run.claims``) and a worker silent for ``stale_after`` s is taken over.
        ``durability``: when a unit's state reaches the checkpointer (LangGraph's ``durability``). Default:
        ``"exit"`` (once, when the unit's graph run ends, stops or is interrupted) when the registry has a
        response cache, since a unit cut off mid-run then replays its finished calls from the cache for
        free; else LangGraph's ``"async"`` (every superstep)."""
        self.out_dir = Path(out_dir)
        self.graph_builder = graph_builder
        self.context = context
        self.concurrency = max(1, concurrency)
        self.progress = progress or (lambda event: None)
        self.accepted, self.rejected, self.dedup = open_writers(
            self.out_dir, getattr(context, "dedup_threshold", None)
        )
        if self.dedup is not None and getattr(context, "duplicates", "n/a") is None:
            # candidates are checked against the run's accepted items before solving (nodes/verifier.py)
            self.context = dataclasses.replace(context, duplicates=self.dedup)
        self.reviewer = reviewer
        self.stopped: str | None = None  # set when the budget runs out: no new unit is started
        self.checkpointer = checkpointer
        self.stale_after = stale_after
        self._thread_prefix = ""  # "<run id>/" with Postgres: one database may hold many runs
        self._write_lock = asyncio.Lock()
        self._review_lock = asyncio.Lock()
        self.durability = durability
        self._checkpointed: frozenset[str] | None = None
        """Thread ids with a checkpoint when the run started, where the saver can tell (SQLite)."""

    def _durability(self) -> Durability:
        if self.durability is not None:
            return self.durability
        return "exit" if registry_of(self.context).cache is not None else "async"

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
            "configurable": {"thread_id": self._thread_prefix + tid},
            "run_name": f"{getattr(graph, 'name', None) or 'self_instruct'}:{Path(doc.path).name}",
            "metadata": {"source": doc.path, "thread_id": tid},
        }
        thread = config["configurable"]["thread_id"]
        unseen = self._checkpointed is not None and thread not in self._checkpointed
        snapshot = None if unseen else await graph.aget_state(config)  # an unseen unit has no state to read
        values = (snapshot.values or {}) if snapshot is not None else {}
        resumed = snapshot is not None and bool(snapshot.next)
        if values.get("status") in FINISHED and not resumed:
            self.progress({"event": "skip", "source": doc.path, "status": values["status"]})
        else:
            graph_input = None if resumed else document_input(doc)
            self.progress({"event": "start", "source": doc.path, "resumed": resumed})
            while True:
                last: dict[str, Any] | None = None
                async for mode, chunk in graph.astream(
                    graph_input,
                    config,
                    context=self._doc_context(doc),
                    stream_mode=["custom", "values"],
                    durability=self._durability(),
                ):
                    if mode == "custom":
                        self.progress(chunk)
                    else:
                        last = chunk
                if self.reviewer is None and last is not None:
                    values = last  # the state the run ended with: no interrupt to answer, nothing to read
                    break
                snapshot = await graph.aget_state(config)
                values = snapshot.values
                decision = await self._review(snapshot)
                if decision is None:
                    break
                graph_input = Command(resume=decision)
        async with self._write_lock:
            write_records(values, tid, models, self.accepted, self.rejected, self.dedup)
        self.progress({"event": "done", "source": doc.path, "status": values.get("status")})
        return values

    async def _record_stopped(self, graph, doc: Document, models: dict[str, str]) -> dict[str, Any]:
        """A unit the budget stopped: write the rounds it finished (stable ids: a resumed run does not write
        them again); a later run continues from its checkpoint."""
        tid = thread_id(doc)
        snapshot = await graph.aget_state({"configurable": {"thread_id": self._thread_prefix + tid}})
        values = dict(snapshot.values or {})
        async with self._write_lock:
            write_records(values, tid, models, self.accepted, self.rejected, self.dedup)
        self.progress({"event": "stopped", "source": doc.path, "reason": self.stopped})
        return values

    @contextlib.asynccontextmanager
    async def _claims(self):
        """Work claims shared with other workers: only with a Postgres checkpointer (else None); a limited
        budget is then shared by the run's workers too."""
        if not is_postgres(self.checkpointer):
            yield None
            return
        from autodata.run.claims import ClaimTable, run_id

        run = run_id(self.out_dir)
        self._thread_prefix = f"{run}/"
        budget = registry_of(self.context).budget
        async with contextlib.AsyncExitStack() as stack:
            claims = await stack.enter_async_context(
                ClaimTable(self.checkpointer, run, stale_after=self.stale_after)
            )
            if budget is not None and budget.limited:  # one budget for all the run's workers
                from autodata.run.shared_budget import SharedBudget

                await stack.enter_async_context(SharedBudget(self.checkpointer, run, budget))
            yield claims

    async def run(self, documents: list[Document], skipped: list[Skipped] | None = None) -> RunSummary:
        started = time.monotonic()
        summary = RunSummary.begin(self.out_dir, documents, skipped)
        models = registry_of(self.context).describe()
        reasons: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        async with open_checkpointer(self.checkpointer, self.out_dir) as saver, self._claims() as claims:
            graph = self.graph_builder(saver)
            self._checkpointed = await checkpointed_threads(saver)
            busy: list[Document] = []
            crashes: list[LocalServerCrashed] = []

            async def guarded(doc: Document, wait: bool = False) -> None:
                if self.stopped:  # the budget ran out: start nothing new
                    return
                if claims is not None and not await claims.claim(thread_id(doc), wait=wait):
                    busy.append(doc)  # another live worker has it: come back when it is released
                    self.progress({"event": "busy", "source": doc.path})
                    return
                values: dict[str, Any] = {"status": "error"}
                try:
                    values = await self._run_document(graph, doc, models)
                except (BudgetExhausted, LocalServerCrashed) as exc:  # the unit stays resumable
                    if isinstance(exc, LocalServerCrashed):  # no call can succeed: stop, then raise it
                        crashes.append(exc)
                        self.stopped = summary.stopped = str(exc).splitlines()[0]
                    else:
                        self.stopped = summary.stopped = f"budget reached: {exc}"
                    values = await self._record_stopped(graph, doc, models)
                    tally(summary, values, Counter(), reasons)  # its calls and finished rounds so far
                    return
                except Exception as exc:  # one bad document never stops the run
                    summary.errors.append({"path": doc.path, "error": f"{type(exc).__name__}: {exc}"})
                    self.progress({"event": "error", "source": doc.path, "error": str(exc)})
                    return
                finally:
                    if claims is not None:  # if this fails, the claim goes stale and is taken over
                        with contextlib.suppress(Exception):
                            await claims.release(thread_id(doc), values.get("status"))
                tally(summary, values, statuses, reasons)

            await run_pool(documents, self.concurrency, guarded)
            if busy:  # wait for the other workers (or their claims going stale), then read them back
                await run_pool(list(busy), self.concurrency, lambda doc: guarded(doc, wait=True))
        finish_summary(summary, self.out_dir, started, statuses, reasons)
        if crashes:  # after summary.json is written: the command ends with this error (non-zero exit)
            raise crashes[0]
        return summary
