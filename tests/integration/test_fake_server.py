"""The fake OpenAI-compatible server: the real pipeline (CLI, Runner) against it, faults or not."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fakes import fake_registry
from langchain_core.messages import HumanMessage

from autodata.core.config import ROLES
from autodata.core.context import RunContext
from autodata.data.documents import Document, load_documents
from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread
from autodata.llm.calls import call_structured, call_text
from autodata.rules.schemas import RubricItemOut
from autodata.run.runner import Runner
from autodata.run.summary import FINISHED

ROOT = Path(__file__).resolve().parents[2]
FAKE_MODELS = ROOT / "tests" / "fake_models.toml"
EXAMPLES = ROOT / "examples"
QUIET_ENV = {
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TEST_TRACKING": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
}


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_models_endpoint_lists_every_role():
    with serve_in_thread() as base_url:
        listed = httpx.get(f"{base_url}/models").json()
        assert {m["id"] for m in listed["data"]} == {f"fake-{role}" for role in ROLES}
        reply = httpx.post(f"{base_url}/chat/completions", json={"model": "gpt-4o", "messages": []})
        assert reply.status_code == 404


@pytest.mark.parametrize("method", ["json_object_schema", "json_schema", "function_calling", "json_mode"])
async def test_structured_and_streamed_calls(method):
    server = FakeOpenAIServer(record_requests=True)
    with serve_in_thread(server) as base_url:
        registry = fake_registry(base_url, structured_output=method)
        messages = [  # json_mode sends no schema: the mode comes from the field list in the prompt
            HumanMessage("Reply with the fields: ..., rubric (a list of {description, points})."),
            HumanMessage("# Source document (x.md)\nLRU caches evict the least recently used key."),
        ]
        item, record = await call_structured(registry, "challenger", messages, RubricItemOut)
        assert record["ok"] and item is not None and len(item.rubric) == 3
        assert record["input_tokens"] > 0 and record["output_tokens"] > 0
        # a streamed call (what ChatOpenAI sends under stream_mode="messages"): text and usage arrive
        chat = registry.chat("orchestrator")
        chunks = [c async for c in chat.astream("history")]
        total = chunks[0]
        for chunk in chunks[1:]:
            total = total + chunk
        assert total.content.startswith("Target") and total.usage_metadata["output_tokens"] > 0
        assert server.requests[-1]["stream"] is True


async def test_latency_overlaps_up_to_max_parallel():
    server = FakeOpenAIServer(latency=0.3, max_parallel=4)
    with serve_in_thread(server) as base_url:
        body = {"model": "fake-orchestrator", "messages": [{"role": "user", "content": "hi"}]}
        started = time.monotonic()
        async with httpx.AsyncClient() as client:
            replies = await asyncio.gather(
                *(client.post(f"{base_url}/chat/completions", json=body) for _ in range(8))
            )
        elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in replies)
    assert all(r.json()["usage"]["completion_tokens"] > 0 for r in replies)
    assert server.stats()["max_in_flight"] == 4
    assert 0.55 < elapsed < 2.0  # two waves of 0.3 s, not eight


def test_faults_are_deterministic_per_seed():
    def statuses(seed: int) -> list[int]:
        with serve_in_thread(fail_rate=0.5, seed=seed) as base_url, httpx.Client() as client:
            out = []
            for i in range(40):  # each question 4 times: a repeated request gets a fresh draw
                body = {"model": "fake-judge", "messages": [{"role": "user", "content": f"q{i % 10}"}]}
                out.append(client.post(f"{base_url}/chat/completions", json=body).status_code)
            return out

    first = statuses(7)
    assert first == statuses(7)
    assert first != statuses(8)
    assert {429, 500} <= set(first) and 200 in first


def test_cli_generate_over_examples_accepts_items(tmp_path):
    with serve_in_thread() as base_url:
        out = tmp_path / "run"
        cmd = [
            sys.executable,
            "-m",
            "autodata.cli",
            "generate",
            str(EXAMPLES),
            "--out",
            str(out),
            "--config",
            str(FAKE_MODELS),
            "--set",
            f"all.base_url={base_url}",
            "--concurrency",
            "3",
        ]
        proc = subprocess.run(
            cmd, cwd=ROOT, env={**os.environ, **QUIET_ENV}, capture_output=True, text=True, timeout=120
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    accepted = read_jsonl(out / "accepted.jsonl")
    # the fake server's question bank is small: two documents may get the same question, and the second one
    # accepted is then diverted to rejected.jsonl as a near-duplicate (generate's default check)
    duplicates = [r for r in read_jsonl(out / "rejected.jsonl") if r["reason"] == "duplicate"]
    assert len(accepted) + len(duplicates) == 3 and len(accepted) >= 2
    assert all(d["duplicate_of"] in {a["id"] for a in accepted} for d in duplicates)
    assert {a["mode"] for a in accepted} == {"rubric", "verifiable"}
    assert all(a["strong_mean"] == 1.0 and a["weak_mean"] == 0.0 for a in accepted)
    assert all(a["models"]["judge"] == "fake-judge" for a in accepted)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["finished"] == {"accepted": 3} and summary["warnings"] == []
    assert summary["accepted"] == len(accepted) and summary["duplicates"] == len(duplicates)
    assert summary["stopped"] is None
    assert summary["cost_usd"] == 0.0  # the fake models have no prices
    assert (out / "checkpoints.sqlite").exists() and (out / "run.json").exists()


@pytest.mark.parametrize("seed", [1, 5])
async def test_fault_injection_every_document_accounted_for(tmp_path, seed):
    # paths independent of the checkout and of tmp_path: the prompts, hence the fault draws, never vary
    examples = [
        dataclasses.replace(doc, path=f"examples/{Path(doc.path).name}")
        for doc in load_documents([str(EXAMPLES)]).documents
    ]
    notes = [
        Document(
            path=f"notes/note{i}.md",
            text=f"Note {i}: an LRU cache of capacity two evicts the least recently used key when full.",
        )
        for i in range(5)
    ]
    documents = examples + notes
    server = FakeOpenAIServer(fail_rate=0.2, seed=seed, retry_after=0.01)
    with serve_in_thread(server) as base_url:
        context = RunContext(models=fake_registry(base_url), samples=2, max_rounds=3)
        runner = Runner(tmp_path / "run", context, concurrency=4)
        summary = await runner.run(documents)
    stats = server.stats()
    assert stats["in_flight"] == 0
    assert set(stats["faults"]) == {"500", "429", "malformed", "truncated"}, stats  # every kind exercised
    assert summary.errors == []
    assert summary.documents == len(documents) == sum(summary.finished.values())
    assert set(summary.finished) <= set(FINISHED)
    accepted = read_jsonl(tmp_path / "run" / "accepted.jsonl")
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert len(accepted) == summary.accepted >= 1
    assert len(rejected) == sum(summary.rejections.values())
    assert sum(row["calls"] for row in summary.calls.values()) > 0


async def test_failed_calls_are_recorded_not_raised():
    with serve_in_thread(fail_rate=1.0, faults=["500"]) as base_url:
        registry = fake_registry(base_url, max_retries=1)
        text, record = await call_text(registry, "strong_solver", [HumanMessage("# Question\nx")])
    assert text is None and not record["ok"] and record["attempts"] == 2
    assert "500" in record["error"]


async def test_endpoint_that_always_fails_marks_documents_failed(tmp_path):
    documents = load_documents([str(EXAMPLES)]).documents
    server = FakeOpenAIServer(fail_rate=1.0, faults=["500", "bad_body"])
    with serve_in_thread(server) as base_url:
        context = RunContext(models=fake_registry(base_url, max_retries=1))
        summary = await Runner(tmp_path / "run", context, concurrency=3).run(documents)
    assert summary.finished == {"failed": len(documents)} and summary.errors == []
    assert summary.accepted == 0 and set(summary.rejections) == {"call_failed"}
    assert any("no solver ran" in w for w in summary.warnings)
    assert server.stats()["faults"].get("bad_body", 0) > 0


def test_cot_baseline_against_the_fake_server_accepts_grounded_items(tmp_path):
    with serve_in_thread() as base_url:
        registry = fake_registry(base_url)
        context = RunContext(models=registry, samples=2)
        documents = load_documents([str(EXAMPLES)]).documents
        from autodata.graphs.cot_self_instruct import build_graph as build_cot

        summary = asyncio.run(Runner(tmp_path / "cot", context, graph_builder=build_cot).run(documents))
    accepted = read_jsonl(tmp_path / "cot" / "accepted.jsonl")
    assert summary.accepted == len(accepted) >= 1
    assert all(r["evidence"] for r in accepted)  # reasoning first, then the evidence the checks need
