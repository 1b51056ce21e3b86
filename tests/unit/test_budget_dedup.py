"""Cost accounting, run budgets (stop cleanly, resume later) and near-duplicate questions across a run."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from fakes import FakeRegistry
from langchain_core.messages import HumanMessage
from scripts import EVIDENCE, RIGHT, VERIFIER_PASS, WRONG, item, rubric_judge

from autodata.core.context import RunContext
from autodata.data.documents import Document
from autodata.llm.accounting import Budget, BudgetExhausted
from autodata.llm.cache import ResponseCache
from autodata.llm.calls import call_text
from autodata.rules.dedup import DuplicateIndex, jaccard, shingles
from autodata.run.runner import Runner
from autodata.run.summary import FINISHED

PRICES = {"price_per_million_input": 2.0, "price_per_million_output": 10.0}


def registry(challenger=None, prices: bool = True) -> FakeRegistry:
    reg = FakeRegistry(
        {
            "challenger": [challenger or item()],
            "verifier": [VERIFIER_PASS],
            "weak_solver": [WRONG],
            "strong_solver": [RIGHT],
            "judge": [rubric_judge()],
            "orchestrator": ["advice"],
        }
    )
    if prices:
        reg._settings = {role: s.model_copy(update=PRICES) for role, s in reg._settings.items()}
    return reg


def per_document_item(messages):
    """A different question per document, so no prompt repeats across documents (no shared cache hits)."""
    number = re.search(r"Document (\d+) about", "\n".join(str(m.content) for m in messages)).group(1)
    return item(question=f"In the setting of document {number}, which key does a full LRU cache evict?")


def docs(tmp_path, n: int) -> list[Document]:
    return [
        Document(path=str(tmp_path / f"doc{i}.md"), text=f"Document {i} about LRU caches. {EVIDENCE}")
        for i in range(n)
    ]


def read(path):
    return (
        [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )


# ------------------------------------------------------------------------------------------------ costs


async def test_cost_per_role_from_the_price_table_and_cached_calls_are_free(tmp_path):
    reg = registry()
    reg.cache = ResponseCache(tmp_path / "responses.sqlite")
    summary = await Runner(tmp_path / "a", RunContext(models=reg)).run(docs(tmp_path, 1))
    assert summary.accepted == 1 and summary.cost_usd > 0
    for row in summary.calls.values():
        expected = (row["input_tokens"] * 2.0 + row["output_tokens"] * 10.0) / 1_000_000
        assert row["cost_usd"] == pytest.approx(expected)
    assert summary.cost_usd == pytest.approx(sum(r["cost_usd"] for r in summary.calls.values()))
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["cost_usd"] == summary.cost_usd

    replay = registry()
    replay.cache = reg.cache  # every call of the same document is in the cache: replayed, not paid
    again = await Runner(tmp_path / "b", RunContext(models=replay)).run(docs(tmp_path, 1))
    assert all(m.seen == [] for m in replay.models.values())
    assert again.accepted == 1 and again.cost_usd == 0
    assert all(r["cached"] == r["calls"] and r["cost_usd"] == 0 for r in again.calls.values())


# ----------------------------------------------------------------------------------------------- budget


def test_budget_limits():
    budget = Budget(max_calls=2)
    budget.reserve()
    budget.reserve()
    with pytest.raises(BudgetExhausted, match="call budget of 2"):
        budget.reserve()
    dollars = Budget(max_usd=0.01)
    dollars.reserve()
    dollars.charge(tokens=1000, usd=0.02)
    with pytest.raises(BudgetExhausted, match=r"\$0.0100"):
        dollars.reserve()
    tokens = Budget(max_tokens=100)
    tokens.reserve()
    tokens.charge(tokens=100, usd=0.0)
    with pytest.raises(BudgetExhausted, match="token budget"):
        tokens.reserve()
    assert not Budget().limited and Budget(max_tokens=1).limited


async def test_budget_exhausted_is_raised_not_retried_nor_recorded_as_failed():
    reg = registry()
    reg.budget = Budget(max_calls=0)
    with pytest.raises(BudgetExhausted):
        await call_text(reg, "strong_solver", [HumanMessage("# Question\nx")])
    assert reg.models["strong_solver"].seen == []  # nothing was sent
    reg.budget = Budget(max_calls=1)
    text, record = await call_text(reg, "strong_solver", [HumanMessage("# Question\nx")])
    assert text == RIGHT and record["ok"] and reg.budget.calls == 1 and reg.budget.tokens > 0
    assert reg.budget.usd == pytest.approx(record["cost_usd"])


async def test_budget_stops_the_run_cleanly_and_a_later_run_resumes(tmp_path):
    documents = docs(tmp_path, 3)
    full = registry(per_document_item)
    full.cache = ResponseCache(tmp_path / "full" / "responses.sqlite")
    baseline = await Runner(tmp_path / "full", RunContext(models=full)).run(documents)
    total_calls = sum(len(m.seen) for m in full.models.values())
    assert baseline.accepted == 3

    out = tmp_path / "budget"
    cache = ResponseCache(out / "responses.sqlite")  # as `autodata generate` has it
    first = registry(per_document_item)
    first.cache = cache
    first.budget = Budget(max_calls=total_calls // 2)  # runs out inside the second document
    events = []
    runner = Runner(out, RunContext(models=first), progress=events.append)
    summary = await runner.run(documents)
    assert summary.stopped and summary.stopped.startswith("budget reached")
    assert summary.errors == [] and "failed" not in summary.finished
    assert summary.documents == sum(summary.finished.values()) and summary.finished["stopped"] == 2
    assert summary.accepted == 1 and len(read(out / "accepted.jsonl")) == 1
    assert sum(len(m.seen) for m in first.models.values()) == total_calls // 2
    assert [e["source"] for e in events if e.get("event") == "stopped"] == [documents[1].path]
    assert not any(e.get("event") == "start" and e["source"] == documents[2].path for e in events)
    assert json.loads((out / "summary.json").read_text())["stopped"].startswith("budget reached")

    second = registry(per_document_item)
    second.cache = cache
    second.budget = Budget(max_calls=total_calls)  # a higher budget: continues where the first stopped
    resumed = await Runner(out, RunContext(models=second)).run(documents)
    assert resumed.stopped is None and resumed.finished == {"accepted": 3} and resumed.errors == []
    accepted = read(out / "accepted.jsonl")
    assert sorted(a["id"] for a in accepted) == sorted(
        a["id"] for a in read(tmp_path / "full" / "accepted.jsonl")
    )
    assert len({a["id"] for a in accepted}) == len(accepted) == 3
    # checkpoint + response cache: together the two runs pay no more than one uninterrupted run
    assert total_calls // 2 + sum(len(m.seen) for m in second.models.values()) <= total_calls


# ----------------------------------------------------------------------------------------- near-duplicates

LONG = "Which key does a full LRU cache of size two evict when it sees the keys A, B, A and then C in order?"


def test_shingles_and_jaccard():
    assert shingles("One two three four") == {"one two three", "two three four"}
    assert shingles("Hi there") == {"hi there"} and shingles("") == frozenset()
    assert jaccard(shingles(LONG), shingles(LONG.upper())) == 1.0
    assert jaccard(shingles(LONG), shingles(LONG.replace("in order", "in sequence"))) >= 0.8
    assert jaccard(shingles(LONG), shingles("How many days are there in a leap year?")) == 0.0


def test_duplicate_index_finds_near_duplicates_and_rebuilds_from_jsonl(tmp_path):
    index = DuplicateIndex(0.8)
    assert index.check("a", LONG) is None and "a" in index
    assert index.check("a", LONG) is None  # an item already accepted is not its own duplicate
    found = index.check("b", LONG.replace("in order", "in sequence"))
    assert found is not None and found[0] == "a" and found[1] >= 0.8 and "b" not in index
    assert index.check("c", "How many days are there in a leap year of the Gregorian calendar?") is None
    path = tmp_path / "accepted.jsonl"
    path.write_text(json.dumps({"id": "a", "question": LONG}) + "\n" + '{"id": "torn", "quest')
    rebuilt = DuplicateIndex.from_jsonl(path, 0.8)
    assert len(rebuilt) == 1 and rebuilt.find(LONG + " Explain.") is not None
    with pytest.raises(ValueError):
        DuplicateIndex(0.0)


@pytest.mark.parametrize("minhash", [True, False])
def test_one_word_changed_is_a_near_duplicate_in_generation_and_in_evaluate(monkeypatch, minhash):
    """A question that swaps one word ("two" for "2") shares few word 3-shingles (Jaccard 0.68) but most
    content words: generation rejects it, and evaluate's duplicate rate counts what generation rejects."""
    from autodata.evals.evaluate import duplicate_of

    if not minhash:
        monkeypatch.setitem(sys.modules, "datasketch", None)
    one = "Which key does a full LRU cache of size two evict when it sees A, B, A, C?"
    other = one.replace("size two", "size 2")
    index = DuplicateIndex(0.8)
    assert index.check("a", one) is None
    found = index.check("b", other)
    assert found is not None and found[0] == "a" and found[1] >= 0.8
    months = [f"How many days does month number {i} of a leap year have in total?" for i in (3, 4)]
    assert index.check("m3", months[0]) is None and index.check("m4", months[1]) is None
    assert duplicate_of([one, other, *months]) == [None, 0, None, None]


