"""Runner: output files, their schema, resume without duplicates."""

from __future__ import annotations

import json

from fakes import FakeRegistry
from scripts import EVIDENCE, RIGHT, VERIFIER_PASS, WRONG, item, rubric_judge

from autodata.core.context import RunContext
from autodata.core.records import AcceptedRecord, RejectedRecord
from autodata.data.documents import Document
from autodata.run.runner import Runner

ACCEPTED_FIELDS = {
    "id",
    "source",
    "mode",
    "question",
    "context",
    "answer",
    "rubric",
    "question_type",
    "skills",
    "weak_scores",
    "strong_scores",
    "weak_mean",
    "strong_mean",
    "gap",
    "rounds",
    "models",
}


def registry(weak=(WRONG,)):
    return FakeRegistry(
        {
            "challenger": [
                item(question="Which key is evicted first when a size-one cache sees A then B?"),
                item(),
            ],
            "verifier": [VERIFIER_PASS],
            "weak_solver": list(weak),
            "strong_solver": [RIGHT],
            "judge": [rubric_judge()],
            "orchestrator": ["advice"],
        }
    )


def docs(tmp_path, n=2):
    return [
        Document(path=str(tmp_path / f"doc{i}.md"), text=f"Document {i} about LRU caches. {EVIDENCE}")
        for i in range(n)
    ]


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_outputs_match_the_documented_schema(tmp_path):
    out = tmp_path / "run"
    runner = Runner(out, RunContext(models=registry(weak=[RIGHT, RIGHT, WRONG]), samples=2), concurrency=1)
    summary = await runner.run(docs(tmp_path, 1))
    accepted = read(out / "accepted.jsonl")
    rejected = read(out / "rejected.jsonl")
    assert len(accepted) == 1 and set(accepted[0]) >= ACCEPTED_FIELDS
    AcceptedRecord.model_validate(accepted[0])
    assert accepted[0]["rounds"] == 2 and accepted[0]["models"]["judge"] == "fake-judge"
    assert accepted[0]["source"]["span"] == [0, len(f"Document 0 about LRU caches. {EVIDENCE}")]
    assert len(rejected) == 1 and rejected[0]["reason"] == "too_easy" and rejected[0]["round"] == 1
    RejectedRecord.model_validate(rejected[0])
    candidate = rejected[0]["screenings"][0]["item"]  # the rejected item, readable in full
    assert candidate["question"] == rejected[0]["question"] and candidate["context"] and candidate["answer"]
    assert rejected[0]["weak_scores"] == [1.0, 1.0]
    assert summary.accepted == 1 and summary.rounds == 2 and summary.rejections == {"too_easy": 1}
    assert summary.calls["weak_solver"]["calls"] == 4 and summary.calls["strong_solver"]["calls"] == 2
    assert summary.calls["challenger"]["input_tokens"] > 0
    assert json.loads((out / "summary.json").read_text())["accepted"] == 1


async def test_rerun_resumes_without_repeating_work_or_duplicating_records(tmp_path):
    out = tmp_path / "run"
    documents = docs(tmp_path, 2)
    first = registry()
    await Runner(out, RunContext(models=first), concurrency=2).run(documents)
    assert len(read(out / "accepted.jsonl")) == 2
    second = registry()
    summary = await Runner(out, RunContext(models=second), concurrency=2).run(documents)
    assert len(read(out / "accepted.jsonl")) == 2  # no duplicates
    assert all(m.seen == [] for m in second.models.values())  # finished documents are not run again
    assert summary.accepted == 2


async def test_interrupted_document_continues_from_its_checkpoint(tmp_path, monkeypatch):
    import autodata.nodes.decide as decide_module

    out = tmp_path / "run"
    documents = docs(tmp_path, 1)
    real = decide_module.apply_preset

    def crash(*args):
        raise RuntimeError("process died here")

    monkeypatch.setattr(decide_module, "apply_preset", crash)  # dies after all solving and judging
    first = registry()
    summary = await Runner(out, RunContext(models=first)).run(documents)
    assert summary.errors and read(out / "accepted.jsonl") == []
    assert len(first.models["strong_solver"].seen) == 2

    monkeypatch.setattr(decide_module, "apply_preset", real)
    resumed = registry()
    summary = await Runner(out, RunContext(models=resumed)).run(documents)
    assert len(read(out / "accepted.jsonl")) == 1
    assert all(m.seen == [] for m in resumed.models.values())  # completed calls are not paid for again


