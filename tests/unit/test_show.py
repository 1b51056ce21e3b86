"""``autodata show RUN [UNIT]``: the units of a run, and one unit's trajectory, in the terminal."""

from __future__ import annotations

import json

import pytest
from fake_run import ACCEPTED_QUESTION, ADVICE, FORMAT_QUESTION, QUALITY_QUESTION, TOO_EASY_QUESTION

from autodata.cli.main import main
from autodata.evals.trajectory import read_trajectories


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")  # rich wraps at the console width: keep a question on one line


def show(capsys, *args):
    code = main(["show", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_without_a_unit_it_lists_the_units(fake_run, capsys):
    code, out, _ = show(capsys, fake_run)
    assert code == 0
    cache = read_trajectories(fake_run)[0]
    rows = {name: line for line in out.splitlines() for name in ("cache.md", "eviction.md") if name in line}
    assert set(rows) == {"cache.md", "eviction.md"}, out
    assert cache["id"] in rows["cache.md"] and "accepted" in rows["cache.md"]
    assert "not accepted" in rows["eviction.md"] and "format, quality" in rows["eviction.md"]
    assert "2 units, 1 accepted item" in out


def test_a_unit_s_trajectory_round_by_round(fake_run, capsys):
    code, out, _ = show(capsys, fake_run, "cache.md")
    assert code == 0
    assert out.index("round 1") < out.index(TOO_EASY_QUESTION) < out.index("round 2")
    assert out.index("round 2") < out.index(ACCEPTED_QUESTION)
    assert "too_easy" in out and "weak 1.00, 1.00 (mean 1.00) · strong -" in out
    assert "feedback sent next" in out and "TOO EASY" in out and ADVICE in out
    # the accepted item in full
    for text in ("Key B is evicted.", "Names key B as the evicted key", "strong 1.00, 1.00"):
        assert text in out
    assert FORMAT_QUESTION not in out  # only the unit asked for


def test_a_unit_by_path_or_id_and_the_verdicts(fake_run, capsys):
    _, eviction = read_trajectories(fake_run)
    for query in (eviction["id"], eviction["source"]):
        code, out, _ = show(capsys, fake_run, query)
        assert code == 0 and FORMAT_QUESTION in out and QUALITY_QUESTION in out
        assert "candidate 0: format" in out and "candidate 0: quality" in out
        assert "answerable by recall" in out


def test_json_output(fake_run, capsys):
    code, out, _ = show(capsys, fake_run, "cache.md", "--json")
    assert code == 0
    [unit] = json.loads(out)
    assert [r["reason"] for r in unit["rounds"]] == ["too_easy", "accepted"]


def test_a_unit_that_matches_nothing_and_a_directory_that_is_no_run(fake_run, tmp_path, capsys):
    code, _, err = show(capsys, fake_run, "missing.md")
    assert code == 2 and "no unit matches 'missing.md'" in err and "cache.md" in err
    code, _, err = show(capsys, tmp_path)
    assert code == 2 and "not a run directory" in err
