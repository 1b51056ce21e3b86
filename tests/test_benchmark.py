"""The throughput benchmark: its ideal is the true optimum, and a tiny run prints a complete table."""

from __future__ import annotations

import pytest

from autodata.evals import benchmark


def test_ideal_counts_whole_waves_of_the_dependent_chain():
    # 200 documents on 64 slots need 4 waves of 7 calls; a partial last wave still takes a full chain
    assert benchmark.ideal_wall(200, 64, 0.5) == pytest.approx(4 * 7 * 0.5)
    assert benchmark.ideal_wall(128, 64, 1.0) == pytest.approx(2 * 7 * 1.0)
    assert benchmark.ideal_wall(3, 1, 0.1) == pytest.approx(3 * 7 * 0.1)


def test_small_run_prints_every_figure(capsys):
    benchmark.main(["--docs", "4", "--latency", "0.02", "--concurrency", "2", "--memory-docs", "8"])
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["2"])
    assert len(row) == 10  # conc, wall, docs/s, ideal, % ideal, calls/acc, ovh, cpu, server cpu, peak
    wall, docs_s, ideal, share, per_accepted = float(row[1]), float(row[2]), float(row[3]), row[4], row[5]
    assert wall > 0 and 0 < docs_s <= ideal and share.endswith("%")
    # accepted in one round: challenger, verifier, 2 judge-check grades, then 2 x (2 solves + 2 grades)
    assert float(per_accepted) == pytest.approx(12.0)
    assert float(row[7]) > 0 and float(row[9]) > 0
    memory = next(line.split() for line in out.splitlines() if line.split()[:1] == ["8"])
    assert int(memory[2]) == 96  # 8 documents x 12 calls