@pytest.mark.parametrize("minhash", [True, False])
def test_duplicate_index_with_and_without_datasketch(monkeypatch, minhash):
    if not minhash:
        monkeypatch.setitem(sys.modules, "datasketch", None)  # import fails: exact comparison with all
    index = DuplicateIndex(0.8)
    assert (index._lsh is not None) == minhash
    questions = [f"How many days does month number {i} of a leap year have in total?" for i in range(30)]
    for i, question in enumerate(questions):
        assert index.check(f"q{i}", question) is None
    found = index.check("new", questions[17].upper() + " Explain.")
    assert found is not None and found[0] == "q17"


async def test_near_duplicate_accepted_items_go_to_rejected_and_survive_resume(tmp_path):
    out = tmp_path / "run"
    documents = docs(tmp_path, 3)
    context = RunContext(models=registry(item(question=LONG)), dedup_threshold=0.8)
    first = await Runner(out, context).run(documents[:1])
    assert first.accepted == 1 and first.duplicates == 0
    (kept,) = read(out / "accepted.jsonl")

    # a new process: the index is rebuilt from accepted.jsonl, so later documents are checked against it,
    # before solving: a near-duplicate candidate is rejected and its unit tries again (here the scripted
    # challenger only repeats itself, so the unit is exhausted)
    near = item(question=LONG.replace("in order", "in sequence"))
    summary = await Runner(out, RunContext(models=registry(near), dedup_threshold=0.8)).run(documents)
    assert summary.accepted == 1 and summary.rejections == {"duplicate": 2, "repeat": 4}
    assert summary.finished == {"accepted": 1, "exhausted": 2}
    assert read(out / "accepted.jsonl") == [kept]
    duplicates = [r for r in read(out / "rejected.jsonl") if r["reason"] == "duplicate"]
    assert len(duplicates) == 2 and all(r["round"] == 1 and r["weak_scores"] == [] for r in duplicates)
    assert {r["source"]["path"] for r in duplicates} == {documents[1].path, documents[2].path}
    assert all(kept["id"] in r["detail"] for r in duplicates)

    again = await Runner(out, RunContext(models=registry(near), dedup_threshold=0.8)).run(documents)
    assert again.accepted == 1
    assert len(read(out / "accepted.jsonl")) == 1 and len(read(out / "rejected.jsonl")) == 6  # no repeats


