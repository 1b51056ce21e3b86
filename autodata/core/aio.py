"""Running a coroutine to completion from synchronous code (the CLI commands, the reward functions).

uvloop is used where it is installed (``AUTODATA_EVENT_LOOP=asyncio`` turns it off): the per-call CPU cost
of a run is mostly event-loop work, and uvloop's loop does it in C. When the coroutine ends, the loop is
shut down the standard way, which also closes the HTTP pools it opened (:mod:`autodata.llm.http_clients`).
The first run of a process also tunes the garbage collector (:func:`tune_gc`).
"""

from __future__ import annotations

import asyncio
import gc
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


_gc_tuned = False


def tune_gc() -> None:
    """Once per process: the objects made so far (modules, classes, schemas: what the imports built) are
    frozen out of the cyclic collector's way, so its full passes stop walking them again and again, and the
    youngest generation is collected every 10,000 allocations instead of 700. A run allocates many
    short-lived objects per LLM call; with the defaults the collector cost about 10% of the CPU of a run at
    concurrency 64 (``python -m autodata.evals.benchmark``)."""
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.freeze()  # no collection first: it would take ~0.1 s, and after the imports nothing is garbage
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(10_000, older, oldest)


def run(coro: Coroutine[Any, Any, T]) -> T:
    tune_gc()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)
