"""Plain functions as coroutine functions, for the graphs' nodes and edges.

LangGraph runs every call of a plain (non-async) node or routing function in a thread pool: a thread hop,
a context copy and a GIL hand-off each time, for code (routing, deciding) that takes microseconds. Wrapped
here, they run on the event loop's thread; LangGraph still sees the function's own signature and type
hints (``functools.wraps``), so the runtime is injected and the schemas are inferred as before.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def on_loop(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(func)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return func(*args, **kwargs)

    return run
