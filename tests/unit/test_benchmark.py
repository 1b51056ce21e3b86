"""The throughput benchmark: its ideal is the true optimum, a tiny run prints a complete table, and the raw
client baseline sends the pipeline's own requests."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest

from autodata.core import aio
from autodata.evals import benchmark
from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread
from autodata.evals.raw_baseline import group_steps, raw_chains, record_call_pattern


def test_ideal_counts_whole_waves_of_the_dependent_chain():
    # 200 documents on 64 slots need 4 waves of 7 calls; a partial last wave still takes a full chain
    assert benchmark.ideal_wall(200, 64, 0.5) == pytest.approx(4 * 7 * 0.5)
    assert benchmark.ideal_wall(128, 64, 1.0) == pytest.approx(2 * 7 * 1.0)
    assert benchmark.ideal_wall(3, 1, 0.1) == pytest.approx(3 * 7 * 0.1)
    assert benchmark.ideal_wall(3, 1, 0.1, steps=6) == pytest.approx(3 * 6 * 0.1)


def test_small_run_prints_every_figure(capsys):
    benchmark.main(["--docs", "4", "--latency", "0.02", "--concurrency", "2", "--memory-docs", "8"])
    out = capsys.readouterr().out
    assert "7 dependent steps of 1+1+2+2+2+2+2 = 12 requests" in out
    rows = {line.split()[1]: line.split() for line in out.splitlines() if line.split()[:1] == ["2"]}
    for client in ("pipeline", "raw"):
        row = rows[client]
        assert len(row) == 11  # conc, client, wall, docs/s, ideal, % ideal, calls/acc, ovh, cpu, server, peak
        wall, docs_s, ideal = float(row[2]), float(row[3]), float(row[4])
        share, per_accepted = row[5], row[6]
        assert wall > 0 and 0 < docs_s <= ideal and share.endswith("%")
        # accepted in one round: challenger, verifier, 2 judge-check grades, then 2 x (2 solves + 2 grades)
        assert float(per_accepted) == pytest.approx(12.0)
        assert float(row[8]) > 0 and float(row[10]) > 0
    assert "pipeline/raw:" in rows and "its CPU per call" in " ".join(rows["pipeline/raw:"])
    memory = next(line.split() for line in out.splitlines() if line.split()[:1] == ["8"])
    assert int(memory[2]) == 96  # 8 documents x 12 calls


def test_consecutive_requests_to_one_model_are_one_step():
    bodies = [{"model": m} for m in ("a", "b", "b", "a", "a")]
    assert [[b["model"] for b in step] for step in group_steps(bodies)] == [["a"], ["b", "b"], ["a", "a"]]


def test_raw_baseline_sends_the_requests_the_pipeline_sends():
    steps = record_call_pattern(2, benchmark.run_pipeline)
    assert [len(step) for step in steps] == [1, 1, 2, 2, 2, 2, 2]
    assert [step[0]["model"] for step in steps] == [
        "fake-challenger",
        "fake-verifier",
        "fake-judge",
        "fake-weak_solver",
        "fake-judge",
        "fake-strong_solver",
        "fake-judge",
    ]
    pipeline, raw = FakeOpenAIServer(), FakeOpenAIServer()
    with serve_in_thread(pipeline) as url, tempfile.TemporaryDirectory() as tmp:
        result = benchmark.run_pipeline(3, 2, url, 2, Path(tmp))
    with serve_in_thread(raw) as url:
        calls = aio.run(raw_chains(url, steps, 3, 2))
    assert calls == result["calls"] == 36 == raw.stats()["requests"] == pipeline.stats()["requests"]
    assert Counter(raw.stats()["by_role"]) == Counter(pipeline.stats()["by_role"])
