"""Where an in-process run keeps its LangGraph checkpoints: SQLite in the run directory (the default) or a
PostgreSQL database shared by several worker processes (``--checkpointer postgres://...``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

POSTGRES_SCHEMES = ("postgres://", "postgresql://")
SETUP_LOCK = 0x6175746F64617461  # pg_advisory_lock key ("autodata"): one worker creates the tables at a time


def is_postgres(spec: str | None) -> bool:
    return bool(spec) and spec.startswith(POSTGRES_SCHEMES)


def describe(spec: str | None) -> str:
    """The spec with any password masked, for messages and run.json."""
    if not is_postgres(spec):
        return spec or "sqlite"
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(spec)
    if parts.password is None:
        return spec
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def open_checkpointer(spec: str | None, out_dir: Path) -> AsyncIterator[Any]:
    """A LangGraph async checkpoint saver: ``None``/``"sqlite"`` -> ``out_dir/checkpoints.sqlite``;
    ``postgres://...``/``postgresql://...`` -> ``AsyncPostgresSaver`` (tables created if missing)."""
    if spec in (None, "", "sqlite"):
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(str(Path(out_dir) / "checkpoints.sqlite")) as saver:
            await saver.setup()  # WAL mode; then no fsync per checkpoint (still safe against kill -9)
            await saver.conn.execute("PRAGMA synchronous=NORMAL")
            yield saver
        return
    if not is_postgres(spec):
        raise ValueError(f"unknown checkpointer {spec!r}: use 'sqlite' or a postgres:// URL")
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "the Postgres checkpointer needs `pip install 'autodata[postgres]'` "
            "(langgraph-checkpoint-postgres, psycopg[binary])"
        ) from exc
    async with AsyncPostgresSaver.from_conn_string(spec) as saver:
        async with saver.conn.cursor() as cur:  # concurrent CREATE TABLE IF NOT EXISTS can still collide
            await cur.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            await saver.setup()
        finally:
            async with saver.conn.cursor() as cur:
                await cur.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield saver


async def checkpointed_threads(saver: Any) -> frozenset[str] | None:
    """The thread ids that have a checkpoint, read in one query where that is known up front: SQLite, whose
    run directory has one writer. None otherwise (Postgres workers write while this one runs; other savers):
    then each unit's state is read when it starts."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    if not isinstance(saver, AsyncSqliteSaver):
        return None
    async with saver.conn.execute("SELECT DISTINCT thread_id FROM checkpoints") as cursor:
        return frozenset(str(row[0]) for row in await cursor.fetchall())
