"""``langgraph dev`` serves the exported graph: runs over its HTTP API (langgraph_sdk) on the fake models.

The server is a subprocess started from the repo root with ``langgraph.json``; its nodes reach the fake
OpenAI-compatible server (a thread of this test process) through ``AUTODATA_<ROLE>_*`` environment variables
of that subprocess. The run context (mode, samples, ...) goes over the API as JSON.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from autodata.core.config import ROLES, endpoint_env
from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread

pytest.importorskip("langgraph_api", reason="needs langgraph-cli[inmem] (the dev extra)")
langgraph_sdk = pytest.importorskip("langgraph_sdk")

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60
DOC = (
    "An LRU cache of capacity two keeps the two most recently used keys. When a third key arrives, the key "
    "whose last use is oldest is evicted to make room."
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fake_model_env(base_url: str) -> dict[str, str]:
    return endpoint_env(base_url, "fake-", TIMEOUT="30")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and anything it started: its whole process group (it is the group leader)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def fake_models():
    server = FakeOpenAIServer()
    with serve_in_thread(server) as base_url:
        yield server, base_url


@pytest.fixture(scope="module")
def langgraph_url(fake_models, tmp_path_factory):
    _, base_url = fake_models
    port = free_port()
    log_path = tmp_path_factory.mktemp("langgraph_dev") / "server.log"
    env = {
        **os.environ,
        "LANGSMITH_TRACING": "false",
        "LANGSMITH_TEST_TRACKING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        **fake_model_env(base_url),
    }
    env.pop("LANGSMITH_API_KEY", None)
    cmd = [sys.executable, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload"]
    cmd += ["--port", str(port), "--config", "langgraph.json"]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"langgraph dev not healthy after {STARTUP_SECONDS}s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.25)
        yield url
    finally:
        stop(proc)


async def test_context_schema_renders(langgraph_url):
    client = langgraph_sdk.get_client(url=langgraph_url)
    (assistant,) = await client.assistants.search(graph_id="self_instruct")
    schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    context = schemas["context_schema"]
    assert context["title"] == "RunContext"
    assert {"mode", "samples", "max_rounds", "candidates", "profile", "config_path"} <= set(
        context["properties"]
    )
    assert context["properties"]["mode"]["enum"] == ["rubric", "verifiable"]
    assert schemas["input_schema"]["required"] == ["document"]


async def test_run_streams_updates_and_is_checkpointed(langgraph_url, fake_models):
    server, _ = fake_models
    client = langgraph_sdk.get_client(url=langgraph_url)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    updates = []
    async for part in client.runs.stream(
        tid,
        "self_instruct",
        input={"document": DOC, "source": "lru.md"},
        context={"samples": 2, "max_rounds": 2},
        stream_mode="updates",
    ):
        assert part.event != "error", part.data
        if part.event == "updates":
            updates.extend(part.data)
    assert updates == [
        "prepare",
        "challenger",
        "verifier",
        "judge_check",
        "weak_solver",
        "judge",
        "strong_solver",
        "judge",
        "decide",
    ]

    state = await client.threads.get_state(tid)
    values = state["values"]
    assert state["next"] == []
    assert values["status"] == "accepted", values.get("rounds")
    accepted = values["accepted"]
    assert accepted["rounds"] == 1 and accepted["source"]["path"] == "lru.md"
    assert accepted["weak_scores"] == [0.0, 0.0] and accepted["strong_scores"] == [1.0, 1.0]
    assert {c["model"] for c in values["calls"]} <= {f"fake-{role}" for role in ROLES}
    assert all(c["ok"] for c in values["calls"])
    assert server.stats()["by_role"]["challenger"] >= 1

    history = await client.threads.get_history(tid, limit=50)
    assert len(history) >= len(updates)
    assert history[0]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    assert history[0]["values"]["status"] == "accepted"
    assert history[-1]["next"] == ["__start__"]  # the input checkpoint: the whole run is replayable
    steps = [h["metadata"]["step"] for h in history]
    assert steps == sorted(steps, reverse=True)


async def test_context_reaches_the_nodes(langgraph_url):
    client = langgraph_sdk.get_client(url=langgraph_url)
    thread = await client.threads.create()
    final = await client.runs.wait(
        thread["thread_id"],
        "self_instruct",
        input={"document": "a(n) = 2 a(n-1) + 1 with a(0) = 1.", "source": "rec.md"},
        context={"mode": "verifiable", "samples": 3, "max_rounds": 1},
    )
    assert final["status"] == "accepted"
    assert final["accepted"]["mode"] == "verifiable" and final["accepted"]["rubric"] == []
    assert len(final["accepted"]["weak_scores"]) == 3


async def test_server_dispatch_writes_the_same_files_as_an_in_process_run(
    langgraph_url, fake_models, tmp_path
):
    import json

    from autodata.core.config import load_models_config
    from autodata.core.context import RunContext
    from autodata.data.documents import load_documents
    from autodata.llm.models import OpenAIModelRegistry
    from autodata.run.remote import RemoteRunner
    from autodata.run.runner import Runner

    _, base_url = fake_models
    loaded = load_documents([str(ROOT / "examples")])
    registry = OpenAIModelRegistry(load_models_config("local", environ=fake_model_env(base_url)))
    context = RunContext(samples=2, max_rounds=2, models=registry)

    local = await Runner(tmp_path / "local", context, concurrency=2).run(loaded.documents)
    remote_runner = RemoteRunner(
        langgraph_url, tmp_path / "remote", context, models=registry.describe(), concurrency=2
    )
    remote = await remote_runner.run(loaded.documents)
    again = await RemoteRunner(langgraph_url, tmp_path / "remote", context, models=registry.describe()).run(
        loaded.documents
    )  # resume: every thread is finished on the server, nothing runs twice and nothing is written twice

    def records(run, name):
        return [json.loads(x) for x in (tmp_path / run / name).read_text().splitlines() if x.strip()]

    assert local.accepted == remote.accepted == again.accepted == 3
    for name in ("accepted.jsonl",):
        assert sorted(r["id"] for r in records("local", name)) == sorted(
            r["id"] for r in records("remote", name)
        )
        strip = [{k: v for k, v in r.items() if k != "models"} for r in records("remote", name)]
        local_strip = [{k: v for k, v in r.items() if k != "models"} for r in records("local", name)]
        assert sorted(strip, key=lambda r: r["id"]) == sorted(local_strip, key=lambda r: r["id"])
    assert len(records("remote", "rejected.jsonl")) == len(records("local", "rejected.jsonl"))
    assert remote.calls.keys() == local.calls.keys()
