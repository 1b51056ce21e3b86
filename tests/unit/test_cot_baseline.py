"""CoT Self-Instruct baseline: one pass, same screening, scored once, same records as the agentic run."""

from __future__ import annotations

import json

from fakes import FakeRegistry
from scripts import EVIDENCE, RIGHT, VERIFIER_FAIL, VERIFIER_PASS, WRONG, item, rubric_judge
from test_runner import ACCEPTED_FIELDS

from autodata.core.context import RunContext
from autodata.core.records import AcceptedRecord, RejectedRecord
from autodata.data.documents import Document
from autodata.graphs import cot_self_instruct
from autodata.llm.cache import ResponseCache, cache_key
from autodata.run.runner import Runner

REASONING = "B is least recently used after A is touched again."


def registry(**over):
    scripts = {
        "challenger": [{**item(), "reasoning": REASONING}],
        "verifier": [VERIFIER_PASS],
        "weak_solver": [RIGHT, RIGHT],  # too easy for the agentic rule: the baseline still accepts it
        "strong_solver": [RIGHT],
        "judge": [rubric_judge()],
    }
    scripts.update(over)
    return FakeRegistry(scripts)


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def docs(tmp_path, n=1):
    return [
        Document(path=str(tmp_path / f"doc{i}.md"), text=f"Document {i} about LRU caches. {EVIDENCE}")
        for i in range(n)
    ]


async def test_baseline_runs_through_the_runner_and_writes_the_same_records(tmp_path):
    out = tmp_path / "cot"
    models = registry()
    runner = Runner(out, RunContext(models=models, samples=2), graph_builder=cot_self_instruct.build_graph)
    summary = await runner.run(docs(tmp_path))
    accepted = read(out / "accepted.jsonl")
    assert len(accepted) == 1 and set(accepted[0]) >= ACCEPTED_FIELDS
    record = AcceptedRecord.model_validate(accepted[0])
    assert record.rounds == 1 and record.weak_scores == [1.0, 1.0] and record.strong_scores == [1.0, 1.0]
    assert record.gap == 0.0  # kept for the report, even though the agentic rule would reject it
    assert read(out / "rejected.jsonl") == []
    # single pass: one challenger call, no orchestrator, strong solver always runs (no weak gate)
    assert len(models.prompts("challenger")) == 1 and "orchestrator" not in models.models
    assert len(models.prompts("strong_solver")) == 2
    assert "Seed examples" in models.prompts("challenger")[0]
    assert summary.accepted == 1 and summary.items_solved == 1 and summary.rounds == 1


async def test_candidates_of_one_prompt_are_distinct_cached_responses(tmp_path, monkeypatch):
    import autodata.llm.calls

    keys = []

    def recording_key(role, model, messages, sample, extra):
        key = cache_key(role, model, messages, sample, extra)
        keys.append((role, key))
        return key

    monkeypatch.setattr(autodata.llm.calls, "cache_key", recording_key)
    models = registry()
    models.cache = ResponseCache(tmp_path / "responses.sqlite")
    runner = Runner(
        tmp_path / "cot",
        RunContext(models=models, candidates=2),
        graph_builder=cot_self_instruct.build_graph,
    )
    await runner.run(docs(tmp_path))
    challenger_keys = [key for role, key in keys if role == "challenger"]
    # one prompt, two candidates: two cache entries, so a resumed run replays two candidates, not one twice
    assert len(challenger_keys) == 2 and len(set(challenger_keys)) == 2


async def test_baseline_rejects_on_the_quality_filter_without_retrying(tmp_path):
    out = tmp_path / "cot"
    models = registry(verifier=[VERIFIER_FAIL], weak_solver=[WRONG])
    summary = await Runner(out, RunContext(models=models), graph_builder=cot_self_instruct.build_graph).run(
        docs(tmp_path)
    )
    assert read(out / "accepted.jsonl") == []
    rejected = read(out / "rejected.jsonl")
    assert len(rejected) == 1 and rejected[0]["reason"] == "quality"
    RejectedRecord.model_validate(rejected[0])
    assert len(models.prompts("challenger")) == 1 and models.models["weak_solver"].seen == []
    assert summary.finished == {"exhausted": 1} and summary.items_solved == 0


async def test_seed_examples_reach_the_prompt_and_leaky_items_are_screened(tmp_path):
    prompts = tmp_path / "variant"
    prompts.mkdir()
    (prompts / "cot_seeds.jsonl").write_text(json.dumps({"question": "SEED-QUESTION?", "answer": "x"}) + "\n")
    answer = "Key B is evicted because A was used more recently than B."
    leaky = item(answer=answer, context=item()["context"] + " " + answer, reasoning=REASONING)
    models = registry(challenger=[leaky])
    out = tmp_path / "cot"
    await Runner(
        out, RunContext(models=models, prompts_dir=str(prompts)), graph_builder=cot_self_instruct.build_graph
    ).run(docs(tmp_path))
    assert "SEED-QUESTION?" in models.prompts("challenger")[0]
    assert [r["reason"] for r in read(out / "rejected.jsonl")] == ["leakage"]
    assert models.models["verifier"].seen == []  # coded checks reject before the LLM verifier


def test_exported_graph_has_no_checkpointer_and_the_inner_schemas():
    graph = cot_self_instruct.graph
    assert graph.checkpointer is None and graph.name == "cot_self_instruct"
    assert set(graph.get_input_jsonschema()["properties"]) == {"document", "source", "span"}
    assert "score" in graph.get_graph().nodes and "feedback" not in graph.get_graph().nodes
