"""Response cache (no completed call is paid for twice) and per-endpoint limits."""

from __future__ import annotations

import asyncio

from fakes import FakeRegistry
from langchain_core.messages import HumanMessage

from autodata.core.config import RoleModel
from autodata.llm.cache import ResponseCache
from autodata.llm.calls import call_text
from autodata.llm.limits import EndpointLimiter


async def test_cached_calls_replay_per_sample_and_cost_nothing(tmp_path):
    messages = [HumanMessage(content="Question?")]
    first = FakeRegistry({"weak_solver": ["answer one", "answer two"]})
    first.cache = ResponseCache(tmp_path / "responses.sqlite")
    a = await call_text(first, "weak_solver", messages, sample=0)
    b = await call_text(first, "weak_solver", messages, sample=1)
    assert (a[0], b[0]) == ("answer one", "answer two") and not a[1]["cached"]

    second = FakeRegistry({"weak_solver": ["never sent"]})
    second.cache = ResponseCache(tmp_path / "responses.sqlite")  # a new process after a crash
    replay = [await call_text(second, "weak_solver", messages, sample=i) for i in (0, 1)]
    assert [text for text, _ in replay] == ["answer one", "answer two"]
    assert all(record["cached"] for _, record in replay)
    assert second.models["weak_solver"].seen == []
    fresh, record = await call_text(second, "weak_solver", messages, sample=2)
    assert fresh == "never sent" and not record["cached"]


async def test_failed_calls_are_not_cached(tmp_path):
    from fakes import server_error

    registry = FakeRegistry({"judge": [server_error()]})
    registry.cache = ResponseCache(tmp_path / "responses.sqlite")
    text, record = await call_text(registry, "judge", [HumanMessage(content="x")])
    assert text is None and not record["ok"] and len(registry.cache) == 0


async def test_limiter_bounds_parallel_requests_on_an_endpoint():
    limiter = EndpointLimiter(max_parallel=3)

    async def request():
        async with limiter.slot():
            await asyncio.sleep(0.02)

    await asyncio.gather(*(request() for _ in range(12)))
    assert limiter.peak_in_flight == 3


async def test_limiter_requests_per_minute_uses_a_sliding_window():
    now = [0.0]
    limiter = EndpointLimiter(requests_per_minute=2, clock=lambda: now[0])
    for _ in range(2):
        async with limiter.slot():
            pass
    assert limiter._wait_time(now[0]) == 60
    now[0] = 61.0
    assert limiter._wait_time(now[0]) == 0


def test_roles_on_one_endpoint_share_a_limiter():
    from autodata.core.config import load_models_config
    from autodata.llm.models import OpenAIModelRegistry

    config = load_models_config(
        "openai", overrides=["all.base_url=http://127.0.0.1:9/v1", "all.max_parallel=4"], environ={}
    )
    registry = OpenAIModelRegistry(config)
    assert registry.limiter("judge") is registry.limiter("challenger")
    assert registry.limiter("judge").max_parallel == 4
    assert OpenAIModelRegistry(load_models_config("openai", environ={})).limiter("judge") is None
    assert RoleModel(model="m").max_parallel is None


def test_embedded_models_share_the_cpu_one_request_at_a_time(monkeypatch):
    # two llama.cpp servers computing at once on 2 cores spin against each other: answering together they
    # took 43-61 s with 2 threads each, one after the other about 20 s (autodata/local/server.py)
    from autodata.core.config import load_models_config
    from autodata.llm.models import OpenAIModelRegistry
    from autodata.local.runtime import THREADS_ENV

    monkeypatch.setattr("autodata.local.runtime.usable_cpus", lambda: 2)
    monkeypatch.delenv(THREADS_ENV, raising=False)
    registry = OpenAIModelRegistry(load_models_config("local", environ={}))
    weak, strong = registry.limiter("weak_solver"), registry.limiter("strong_solver")
    assert weak is strong is registry.limiter("judge")  # the 135M and the 1.5B: one CPU
    assert weak.max_parallel == 1
    monkeypatch.setenv(THREADS_ENV, "1")  # one thread a server: two may compute side by side
    assert OpenAIModelRegistry(load_models_config("local", environ={})).limiter("judge").max_parallel == 2
    pinned = load_models_config("local", overrides=["all.max_parallel=3"], environ={})
    assert OpenAIModelRegistry(pinned).limiter("judge").max_parallel == 3


