"""Response cache: a completed LLM call is never paid for twice (resume after a crash, re-runs).

Keyed by role, model, sampling settings, the full prompt and the sample index, so the k samples of one
prompt stay k different answers. Stored in SQLite inside the run directory.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage


def cache_key(role: str, model: str, messages: list[BaseMessage], sample: int, extra: dict[str, Any]) -> str:
    payload = {
        "role": role,
        "model": model,
        "sample": sample,
        "extra": extra,
        "messages": [
            [m.type, m.content if isinstance(m.content, str) else json.dumps(m.content)] for m in messages
        ],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class ResponseCache:
    """Opened on first use: a run that stops before any call (a failed endpoint check, a bad argument)
    leaves no run directory behind."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.hits = 0

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        """The open database; None while it does not exist and ``create`` is false (call under the lock)."""
        if self._conn is None and (create or self.path.exists()):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed reply survives the process being killed (only an OS crash may lose
            # the last few), without an fsync per call
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, content TEXT, tool_calls TEXT, "
                "input_tokens INTEGER, output_tokens INTEGER)"
            )
            self._conn = conn
        return self._conn

    def get(self, key: str) -> AIMessage | None:
        with self._lock:
            conn = self._connection(create=False)
            row = (
                conn.execute(
                    "SELECT content, tool_calls, input_tokens, output_tokens FROM responses WHERE key = ?",
                    (key,),
                ).fetchone()
                if conn is not None
                else None
            )
        if row is None:
            return None
        self.hits += 1
        content, tool_calls, tokens_in, tokens_out = row
        return AIMessage(
            content=content,
            tool_calls=json.loads(tool_calls or "[]"),
            usage_metadata={
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
            response_metadata={"cached": True},
        )

    def put(self, key: str, reply: AIMessage) -> None:
        usage = reply.usage_metadata or {}
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        with self._lock:
            conn = self._connection(create=True)
            assert conn is not None
            conn.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (
                    key,
                    content,
                    json.dumps(reply.tool_calls or []),
                    int(usage.get("input_tokens", 0) or 0),
                    int(usage.get("output_tokens", 0) or 0),
                ),
            )

    def __len__(self) -> int:
        with self._lock:
            conn = self._connection(create=False)
            return conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] if conn is not None else 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
