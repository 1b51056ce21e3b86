"""``autodata status DIR``: what a run (running or finished) has done so far, read from its files and
checkpoints, without touching any model."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from autodata.graphs.self_instruct import build_graph


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


async def _thread_states(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        threads = [row[0] for row in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")]
    states = []
    async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
        graph = build_graph(saver)
        for tid in threads:
            snapshot = await graph.aget_state({"configurable": {"thread_id": tid}})
            values = snapshot.values or {}
            states.append(
                {
                    "thread_id": tid,
                    "source": values.get("source", "?"),
                    "status": values.get("status", "starting")
                    if snapshot.next or values.get("status")
                    else "starting",
                    "round": values.get("round"),
                    "waiting_for": list(snapshot.next),
                    "calls": len(values.get("calls", [])),
                }
            )
    return states


def run_status(out_dir: str | Path) -> dict[str, Any]:
    out = Path(out_dir)
    if not (out / "run.json").exists() and not (out / "checkpoints.sqlite").exists():
        raise FileNotFoundError(f"{out} is not an autodata run directory (no run.json or checkpoints.sqlite)")
    settings = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    threads = (
        asyncio.run(_thread_states(out / "checkpoints.sqlite"))
        if (out / "checkpoints.sqlite").exists()
        else []
    )
    return {
        "run": str(out),
        "settings": settings,
        "threads": threads,
        "by_status": dict(Counter(t["status"] for t in threads)),
        "accepted_records": _count_lines(out / "accepted.jsonl"),
        "rejected_records": _count_lines(out / "rejected.jsonl"),
        "finished": summary is not None and not any(t["status"] in ("running", "starting") for t in threads),
        "last_summary": summary,
    }
