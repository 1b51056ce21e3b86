"""What calls cost and what a run may spend: prices, the run budget, per-role totals."""

from __future__ import annotations

import time
from typing import Any

from autodata.core.records import CallRecord


def call_cost(settings: Any, input_tokens: int, output_tokens: int) -> float:
    """US dollars for the tokens at the role's prices (per million tokens)."""
    price_in = float(getattr(settings, "price_per_million_input", 0.0) or 0.0)
    price_out = float(getattr(settings, "price_per_million_output", 0.0) or 0.0)
    return (input_tokens * price_in + output_tokens * price_out) / 1_000_000


class BudgetExhausted(Exception):
    """A run budget (calls, tokens or dollars) is used up: never retried, never recorded as a failed call.
    It stops the graph run of its document (which stays resumable from its checkpoint)."""


class Budget:
    """Limits on what one run may spend, shared by every call through ``registry.budget``; without limits
    it only counts (requests, tokens, dollars, requests in flight).

    Checked before each request that is really sent (a cached replay costs nothing and is always allowed).
    ``max_calls`` is strict (a request slot is reserved before sending); tokens and dollars are only known
    after a reply, so requests already in flight when a limit is crossed may overshoot it slightly.
    """

    def __init__(
        self,
        max_calls: int | None = None,
        max_tokens: int | None = None,
        max_usd: float | None = None,
        max_seconds: float | None = None,
    ):
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.max_usd = max_usd
        self.max_seconds = max_seconds
        """Wall time of this invocation after which no new request is sent (a demo that must end)."""
        self.started = time.monotonic()
        self.calls = 0
        self.tokens = 0
        self.usd = 0.0
        self.in_flight = 0
        """Requests sent and not answered yet (for progress displays)."""
        self.others_calls = 0
        self.others_tokens = 0
        self.others_usd = 0.0
        """Spent by the other workers of a shared run (kept current by :mod:`autodata.run.shared_budget`)."""

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.max_calls, self.max_tokens, self.max_usd, self.max_seconds))

    def exceeded(self) -> str | None:
        """Which limit is used up (a message), or None."""
        calls, tokens, usd = (
            self.calls + self.others_calls,
            self.tokens + self.others_tokens,
            self.usd + self.others_usd,
        )
        if self.max_calls is not None and calls >= self.max_calls:
            return f"call budget of {self.max_calls} reached"
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return f"token budget of {self.max_tokens} reached ({tokens} used)"
        if self.max_usd is not None and usd >= self.max_usd:
            return f"budget of ${self.max_usd:.4f} reached (${usd:.4f} spent)"
        if self.max_seconds is not None and time.monotonic() - self.started >= self.max_seconds:
            return f"time budget of {self.max_seconds:.0f} s reached"
        return None

    def reserve(self) -> None:
        """Before a request: raise :class:`BudgetExhausted` if a limit is used up, else count the call."""
        problem = self.exceeded()
        if problem:
            raise BudgetExhausted(problem)
        self.calls += 1
        self.in_flight += 1

    def release(self) -> None:
        """After a request reserved with :meth:`reserve` was answered or failed."""
        self.in_flight = max(0, self.in_flight - 1)

    def charge(self, tokens: int, usd: float) -> None:
        self.tokens += tokens
        self.usd += usd

    def to_json(self) -> dict[str, Any]:
        return {
            "max_calls": self.max_calls,
            "max_tokens": self.max_tokens,
            "max_usd": self.max_usd,
            "max_seconds": self.max_seconds,
            "calls": self.calls,
            "tokens": self.tokens,
            "usd": round(self.usd, 6),
        }


def summarize_calls(
    calls: list[CallRecord], into: dict[str, dict[str, float]] | None = None
) -> dict[str, dict[str, float]]:
    """Per-role totals (calls, failed, cached, input/output tokens, seconds, cost_usd), added into
    ``into``. Records written before costs were tracked count as free."""
    out: dict[str, dict[str, float]] = {} if into is None else into
    for call in calls:
        row = out.setdefault(
            call["role"],
            {"calls": 0, "failed": 0, "cached": 0, "input_tokens": 0, "output_tokens": 0, "seconds": 0.0},
        )
        row.setdefault("cost_usd", 0.0)
        row["cost_usd"] = round(
            row["cost_usd"] + (0.0 if call.get("cached") else call.get("cost_usd", 0.0)), 8
        )
        row["calls"] += 1
        row["failed"] += 0 if call["ok"] else 1
        row["cached"] += 1 if call.get("cached") else 0
        row["input_tokens"] += call["input_tokens"]
        row["output_tokens"] += call["output_tokens"]
        row["seconds"] = round(row["seconds"] + call["seconds"], 3)
    return out