async def take_slot(
    limiter: EndpointLimiter,
    order: list[str],
    name: str,
    role: str,
    defer: int = 0,
    hold: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Take one of ``limiter``'s slots as ``role``, note ``name`` in ``order`` once it is held, and keep it
    until ``hold`` is set (with one slot, the order slots are taken in is the order they are given back)."""
    async with limiter.slot(role, defer):
        order.append(name)
        if started is not None:
            started.set()
        if hold is not None:
            await hold.wait()


async def test_a_busy_endpoint_serves_the_work_in_flight_before_new_items():
    # judge, solvers and verifier finish rounds already started; a challenger call starts a new one, so it
    # waits: the demo's 3 documents queued their solver calls behind each other's challenger calls
    limiter = EndpointLimiter(max_parallel=1)
    order: list[str] = []
    hold = asyncio.Event()
    first = asyncio.Event()
    tasks = [asyncio.create_task(take_slot(limiter, order, "challenger", "challenger", 0, hold, first))]
    async with asyncio.timeout(5):
        await first.wait()
    for role in ("challenger", "verifier", "weak_solver", "judge", "strong_solver", "orchestrator"):
        tasks.append(asyncio.create_task(take_slot(limiter, order, role, role)))
        await asyncio.sleep(0)
    hold.set()
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks)
    assert order == [
        "challenger",
        "judge",
        "strong_solver",
        "weak_solver",
        "verifier",
        "orchestrator",
        "challenger",
    ]
    assert limiter.peak_in_flight == 1


async def test_a_challenger_of_a_unit_screened_out_waits_behind_the_others():
    # the demo's rule text failed screening round after round and took a third of its challenger calls
    limiter = EndpointLimiter(max_parallel=1, defer_grace=0.01)
    order: list[str] = []
    hold = asyncio.Event()
    first = asyncio.Event()
    tasks = [asyncio.create_task(take_slot(limiter, order, "running", "strong_solver", 0, hold, first))]
    async with asyncio.timeout(5):
        await first.wait()
    for name, role, defer in [
        ("rules r4", "challenger", 3),
        ("cs r3", "challenger", 1),
        ("maths r3", "challenger", 0),
        ("rules verifier", "verifier", 3),
        ("maths r4", "challenger", 0),
    ]:
        tasks.append(asyncio.create_task(take_slot(limiter, order, name, role, defer)))
        await asyncio.sleep(0)
    hold.set()
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks)
    # a round already started still comes first; then challengers by defer, each in arrival order
    assert order == ["running", "rules verifier", "maths r3", "maths r4", "cs r3", "rules r4"]


async def test_a_deferred_call_leaves_a_free_slot_to_a_unit_between_two_calls():
    # a unit's next call of its round comes a few milliseconds after its last one ends: a deferred challenger
    # served in that gap would hold the one CPU for the whole of its call
    limiter = EndpointLimiter(max_parallel=1, defer_grace=0.3)
    order: list[str] = []
    release_first = asyncio.Event()
    first = asyncio.create_task(take_slot(limiter, order, "maths strong", "strong_solver", 0, release_first))
    await asyncio.sleep(0)
    deferred = asyncio.create_task(take_slot(limiter, order, "rules challenger", "challenger", 2))
    await asyncio.sleep(0)
    release_first.set()
    await first
    await asyncio.sleep(0.05)  # the unit between two calls
    assert order == ["maths strong"]  # the free slot waits for it
    nxt = asyncio.create_task(take_slot(limiter, order, "maths judge", "judge"))
    async with asyncio.timeout(5):
        await asyncio.gather(nxt, deferred)
    assert order == ["maths strong", "maths judge", "rules challenger"]


async def test_a_deferred_call_gets_a_slot_that_stays_free():
    limiter = EndpointLimiter(max_parallel=1, defer_grace=0.05)
    async with asyncio.timeout(5):
        async with limiter.slot("challenger", 3):
            pass
    assert limiter.in_flight == 0


async def test_a_cancelled_wait_for_a_slot_gives_nothing_away():
    limiter = EndpointLimiter(max_parallel=1)
    held, release = asyncio.Event(), asyncio.Event()

    async def holder():
        async with limiter.slot("challenger"):
            held.set()
            await release.wait()

    task = asyncio.create_task(holder())
    async with asyncio.timeout(5):
        await held.wait()
    waiting = asyncio.create_task(limiter.slot("judge").__aenter__())
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await task
    async with asyncio.timeout(1):  # the slot came back: a new request gets it at once
        async with limiter.slot("judge"):
            pass
    assert limiter.in_flight == 0


def test_the_cache_creates_nothing_until_a_reply_is_stored(tmp_path):
    from langchain_core.messages import AIMessage

    cache = ResponseCache(tmp_path / "run" / "responses.sqlite")
    assert cache.get("key") is None and len(cache) == 0
    assert not (tmp_path / "run").exists()  # a run stopped before its first call leaves no directory
    cache.put("key", AIMessage(content="reply"))
    assert (tmp_path / "run" / "responses.sqlite").is_file() and cache.get("key").content == "reply"
    cache.close()
    assert ResponseCache(tmp_path / "run" / "responses.sqlite").get("key").content == "reply"


def test_generate_against_an_unreachable_endpoint_leaves_no_run_directory(tmp_path, capsys):
    from autodata.cli.main import main

    (tmp_path / "doc.md").write_text("An LRU cache evicts the least recently used key when it is full.")
    out = tmp_path / "run"
    code = main(
        [
            "generate",
            str(tmp_path / "doc.md"),
            "--out",
            str(out),
            "--profile",
            "openai",
            "--set",
            "all.base_url=http://127.0.0.1:9/v1",
            "--set",
            "all.api_key_env=none",
        ]
    )
    assert code == 2 and "unreachable" in capsys.readouterr().err
    assert not out.exists()
