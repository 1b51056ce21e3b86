"""HTTP connection pools of the role models: one per event loop and endpoint, closed with their loop.

The OpenAI SDK's default transport (httpx) probes every idle keep-alive connection of the pool before each
request; with a hundred requests in flight that costs about a millisecond of CPU per call (measured with
``python -m autodata.evals.benchmark``). The SDK's aiohttp transport (``openai.DefaultAioHttpClient``) does
not, so it is the default (``http_client = "aiohttp"`` per role; ``"httpx"`` keeps the SDK's own client).

A pool belongs to the event loop that opened its connections, so pools are kept per running loop and
closed when that loop shuts down: ``asyncio.run``, ``asyncio.Runner``, pytest-asyncio and the ``langgraph
dev`` server all finalise the loop's async generators on shutdown, and each loop's pools are held by one
such generator whose ``finally`` closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from typing import Any

_lock = threading.Lock()


class _LoopPools:
    """The pools of one event loop, keyed by base URL."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.clients: dict[str | None, Any] = {}
        self._closer = self._close_at_shutdown()
        self._starting: asyncio.Task | None = loop.create_task(self._start())

    async def _close_at_shutdown(self):
        try:
            yield
        finally:
            await self.aclose()
            loop = running_loop()
            with _lock:
                if loop is not None and _pools.get(loop) is self:
                    del _pools[loop]  # the clients refer to their loop: keep neither once it is done

    async def _start(self) -> None:
        # first iteration registers the generator with the loop (asyncgen hooks), which finalises it on
        # shutdown; the strong reference in self._closer keeps it alive until then
        await self._closer.__anext__()
        self._starting = None  # no reference to the loop from here on: the pools die with the loop

    async def aclose(self) -> None:
        clients, self.clients = list(self.clients.values()), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = weakref.WeakKeyDictionary()


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def aiohttp_client(base_url: str | None) -> Any | None:
    """The running loop's aiohttp-backed client for ``base_url`` (created on first use), or None outside a
    running loop (the caller then keeps the SDK's default client)."""
    loop = running_loop()
    if loop is None:
        return None
    from openai import DefaultAioHttpClient

    with _lock:
        pools = _pools.get(loop)
        if pools is None:
            pools = _pools[loop] = _LoopPools(loop)
        if base_url not in pools.clients:
            pools.clients[base_url] = DefaultAioHttpClient()
        return pools.clients[base_url]
