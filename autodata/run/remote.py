"""Dispatch work units to a LangGraph API server (``autodata generate --server URL``).

Each document becomes a thread on the server (a deterministic thread id, so a second invocation finds it
again) and a run of the exported graph; at most ``concurrency`` runs are in flight. Results are collected
into the same run directory and files as an in-process run, and re-running resumes the same way:
finished threads are only read back, interrupted ones are continued.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from autodata.core.context import RunContext
from autodata.data.documents import Document, Skipped
from autodata.run.runner import Progress, document_input, run_pool
from autodata.run.summary import FINISHED, RunSummary, finish_summary, tally
from autodata.run.unit_records import open_writers, write_records

NAMESPACE = uuid.UUID("6f1d7c2e-0b7a-4c51-9a43-5c3e2f0d9b11")
CONTEXT_FIELDS = tuple(
    f.name for f in dataclasses.fields(RunContext) if f.name not in ("models", "duplicates")
)


def remote_thread_id(doc: Document, out_dir: Path) -> str:
    """Deterministic per run directory and document: the same command finds its threads again, and two
    runs over the same documents never share a thread."""
    return str(uuid.uuid5(NAMESPACE, f"{out_dir.resolve()}\x00doc-{doc.id}"))


def context_payload(context: RunContext, doc: Document) -> dict[str, Any]:
    """The JSON context of one run (the server builds its own models from profile/config/env)."""
    payload = {name: getattr(context, name) for name in CONTEXT_FIELDS}
    if doc.mode and doc.mode != context.mode:
        payload.update(mode=doc.mode, preset=None)
    return {k: v for k, v in payload.items() if v is not None}


class RemoteRunner:
    def __init__(
        self,
        url: str,
        out_dir: str | Path,
        context: RunContext,
        models: dict[str, str],
        concurrency: int = 4,
        progress: Progress | None = None,
        graph_id: str = "self_instruct",
    ):
        self.url = url
        self.out_dir = Path(out_dir)
        self.context = context
        self.models = models
        self.concurrency = max(1, concurrency)
        self.progress = progress or (lambda event: None)
        self.graph_id = graph_id
        self.accepted, self.rejected, self.dedup = open_writers(self.out_dir, context.dedup_threshold)

    async def _run_document(self, client, doc: Document) -> dict[str, Any]:
        tid = remote_thread_id(doc, self.out_dir)
        await client.threads.create(
            thread_id=tid, if_exists="do_nothing", metadata={"source": doc.path, "autodata_doc": doc.id}
        )
        state = await client.threads.get_state(tid)
        values = state.get("values") or {}
        pending = state.get("next") or []
        if isinstance(values, dict) and values.get("status") in FINISHED and not pending:
            self.progress({"event": "skip", "source": doc.path, "status": values["status"]})
        else:
            graph_input = None if pending else document_input(doc)
            self.progress({"event": "start", "source": doc.path, "resumed": bool(pending)})
            async for part in client.runs.stream(
                tid,
                self.graph_id,
                input=graph_input,
                context=context_payload(self.context, doc),
                stream_mode="custom",
                metadata={"source": doc.path},
            ):
                if part.event == "custom" and isinstance(part.data, dict):
                    self.progress(part.data)
                elif part.event == "error":
                    raise RuntimeError(f"server run failed: {part.data}")
            values = (await client.threads.get_state(tid)).get("values") or {}
        write_records(values, tid, self.models, self.accepted, self.rejected, self.dedup)
        self.progress({"event": "done", "source": doc.path, "status": values.get("status")})
        return values

    async def run(self, documents: list[Document], skipped: list[Skipped] | None = None) -> RunSummary:
        from langgraph_sdk import get_client

        started = time.monotonic()
        summary = RunSummary.begin(self.out_dir, documents, skipped)
        client = get_client(url=self.url)
        reasons: Counter[str] = Counter()
        statuses: Counter[str] = Counter()

        async def guarded(doc: Document) -> None:
            try:
                values = await self._run_document(client, doc)
            except Exception as exc:  # one failed unit never stops the run
                summary.errors.append({"path": doc.path, "error": f"{type(exc).__name__}: {exc}"})
                self.progress({"event": "error", "source": doc.path, "error": str(exc)})
                return
            tally(summary, values, statuses, reasons)

        await run_pool(documents, self.concurrency, guarded)
        return finish_summary(summary, self.out_dir, started, statuses, reasons)
