"""The trajectory reader: each unit's rounds in order, from a run the runner wrote on fake models."""

from __future__ import annotations

import json

import pytest
from fake_run import ACCEPTED_QUESTION, ADVICE, FORMAT_QUESTION, QUALITY_QUESTION, TOO_EASY_QUESTION

from autodata.evals.report import ReportError
from autodata.evals.trajectory import find_units, read_trajectories, unit_trajectories


def test_units_and_their_rounds_in_order(fake_run):
    cache, eviction = read_trajectories(fake_run)
    assert (cache["name"], eviction["name"]) == ("cache.md", "eviction.md")
    assert cache["outcome"] == "accepted" and eviction["outcome"] == "not accepted"
    assert [(r["round"], r["reason"]) for r in cache["rounds"]] == [(1, "too_easy"), (2, "accepted")]
    assert [(r["round"], r["reason"]) for r in eviction["rounds"]] == [(1, "format"), (2, "quality")]
    assert [r["question"] for r in cache["rounds"]] == [TOO_EASY_QUESTION, ACCEPTED_QUESTION]
    assert [r["question"] for r in eviction["rounds"]] == [FORMAT_QUESTION, QUALITY_QUESTION]
    assert cache["reasons"] == ["too_easy", "accepted"] and eviction["reasons"] == ["format", "quality"]


def test_verdicts_scores_and_the_feedback_sent_next(fake_run):
    cache, eviction = read_trajectories(fake_run)
    easy = cache["rounds"][0]
    assert easy["weak_scores"] == [1.0, 1.0] and easy["strong_scores"] == [] and easy["weak_mean"] == 1.0
    assert [(v["reason"], v["item"]["question"]) for v in easy["verdicts"]] == [("passed", TOO_EASY_QUESTION)]
    # the feedback the orchestrator sent into round 2: the grouped attempts and its advice
    assert "TOO EASY" in easy["feedback_next"] and TOO_EASY_QUESTION in easy["feedback_next"]
    assert ADVICE in easy["feedback_next"]
    formatted, quality = eviction["rounds"]
    assert formatted["verdicts"][0]["reason"] == "format" and formatted["detail"]
    sent = formatted["feedback_next"]
    assert "FAILED QUALITY CHECK" in sent and FORMAT_QUESTION in sent
    assert quality["feedback_next"] is None  # the unit's last round: nothing was sent after it
    assert quality["verdicts"][0]["reason"] == "quality" and "answerable by recall" in quality["detail"]


def test_the_accepted_item_is_attached_to_its_round(fake_run):
    cache, eviction = read_trajectories(fake_run)
    accepted = cache["rounds"][1]["accepted"]
    assert accepted is not None and cache["accepted"] == [accepted]
    assert accepted["question"] == ACCEPTED_QUESTION and accepted["context"] and accepted["answer"]
    assert accepted["rubric"] and accepted["strong_scores"] == [1.0, 1.0]
    assert cache["rounds"][1]["weak_scores"] == [0.0, 0.0] and cache["rounds"][1]["gap"] == 1.0
    assert eviction["accepted"] == [] and all(r["accepted"] is None for r in eviction["rounds"])


def test_units_are_found_by_id_path_and_name(fake_run):
    units = read_trajectories(fake_run)
    cache = units[0]
    assert find_units(units, cache["id"]) == [cache]
    assert find_units(units, "cache.md") == [cache]
    assert find_units(units, cache["source"]) == [cache]
    assert find_units(units, "nothing.md") == []


def test_not_a_run_directory(tmp_path):
    with pytest.raises(ReportError, match="not a run directory"):
        read_trajectories(tmp_path)


def rejected(round_, attempt, reason, **over):
    return {
        "id": f"t-a{attempt}", "source": {"path": "p/doc.md#s2", "span": [10, 90]}, "round": round_,
        "attempt": attempt, "counted": reason != "call_failed", "reason": reason, "detail": reason,
        "question": f"q{attempt}", "weak_scores": [], "strong_scores": [], "weak_mean": None,
        "strong_mean": None, "gap": None, "screenings": [{"index": 0, "reason": reason, "feedback": "f"}],
        **over,
    }  # fmt: skip


def test_round_order_with_failed_calls_several_items_and_an_old_run():
    """Records as a run without feedback_next or the candidates' items wrote them; a failed call shares the
    next round's number; a second item of the unit is numbered after the first."""
    source = {"path": "p/doc.md#s2", "span": [10, 90]}
    accepted = [
        {"id": "x1", "source": source, "question": "first", "rounds": 2},
        {"id": "x2", "source": source, "question": "second", "rounds": 2},
    ]
    records = [rejected(3, 4, "too_easy"), rejected(1, 1, "format"), rejected(2, 2, "call_failed")]
    [unit] = unit_trajectories(accepted, records)
    assert [(r["round"], r["reason"]) for r in unit["rounds"]] == [
        (1, "format"), (2, "call_failed"), (2, "accepted"), (3, "too_easy"), (4, "accepted")
    ]  # fmt: skip
    assert [r["question"] for r in unit["rounds"]] == ["q1", "q2", "first", "q4", "second"]
    assert unit["accepted"] == accepted and unit["outcome"] == "accepted"
    assert all(r["feedback_next"] is None for r in unit["rounds"])
    assert unit["rounds"][0]["verdicts"] == [{"index": 0, "reason": "format", "feedback": "f", "item": None}]
    assert unit["document"] == "p/doc.md" and unit["name"] == "doc.md#s2" and unit["span"] == [10, 90]
    assert find_units([unit], "doc.md") == [unit]  # a document's name finds its sections
    json.dumps(unit)  # plain data
