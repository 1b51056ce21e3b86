"""Grading against a rubric, shared by the judge node (nodes/judge.py) and the rubric reward
(autodata/data/rewards.py): the rubric as the judge reads it, the check of the judge's reply, and the score
computed in code from its per-criterion verdicts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autodata.core.state import Criterion
from autodata.rules.schemas import VERDICT_SCORE, RubricJudgeOut


def format_rubric(rubric: Sequence[Mapping[str, Any]]) -> str:
    if not rubric:
        return "(none)"
    return "\n".join(f"[{c['id']}] ({c['points']:+d} points) {c['description']}" for c in rubric)


def rubric_score(rubric: list[Criterion], verdicts: dict[int, str]) -> float:
    """Weighted score in [0, 1]: earned positive points / total positive points, minus triggered penalties.

    A criterion the judge did not score counts as unmet (never as a pass)."""
    positive = sum(c["points"] for c in rubric if c["points"] > 0)
    if positive <= 0:
        return 0.0
    earned = 0.0
    for c in rubric:
        value = VERDICT_SCORE.get(verdicts.get(c["id"], "unmet"), 0.0)
        earned += c["points"] * value  # negative points subtract when the mistake is "met"
    return round(min(1.0, max(0.0, earned / positive)), 4)


def rubric_validator(rubric: list[Criterion]) -> Callable[[RubricJudgeOut], str | None]:
    ids = {c["id"] for c in rubric}

    def validate(out: RubricJudgeOut) -> str | None:
        scored = {s.criterion_id for s in out.scores} & ids
        if not scored:
            return f"no score refers to a rubric criterion; criterion_id must be one of {sorted(ids)}"
        return None

    return validate
