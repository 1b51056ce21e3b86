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
from autodata.run.checkpointers import is_postgres
from autodata.run.claims import run_id


class StatusError(ValueError):
    """The status cannot be read as asked (a Postgres run without its URL)."""


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


async def _states(graph: Any, threads: list[str], prefix: str = "") -> list[dict[str, Any]]:
    states = []
    for tid in threads:
        snapshot = await graph.aget_state({"configurable": {"thread_id": prefix + tid}})
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


async def _sqlite_thread_states(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        threads = [row[0] for row in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")]
    async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
        return await _states(build_graph(saver), threads)


async def _postgres_thread_states(url: str, run: str) -> list[dict[str, Any]]:
    """The run's units as its workers claimed them (``autodata.run.claims``), each with its checkpoint state
    and who holds or last held it."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    conn = await AsyncConnection.connect(url, autocommit=True)
    async with conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT to_regclass('autodata_claims') AS t")
        if (await cur.fetchone())["t"] is None:
            return []
        await cur.execute("SELECT * FROM autodata_claims WHERE run_id = %s ORDER BY unit", (run,))
        claims = await cur.fetchall()
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        states = await _states(build_graph(saver), [c["unit"] for c in claims], prefix=f"{run}/")
    for state, claim in zip(states, claims, strict=True):
        state["worker"] = claim["worker"]
        state["held"] = claim["finished_at"] is None  # by a live worker, or a dead one until it goes stale
        state["takeovers"] = claim["takeovers"]
    return states


def run_status(out_dir: str | Path, checkpointer: str | None = None) -> dict[str, Any]:
    """What the run in ``out_dir`` has done. A run kept in Postgres (``generate --checkpointer
    postgres://...``) needs the same URL here: run.json only records it with the password masked."""
    out = Path(out_dir)
    if not (out / "run.json").exists() and not (out / "checkpoints.sqlite").exists():
        raise FileNotFoundError(f"{out} is not an autodata run directory (no run.json or checkpoints.sqlite)")
    settings = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    recorded = settings.get("checkpointer")
    if checkpointer is None and is_postgres(recorded):
        raise StatusError(
            f"this run keeps its checkpoints in Postgres ({recorded}): pass the same URL with "
            "--checkpointer postgres://..."
        )
    if is_postgres(checkpointer):
        if not (out / "run_id").exists():
            raise StatusError(f"{out} has no run_id: no worker has started it with a Postgres checkpointer")
        threads = asyncio.run(_postgres_thread_states(checkpointer, run_id(out)))
    elif (out / "checkpoints.sqlite").exists():
        threads = asyncio.run(_sqlite_thread_states(out / "checkpoints.sqlite"))
    else:
        threads = []
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
