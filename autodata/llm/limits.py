"""Per-endpoint request limits: parallel requests, requests per minute, tokens per minute.

One limiter per endpoint (base URL), shared by every role that uses it, so an endpoint is kept busy but
never flooded. ``429 Retry-After`` is honoured by the retry loop in :mod:`autodata.llm.calls`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from contextlib import asynccontextmanager

DRAIN_FIRST = ("judge", "strong_solver", "weak_solver", "verifier", "orchestrator", "challenger")
"""Who is served first when requests wait for a busy endpoint: the roles of a round in reverse order, so the
rounds already started finish before a challenger call starts another (other roles, e.g. the
meta-optimizer's, come last). Round-robin instead kept every unit's round half done when the demo's 3
documents shared one CPU server."""


Priority = tuple[int, int]


def _priority(role: str | None, defer: int = 0) -> Priority:
    """Role order first (DRAIN_FIRST), then ``defer``: among challengers, a unit whose recent rounds all
    failed screening waits behind units whose rounds reach the solvers (nodes/routing.py:
    rounds_screened_out). On one CPU, the demo's rule text took 4 of its 11 rounds' challenger calls and
    never reached a solver."""
    return (DRAIN_FIRST.index(role) if role in DRAIN_FIRST else len(DRAIN_FIRST), defer)


DEFER_GRACE = 0.5
"""Seconds a free slot waits for a request that is not deferred before it serves a deferred one."""


class PrioritySlots:
    """A semaphore whose waiters are served by priority (lower first), then in arrival order.

    A deferred waiter (``defer`` > 0, :func:`_priority`) is served only once a slot has stayed free for
    ``grace`` seconds with nobody else waiting: a unit between two calls of its round asks again within
    milliseconds, and a deferred challenger call served in that gap held the one CPU for its 20 s."""

    def __init__(self, size: int, grace: float = DEFER_GRACE):
        self._free = size
        self._waiters: list[tuple[Priority, int, asyncio.Future]] = []
        self._arrivals = itertools.count()
        self._grace = grace
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, priority: Priority = (0, 0)) -> None:
        granted = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), granted))
        self._dispatch()
        try:
            await granted  # returns at once when _dispatch granted it
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():  # handed a slot just as it was cancelled
                self.release()
            raise

    def release(self) -> None:
        self._free += 1
        self._dispatch()

    def _dispatch(self, grace_over: bool = False) -> None:
        while self._free > 0 and self._waiters:
            priority, _, granted = self._waiters[0]
            if granted.done():  # a cancelled waiter is skipped
                heapq.heappop(self._waiters)
                continue
            if priority[1] > 0 and not grace_over and self._grace > 0:
                if self._timer is None:
                    self._timer = asyncio.get_running_loop().call_later(self._grace, self._grace_over)
                return
            heapq.heappop(self._waiters)
            self._free -= 1
            granted.set_result(None)
            if self._timer is not None:  # the slot was taken: a new free spell starts a new grace
                self._timer.cancel()
                self._timer = None

    def _grace_over(self) -> None:
        self._timer = None
        self._dispatch(grace_over=True)


class EndpointLimiter:
    def __init__(
        self,
        max_parallel: int | None = None,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock=time.monotonic,
        defer_grace: float = DEFER_GRACE,
    ):
        self.max_parallel = max_parallel
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._slots = PrioritySlots(max_parallel, defer_grace) if max_parallel else None
        self._clock = clock
        self._starts: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._lock = asyncio.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0

    def _prune(self, now: float) -> None:
        while self._starts and now - self._starts[0] >= 60:
            self._starts.popleft()
        while self._tokens and now - self._tokens[0][0] >= 60:
            self._tokens.popleft()

    def _wait_time(self, now: float) -> float:
        self._prune(now)
        waits = [0.0]
        if self.requests_per_minute and len(self._starts) >= self.requests_per_minute:
            waits.append(60 - (now - self._starts[0]))
        if (
            self.tokens_per_minute
            and self._tokens
            and sum(t for _, t in self._tokens) >= self.tokens_per_minute
        ):
            waits.append(60 - (now - self._tokens[0][0]))
        return max(waits)

    async def _admit(self) -> None:
        async with self._lock:  # requests are admitted in arrival order
            while (wait := self._wait_time(self._clock())) > 0:
                await asyncio.sleep(wait)
            self._starts.append(self._clock())

    @asynccontextmanager
    async def slot(self, role: str | None = None, defer: int = 0):
        """Hold one of the endpoint's request slots; ``role``, then ``defer``, decide the order of waiters
        (DRAIN_FIRST, :func:`_priority`)."""
        if self._slots is not None:
            await self._slots.acquire(_priority(role, defer))
        try:
            if self.requests_per_minute or self.tokens_per_minute:  # else there is nothing to wait for
                await self._admit()
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1
        finally:
            if self._slots is not None:
                self._slots.release()

    def record_tokens(self, tokens: int) -> None:
        if self.tokens_per_minute and tokens:
            self._tokens.append((self._clock(), tokens))
