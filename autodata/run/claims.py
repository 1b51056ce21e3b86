"""Work claiming for several worker processes sharing one run through a Postgres checkpointer.

One row per (run, unit) in ``autodata_claims``, in the checkpointer's database. A worker runs a unit only
while it holds the claim: it takes a free unit (never claimed, or released by whoever ran it last) or a
stale one (its holder sent no heartbeat for ``stale_after`` seconds: the process died), and releases it
when it is done with it. Released units stay claimable: the next holder finds the finished checkpoint and
only reads it back, so nothing is paid for twice. Every timestamp is the database's ``now()``, so the
workers' clocks do not matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS autodata_claims (
    run_id text NOT NULL,
    unit text NOT NULL,
    worker text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text,
    claims integer NOT NULL DEFAULT 1,
    takeovers integer NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, unit)
)
"""

CLAIM = """
INSERT INTO autodata_claims AS c (run_id, unit, worker) VALUES (%(run)s, %(unit)s, %(worker)s)
ON CONFLICT (run_id, unit) DO UPDATE SET
    worker = EXCLUDED.worker, claimed_at = now(), heartbeat_at = now(), finished_at = NULL, status = NULL,
    claims = c.claims + 1,
    takeovers = c.takeovers
        + (CASE WHEN c.finished_at IS NULL AND c.worker <> EXCLUDED.worker THEN 1 ELSE 0 END)
WHERE c.finished_at IS NOT NULL OR c.worker = EXCLUDED.worker
   OR c.heartbeat_at < now() - make_interval(secs => %(stale)s)
RETURNING c.worker
"""

RELEASE = """
UPDATE autodata_claims SET finished_at = now(), status = %(status)s
WHERE run_id = %(run)s AND unit = %(unit)s AND worker = %(worker)s AND finished_at IS NULL
"""

HEARTBEAT = "UPDATE autodata_claims SET heartbeat_at = now() WHERE worker = %s AND finished_at IS NULL"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_id(out_dir: Path) -> str:
    """The run's id, kept in ``out_dir/run_id``: every worker pointed at the same directory gets the same id
    (whatever path it is mounted at), and a fresh directory starts a fresh run in a shared database."""
    path = Path(out_dir) / "run_id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".run_id.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(uuid.uuid4().hex + "\n", encoding="utf-8")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic, complete content: the first worker's id wins
        tmp.unlink()
    return path.read_text(encoding="utf-8").strip()


async def connect_with_table(conn_string: str, schema: str) -> Any:
    """An autocommit connection to the run's database, ``schema`` (CREATE TABLE IF NOT EXISTS) applied
    by one worker at a time: concurrent creations of the same table can collide."""
    from psycopg import AsyncConnection

    from autodata.run.checkpointers import SETUP_LOCK

    conn = await AsyncConnection.connect(conn_string, autocommit=True)
    async with conn.cursor() as cur:
        await cur.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            await cur.execute(schema)
        finally:
            await cur.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
    return conn


async def cancel(task: asyncio.Task | None) -> None:
    """Cancel a background task and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ClaimTable:
    """``async with ClaimTable(url, run) as claims``: ``await claims.claim(unit)`` -> held or not,
    ``await claims.release(unit, status)``; a background task sends the heartbeat for held units."""

    def __init__(self, conn_string: str, run: str, *, worker: str | None = None, stale_after: float = 60.0):
        self.conn_string = conn_string
        self.run = run
        self.worker = worker or worker_id()
        self.stale_after = float(stale_after)
        self.heartbeat_every = max(0.05, self.stale_after / 4)
        self.conn: Any = None
        self._heartbeat: asyncio.Task | None = None

    async def __aenter__(self) -> ClaimTable:
        self.conn = await connect_with_table(self.conn_string, SCHEMA)
        self._heartbeat = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel(self._heartbeat)
        await self.conn.close()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_every)
            with contextlib.suppress(Exception):  # a missed beat only matters after stale_after seconds
                await self.conn.execute(HEARTBEAT, (self.worker,))

    async def claim(self, unit: str, *, wait: bool = False) -> bool:
        """Take ``unit`` if it is free or stale. ``wait=True`` polls until it is (its holder releases it
        or dies); otherwise a unit held by a live worker returns False at once."""
        params = {"run": self.run, "unit": unit, "worker": self.worker, "stale": self.stale_after}
        while True:
            cur = await self.conn.execute(CLAIM, params)
            if await cur.fetchone() is not None:
                return True
            if not wait:
                return False
            await asyncio.sleep(min(1.0, self.heartbeat_every))

    async def release(self, unit: str, status: str | None) -> None:
        params = {"run": self.run, "unit": unit, "worker": self.worker, "status": status}
        await self.conn.execute(RELEASE, params)

    async def rows(self) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        async with self.conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM autodata_claims WHERE run_id = %s ORDER BY unit", (self.run,))
            return await cur.fetchall()
