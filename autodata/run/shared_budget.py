"""One budget for all the workers of a run kept in Postgres (``generate --checkpointer postgres://...``).

Each worker counts its own spend in its :class:`~autodata.llm.accounting.Budget` (no database round trip per
call); every ``interval`` seconds it adds what it spent since the last sync to the run's row in
``autodata_budget`` and reads the run's total back, which the budget then counts as spent by the others.
The limits therefore hold run-wide, up to what the workers spend within one interval (requests already in
flight may overshoot a token or dollar limit slightly, as in a single process).

The row keeps the run's total across invocations: a worker started later sees what was spent before, and
the same command with a higher budget continues the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from autodata.llm.accounting import Budget
from autodata.run.claims import cancel, connect_with_table

SCHEMA = """
CREATE TABLE IF NOT EXISTS autodata_budget (
    run_id text PRIMARY KEY,
    calls bigint NOT NULL DEFAULT 0,
    tokens bigint NOT NULL DEFAULT 0,
    usd double precision NOT NULL DEFAULT 0
)
"""

ADD = """
INSERT INTO autodata_budget AS b (run_id, calls, tokens, usd) VALUES (%(run)s, %(calls)s, %(tokens)s, %(usd)s)
ON CONFLICT (run_id) DO UPDATE SET
    calls = b.calls + EXCLUDED.calls, tokens = b.tokens + EXCLUDED.tokens, usd = b.usd + EXCLUDED.usd
RETURNING b.calls, b.tokens, b.usd
"""


class SharedBudget:
    """``async with SharedBudget(url, run, budget):`` keeps ``budget``'s view of the others' spend
    current while the run works."""

    def __init__(self, conn_string: str, run: str, budget: Budget, interval: float = 1.0):
        self.conn_string = conn_string
        self.run = run
        self.budget = budget
        self.interval = interval
        self.pushed = {"calls": 0, "tokens": 0, "usd": 0.0}
        self.conn: Any = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> SharedBudget:
        self.conn = await connect_with_table(self.conn_string, SCHEMA)
        await self.sync()  # what earlier workers and invocations spent counts from the first call
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel(self._task)
        try:
            # this worker's last spend reaches the run's total; if the database is gone by now, the
            # records are written all the same and only the other workers' view of the spend lags
            with contextlib.suppress(Exception):
                await self.sync()
        finally:
            with contextlib.suppress(Exception):
                await self.conn.close()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            with contextlib.suppress(Exception):  # a missed sync only delays what the others see
                await self.sync()

    async def sync(self) -> None:
        own = {"calls": self.budget.calls, "tokens": self.budget.tokens, "usd": self.budget.usd}
        delta = {key: own[key] - self.pushed[key] for key in own}
        cur = await self.conn.execute(ADD, {"run": self.run, **delta})
        calls, tokens, usd = await cur.fetchone()
        self.pushed = own
        self.budget.others_calls = int(calls) - own["calls"]
        self.budget.others_tokens = int(tokens) - own["tokens"]
        self.budget.others_usd = float(usd) - own["usd"]
