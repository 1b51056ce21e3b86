"""LLM calls skip LangChain's callback layers only when nothing listens: with tracing on (or any callback
attached), every call is a traced run carrying its name, tags and metadata, inside the graph too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.tracers.context import collect_runs

from autodata.core.config import load_models_config
from autodata.core.context import RunContext
from autodata.data.documents import Document
from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread
from autodata.llm.calls import call_structured, call_text, call_text_samples
from autodata.llm.chat_call import unobserved
from autodata.llm.models import OpenAIModelRegistry
from autodata.rules.schemas import RubricItemOut
from autodata.run.runner import Runner

FAKE_MODELS = Path(__file__).resolve().parents[1] / "fake_models.toml"
CHALLENGE = [
    HumanMessage("Reply with the fields: ..., rubric (a list of {description, points})."),
    HumanMessage("# Source document (x.md)\nLRU caches evict the least recently used key."),
]
QUESTION = [
    HumanMessage("# Question\nWhich key does a full LRU cache of size two evict when it sees A, B, A, C?")
]


def registry(base_url: str, *overrides: str) -> OpenAIModelRegistry:
    config = load_models_config(config_path=FAKE_MODELS, overrides=[f"all.base_url={base_url}", *overrides])
    return OpenAIModelRegistry(config, retry_backoff=0.01)


def runs_of(root_runs) -> list:
    out, stack = [], list(root_runs)
    while stack:
        run = stack.pop()
        out.append(run)
        stack.extend(run.child_runs)
    return out


async def test_untraced_calls_go_straight_to_the_model(monkeypatch):
    async def refuse(*args, **kwargs):
        raise AssertionError("the callback layers ran with nothing listening")

    monkeypatch.setattr(BaseChatModel, "agenerate", refuse)
    monkeypatch.setattr(BaseChatModel, "ainvoke", refuse)
    with serve_in_thread() as base_url:
        models = registry(base_url, "strong_solver.supports_n=true")
        item, record = await call_structured(models, "challenger", CHALLENGE, RubricItemOut)
        assert record["ok"] and item is not None and record["input_tokens"] > 0
        text, record = await call_text(models, "strong_solver", QUESTION)
        assert "Final answer" in text and record["ok"] and record["truncated"] is False
        samples = await call_text_samples(models, "strong_solver", QUESTION, 2)
        assert len(samples) == 2 and all(s.text and not s.truncated for s in samples)
        assert samples[0].record["output_tokens"] > 0


async def test_traced_calls_carry_their_name_tags_and_metadata():
    server = FakeOpenAIServer(record_requests=True)
    with serve_in_thread(server) as base_url:
        models = registry(base_url, "strong_solver.supports_n=true")
        with collect_runs() as collected:
            item, _ = await call_structured(
                models, "challenger", CHALLENGE, RubricItemOut, metadata={"source": "x.md", "round": 2}
            )
            samples = await call_text_samples(models, "strong_solver", QUESTION, 2, metadata={"round": 3})
    assert item is not None and len(samples) == 2
    runs = {run.name: run for run in runs_of(collected.traced_runs)}
    challenger, solver = runs["challenger:fake-challenger"], runs["strong_solver:fake-strong_solver"]
    assert "role:challenger" in challenger.tags and "model:fake-challenger" in challenger.tags
    assert (
        challenger.extra["metadata"] | {"source": "x.md", "round": 2, "role": "challenger"}
        == (challenger.extra["metadata"])
    )
    assert solver.extra["metadata"]["round"] == 3 and len(solver.outputs["generations"][0]) == 2
    # the traced path sends what the direct one sends
    assert [r.get("n") for r in server.requests] == [None, 2]


def test_tracing_on_takes_the_traced_path(monkeypatch):
    from langsmith import utils as ls_utils
    from langsmith.run_helpers import tracing_context

    monkeypatch.setenv("LANGSMITH_ENDPOINT", "http://127.0.0.1:9")  # nothing is sent anywhere
    monkeypatch.setenv("LANGSMITH_API_KEY", "not-a-key")
    ls_utils.get_env_var.cache_clear()  # langsmith reads the environment once
    with serve_in_thread() as base_url:
        chat = registry(base_url).chat("judge")
    assert unobserved(chat, {})
    with tracing_context(enabled=True):
        assert not unobserved(chat, {})
    monkeypatch.setenv("LANGSMITH_TRACING_V2", "true")  # the tests' conftest sets LANGCHAIN_TRACING_V2=false
    ls_utils.get_env_var.cache_clear()
    try:
        assert not unobserved(chat, {})
    finally:
        monkeypatch.undo()
        ls_utils.get_env_var.cache_clear()
    assert unobserved(chat, {})


@pytest.mark.parametrize("durability", [None, "async"])
def test_graph_runs_trace_every_llm_call_with_the_units_metadata(tmp_path, durability):
    from autodata.core import aio
    from autodata.llm.cache import ResponseCache

    with serve_in_thread() as base_url:
        models = registry(base_url)
        models.cache = ResponseCache(tmp_path / "responses.sqlite")  # the runner then checkpoints at exit
        runner = Runner(tmp_path / "run", RunContext(models=models, max_rounds=1), durability=durability)
        doc = Document(path="notes/lru.md", text="An LRU cache of capacity two evicts the least recent key.")
        with collect_runs() as collected:
            summary = aio.run(runner.run([doc]))
    assert summary.accepted == 1
    llm_runs = [r for r in runs_of(collected.traced_runs) if r.run_type == "llm"]
    calls = sum(int(row["calls"]) for row in summary.calls.values())
    assert len(llm_runs) == calls > 0
    for run in llm_runs:
        metadata = run.extra["metadata"]
        assert metadata["source"] == "notes/lru.md" and metadata["round"] == 1 and metadata["role"]
        assert f"role:{metadata['role']}" in run.tags
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["accepted"] == 1
