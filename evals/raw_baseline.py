"""The raw-client baseline of the throughput benchmark: the pipeline's own requests, sent with plain
``openai.AsyncOpenAI`` (aiohttp transport, the same event loop) and nothing else.

The call pattern is recorded from the pipeline: one document goes through the Runner against an in-process
fake server that keeps the request bodies, and consecutive requests to the same model form one step (the
challenger, the verifier, the judge check's two grades, k solver samples, their k grades...). The baseline
then sends exactly those bodies for every document, step after step, the requests of a step in parallel,
``concurrency`` documents at a time, and decodes each structured reply once: what a hand-written client
costs for the same work, so the pipeline's CPU per call can be read against it.
"""

from __future__ import annotations

import asyncio
import cProfile
import inspect
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Step = list[dict[str, Any]]
"""The request bodies of one dependent step (sent in parallel)."""


def group_steps(bodies: list[dict[str, Any]]) -> list[Step]:
    """Consecutive requests to the same model are one step (the pipeline never asks the same model twice in
    a row across steps: challenger, verifier, judge, weak solver, judge, strong solver, judge)."""
    steps: list[Step] = []
    for body in bodies:
        if steps and steps[-1][0].get("model") == body.get("model"):
            steps[-1].append(body)
        else:
            steps.append([body])
    return steps


def record_call_pattern(samples: int, run_pipeline: Callable[[int, int, str, int, Path], dict]) -> list[Step]:
    """The steps of one document's run through the pipeline (``run_pipeline(docs, concurrency, base_url,
    samples, out_dir)``), with their request bodies."""
    from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread

    server = FakeOpenAIServer(record_requests=True)
    with serve_in_thread(server) as base_url, tempfile.TemporaryDirectory() as tmp:
        run_pipeline(1, 1, base_url, samples, Path(tmp))
    return group_steps(list(server.requests))


def _split(body: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """Keyword arguments of ``create``: the SDK's own parameters, anything else in ``extra_body``."""
    kwargs = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


async def raw_chains(base_url: str, steps: list[Step], docs: int, concurrency: int) -> int:
    """Every document's chain of ``steps`` with one ``AsyncOpenAI`` client; returns the requests made."""
    import openai

    client = openai.AsyncOpenAI(
        base_url=base_url,
        api_key="none",
        http_client=openai.DefaultAioHttpClient(),
        max_retries=0,
        timeout=120,
    )
    known = set(inspect.signature(client.chat.completions.create).parameters)
    requests = [[_split(body, known) for body in step] for step in steps]
    calls = 0

    async def one(kwargs: dict[str, Any]) -> str:
        nonlocal calls
        reply = await client.chat.completions.create(**kwargs)
        calls += 1
        text = reply.choices[0].message.content or ""
        if "response_format" in kwargs or "response_format" in kwargs.get("extra_body", {}):
            json.loads(text)  # a structured reply is decoded once, as any client would
        return text

    documents = iter(range(docs))

    async def worker() -> None:
        for _ in documents:
            for step in requests:
                await asyncio.gather(*(one(kwargs) for kwargs in step))

    async with client:
        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return calls


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_raw_run(
    docs: int, concurrency: int, base_url: str, pattern_path: str, profile: int = 0
) -> dict[str, Any]:
    """Runs in the child process: the baseline over ``docs`` documents, figures as a dict; with ``profile``,
    under cProfile, whose top entries it prints first."""
    import openai.types.chat  # noqa: F401  (imported before the clock, as the pipeline's child does)

    from autodata.core.aio import loop_factory

    steps = json.loads(Path(pattern_path).read_text(encoding="utf-8"))
    profiler = cProfile.Profile(time.process_time) if profile else None
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:  # uvloop as the pipeline, nothing else
        calls = runner.run(raw_chains(base_url, steps, docs, concurrency))
    if profiler is not None:
        profiler.disable()
    wall = time.perf_counter() - started
    if profiler is not None:
        from autodata.evals.profile_report import print_profile

        print_profile(profiler, profile, calls=calls)
    return {
        "docs": docs,
        "concurrency": concurrency,
        "wall_s": wall,
        "calls": calls,
        "accepted": docs,
        "cpu_s": _cpu_seconds() - cpu_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