async def test_status_reads_a_finished_run(tmp_path):
    import asyncio

    from autodata.run.status import run_status

    out = tmp_path / "run"
    await Runner(out, RunContext(models=registry()), concurrency=2).run(docs(tmp_path, 2))
    status = await asyncio.to_thread(run_status, out)
    assert status["by_status"] == {"accepted": 2}
    assert status["accepted_records"] == 2 and status["finished"]
    assert {t["round"] for t in status["threads"]} == {1}


async def test_review_decisions_reach_the_graph_and_deferred_items_stay_pending(tmp_path):
    out = tmp_path / "run"
    documents = docs(tmp_path, 1)
    seen = []

    def defer(payload):
        seen.append(payload["question"])
        return {"defer": True}

    summary = await Runner(out, RunContext(models=registry(), review=True), reviewer=defer).run(documents)
    assert seen and read(out / "accepted.jsonl") == [] and summary.finished == {"running": 1}

    approvals = []

    def approve(payload):
        approvals.append(payload)
        return {"accept": True}

    resumed = registry()
    summary = await Runner(out, RunContext(models=resumed, review=True), reviewer=approve).run(documents)
    assert len(approvals) == 1 and len(read(out / "accepted.jsonl")) == 1
    assert all(m.seen == [] for m in resumed.models.values())  # the decision resumed the checkpoint


async def test_a_rejected_round_records_the_feedback_sent_into_the_next_round(tmp_path):
    out = tmp_path / "run"
    models = registry(weak=[RIGHT, RIGHT, WRONG])
    await Runner(out, RunContext(models=models, samples=2), concurrency=1).run(docs(tmp_path, 1))
    [rejected] = read(out / "rejected.jsonl")
    RejectedRecord.model_validate(rejected)
    sent = rejected["feedback_next"]
    assert "TOO EASY" in sent and rejected["question"] in sent and "advice" in sent
    assert sent in models.prompts("challenger")[1]  # exactly what the round-2 challenger was given


def test_feedback_next_of_the_last_round_of_a_stopped_unit_is_the_state_s_feedback():
    from autodata.run.unit_records import rejected_records

    def round_(n):
        return {
            "round": n, "attempt": n, "counted": True, "reason": "too_easy", "detail": "", "item": None,
            "screenings": [], "weak_scores": [], "strong_scores": [], "weak_mean": None,
            "strong_mean": None, "gap": None, "feedback": f"sent before round {n}",
        }  # fmt: skip

    values = {"source": "d.md", "span": [0, 5], "rounds": [round_(1), round_(2)], "status": "running"}
    # the feedback node ran after round 2 (attempt 3), but the budget stopped round 3 before it ended
    records = rejected_records({**values, "attempt": 3, "feedback": "sent before round 3"}, "t")
    assert [r.feedback_next for r in records] == ["sent before round 2", "sent before round 3"]
    # the unit ended after round 2: nothing was sent after it
    assert [r.feedback_next for r in rejected_records({**values, "attempt": 2}, "t")][-1] is None
    # rounds of a run written before the feedback was recorded: none known, the records still validate
    old = [{k: v for k, v in r.items() if k != "feedback"} for r in values["rounds"]]
    assert [r.feedback_next for r in rejected_records({**values, "rounds": old}, "t")] == [None, None]
    written_before = {k: v for k, v in records[0].model_dump().items() if k != "feedback_next"}
    assert RejectedRecord.model_validate(written_before).feedback_next is None


async def test_a_new_run_reads_no_unit_s_state_and_a_rerun_reads_each_once(tmp_path):
    from autodata.graphs.self_instruct import build_graph

    reads: list[str] = []

    def counting_reads(saver):
        graph = build_graph(saver)
        real = graph.aget_state

        async def aget_state(config, *args, **kwargs):
            reads.append(config["configurable"]["thread_id"])
            return await real(config, *args, **kwargs)

        graph.aget_state = aget_state
        return graph

    out = tmp_path / "run"
    documents = docs(tmp_path, 2)
    first = Runner(out, RunContext(models=registry()), graph_builder=counting_reads, concurrency=2)
    await first.run(documents)
    assert reads == []  # no unit had a checkpoint, and the states they ended with came from their streams
    assert len(read(out / "accepted.jsonl")) == 2
    second = registry()
    await Runner(out, RunContext(models=second), graph_builder=counting_reads, concurrency=2).run(documents)
    assert len(reads) == 2 and len(set(reads)) == 2  # each finished unit read once, then skipped
    assert all(m.seen == [] for m in second.models.values()) and len(read(out / "accepted.jsonl")) == 2