async def test_workers_sharing_a_run_see_each_others_accepted_questions(tmp_path):
    # two workers (e.g. processes on a Postgres checkpointer) open the same run before either accepts
    out = tmp_path / "run"
    documents = docs(tmp_path, 2)
    near = item(question=LONG.replace("in order", "in sequence"))
    first = Runner(out, RunContext(models=registry(item(question=LONG)), dedup_threshold=0.8))
    second = Runner(out, RunContext(models=registry(near), dedup_threshold=0.8))
    assert (await first.run(documents[:1])).accepted == 1
    summary = await second.run(documents[1:])  # its index catches up with the file before deciding
    assert summary.accepted == 0 and summary.duplicates == 1
    (kept,) = read(out / "accepted.jsonl")
    (duplicate,) = read(out / "rejected.jsonl")
    assert duplicate["reason"] == "duplicate" and duplicate["duplicate_of"] == kept["id"]


async def test_dedup_is_off_by_default_in_the_library(tmp_path):
    summary = await Runner(tmp_path / "run", RunContext(models=registry())).run(docs(tmp_path, 2))
    assert summary.accepted == 2 and summary.duplicates == 0
    assert set(summary.finished) <= set(FINISHED)


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_budget_stops_then_the_same_command_with_more_budget_finishes(tmp_path, monkeypatch):
    from autodata.cli import main as cli
    from autodata.evals.fake_openai_server import serve_in_thread

    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "run"
    with serve_in_thread() as base_url:
        base = [
            "generate",
            str(root / "examples"),
            "--out",
            str(out),
            "--config",
            str(root / "tests" / "fake_models.toml"),
            "--set",
            f"all.base_url={base_url}",
            "--concurrency",
            "1",
        ]
        assert cli.main([*base, "--budget-calls", "5"]) == 0
        stopped = json.loads((out / "summary.json").read_text())
        assert stopped["stopped"].startswith("budget reached: call budget of 5")
        assert stopped["errors"] == [] and stopped["documents"] == sum(stopped["finished"].values())
        assert sum(r["calls"] for r in stopped["calls"].values()) > 0  # what the stopped units spent
        assert stopped["warnings"] == []  # a budget stop is not "no evidence"
        assert json.loads((out / "run.json").read_text())["budget"]["max_calls"] == 5
        assert cli.main([*base, "--budget-usd", "100"]) == 0
    done = json.loads((out / "summary.json").read_text())
    assert done["stopped"] is None and done["finished"] == {"accepted": 3}
    assert done["accepted"] + done["duplicates"] == 3


