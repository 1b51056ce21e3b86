"""The evaluation metrics as LangSmith evaluators (no network and no langsmith import needed to use them).

Row-level evaluators have the signature ``(run, example) -> {"key": ..., "score": ...}``; ``run`` is a
LangSmith ``Run`` (or anything with ``.outputs``, or a plain dict of outputs) whose outputs hold one item
(``question``, ``context``, ``answer``, ``rubric``, ``mode``, ...; an ``{"accepted": {...}}`` graph output
works too) and, for the score metrics, ``weak_scores`` / ``strong_scores``. ``example`` is unused (None is
fine). ``duplicate_rate_summary`` is a summary evaluator ``(runs, examples) -> {...}``.

    from langsmith import evaluate
    evaluate(target, data="...", evaluators=ROW_EVALUATORS, summary_evaluators=[duplicate_rate_summary])
"""

from __future__ import annotations

from typing import Any

from autodata.evals.evaluate import (
    duplicate_rate,
    is_format_compliant,
    is_leaky,
    mean_or_none,
)


def _outputs(run: Any) -> dict[str, Any]:
    outputs = run.get("outputs", run) if isinstance(run, dict) else getattr(run, "outputs", None)
    outputs = dict(outputs or {})
    if isinstance(outputs.get("accepted"), dict):  # the inner or baseline graph's final state
        outputs = outputs["accepted"]
    return outputs


def no_leakage(run: Any, example: Any = None) -> dict[str, Any]:
    """1 when the context and question do not give the answer away (``autodata/rules/leakage.py``)."""
    return {"key": "no_leakage", "score": 0.0 if is_leaky(_outputs(run)) else 1.0}


def format_compliance(run: Any, example: Any = None) -> dict[str, Any]:
    """1 when every coded format rule passes (``autodata/rules/format_rules.py``)."""
    return {"key": "format_compliance", "score": 1.0 if is_format_compliant(_outputs(run)) else 0.0}


def weak_mean(run: Any, example: Any = None) -> dict[str, Any]:
    return {"key": "weak_mean", "score": mean_or_none(list(_outputs(run).get("weak_scores") or []))}


def strong_mean(run: Any, example: Any = None) -> dict[str, Any]:
    return {"key": "strong_mean", "score": mean_or_none(list(_outputs(run).get("strong_scores") or []))}


def gap(run: Any, example: Any = None) -> dict[str, Any]:
    out = _outputs(run)
    weak = mean_or_none(list(out.get("weak_scores") or []))
    strong = mean_or_none(list(out.get("strong_scores") or []))
    score = round(strong - weak, 4) if weak is not None and strong is not None else None
    return {"key": "gap", "score": score}


def strong_beats_weak(run: Any, example: Any = None) -> dict[str, Any]:
    score = gap(run, example)["score"]
    return {"key": "strong_beats_weak", "score": None if score is None else float(score > 0)}


def duplicate_rate_summary(runs: list[Any], examples: list[Any] | None = None) -> dict[str, Any]:
    """Share of items whose question (near-)duplicates an earlier one."""
    return {"key": "duplicate_rate", "score": duplicate_rate([_outputs(r).get("question", "") for r in runs])}


ROW_EVALUATORS = [no_leakage, format_compliance, weak_mean, strong_mean, gap, strong_beats_weak]
