"""Role models' HTTP transport: aiohttp (default) and httpx give the same results, errors stay typed and
transient, and connection pools follow their event loop (the reward functions open one loop per batch)."""

from __future__ import annotations

import asyncio

import pytest
from fakes import fake_registry
from langchain_core.messages import HumanMessage

from autodata.core import aio
from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread
from autodata.llm import http_clients
from autodata.llm.calls import call_structured, call_text
from autodata.rules.schemas import VerifierOut

QUESTION = [HumanMessage("# Question\nWhich key does an LRU cache evict?")]


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_both_transports_answer_alike(transport):
    with serve_in_thread() as base_url:
        registry = fake_registry(base_url, http_client=transport)
        text, record = await call_text(registry, "strong_solver", QUESTION)
        verdict, structured = await call_structured(
            registry, "verifier", [HumanMessage("# Item\nq")], VerifierOut
        )
    assert record["ok"] and "Final answer:" in text and record["input_tokens"] > 0
    assert structured["ok"] and verdict is not None
    pool = registry.chat("strong_solver").http_async_client
    assert (type(pool).__name__ == "_InstalledAioHttpClient") == (transport == "aiohttp")
    assert (pool is None) == (transport == "httpx")  # httpx: the SDK builds its own client


async def test_aiohttp_errors_are_transient_and_retried():
    server = FakeOpenAIServer(latency=2.0)
    with serve_in_thread(server) as base_url:
        registry = fake_registry(base_url, timeout=0.2, max_retries=1)
        text, record = await call_text(registry, "strong_solver", QUESTION)
    assert text is None and record["attempts"] == 2 and "Timeout" in record["error"]

    registry = fake_registry("http://127.0.0.1:9/v1", max_retries=1)  # nothing listens on port 9
    text, record = await call_text(registry, "strong_solver", QUESTION)
    assert text is None and record["attempts"] == 2 and "ConnectionRefused" in record["error"]


def test_pools_follow_their_event_loop():
    with serve_in_thread() as base_url:
        registry = fake_registry(base_url)

        async def ask():
            _text, record = await call_text(registry, "strong_solver", QUESTION)
            assert record["ok"], record["error"]
            return registry.chat("strong_solver")

        first = asyncio.run(ask())
        second = aio.run(ask())  # a new loop (uvloop where installed) cannot reuse the first one's pool
    assert first is not second
    assert first.http_async_client is not second.http_async_client
    assert first.http_async_client.is_closed and second.http_async_client.is_closed
    # nothing of the finished loops is kept (a reward function opens one loop per batch)
    registry.chat("strong_solver")
    assert len(registry._models) == 0
    assert not any(loop.is_closed() for loop in http_clients._pools)
