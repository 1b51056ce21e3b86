"""Running a coroutine to completion from synchronous code (the CLI commands, the reward functions).

uvloop is used where it is installed (``AUTODATA_EVENT_LOOP=asyncio`` turns it off): the per-call CPU cost
of a run is mostly event-loop work, and uvloop's loop does it in C. When the coroutine ends, the loop is
shut down the standard way, which also closes the HTTP pools it opened (:mod:`autodata.http_clients`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when installed and not disabled, else None (the asyncio default)."""
    if os.environ.get("AUTODATA_EVENT_LOOP", "").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)