def test_live_progress_counts_events():
    from rich.console import Console

    from autodata.cli.progress import LiveProgress, ProgressPrinter, make_progress

    budget = Budget()
    budget.reserve()
    budget.charge(tokens=120, usd=0.5)
    live = LiveProgress(3, budget)
    for event in (
        {"event": "start", "source": "a.md"},
        {"event": "round", "source": "a.md", "reason": "too_easy"},
        {"event": "round", "source": "a.md", "reason": "accepted"},
        {"event": "done", "source": "a.md", "status": "accepted"},
        {"event": "skip", "source": "b.md", "status": "exhausted"},
        {"event": "start", "source": "c.md"},
    ):
        live(event)
    recorder = Console(record=True, width=120)
    recorder.print(live.render())
    text = recorder.export_text()
    assert "2/3 done, 1 running" in text and "too_easy: 1" in text and "exhausted: 1" in text
    assert "1 sent, 1 in flight, 120 tokens, $0.5000" in text
    assert isinstance(make_progress(3, budget), ProgressPrinter)  # pytest's stderr is no terminal


def test_a_time_budget_stops_new_requests():
    import time as _time

    from autodata.llm.accounting import Budget, BudgetExhausted

    budget = Budget(max_seconds=0.05)
    budget.reserve()  # within the time
    _time.sleep(0.06)
    assert "time budget of 0 s reached" in (budget.exceeded() or "")
    with pytest.raises(BudgetExhausted):
        budget.reserve()
    assert Budget(max_seconds=None).exceeded() is None and Budget(max_seconds=60).limited
