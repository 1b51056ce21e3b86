"""``autodata evaluate``: re-solve every accepted item of one or more runs with fresh samples and report.

Independent of generation: new weak and strong calls (k each, no weak gate), graded by the same solver and
judge node code as the inner loop (``nodes/solvers.py``, ``nodes/judge.py``). Per run: items, weak mean,
strong mean, gap with a seeded bootstrap 95% confidence interval (over items), share of items where strong >
weak, leakage rate (``autodata/rules/leakage.py``), format compliance (``autodata/rules/format_rules.py``),
duplicate rate (near-duplicates as generation filters them, ``autodata/rules/dedup.py``) and the generation
cost per accepted item (LLM calls and tokens from ``summary.json``). Writes ``evaluation.json`` into each run
directory.

The metric functions are plain and pure; ``evals/langsmith_evaluators.py`` wraps them as LangSmith
evaluators.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from rich.table import Table

from autodata.core.context import RunContext
from autodata.core.numbers import mean
from autodata.core.records import CallRecord, read_accepted
from autodata.core.state import Item
from autodata.llm.accounting import summarize_calls
from autodata.nodes.judge import judge
from autodata.nodes.solvers import solve
from autodata.rules.dedup import near_duplicates
from autodata.rules.format_rules import check_format
from autodata.rules.leakage import check_leakage

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
EVALUATION_FILE = "evaluation.json"

# ---------------------------------------------------------------------------------------------- metrics


def mean_or_none(values: list[float]) -> float | None:
    return mean(values, places=4)


def duplicate_of(questions: list[str]) -> list[int | None]:
    """For each question, the index of an earlier near-duplicate, or None: the definition generation
    filters with (``autodata.rules.dedup``, similarity 0.8)."""
    return near_duplicates(questions)


def duplicate_rate(questions: list[str]) -> float | None:
    if not questions:
        return None
    flags = duplicate_of(questions)
    return round(sum(f is not None for f in flags) / len(questions), 4)


def is_leaky(record: dict[str, Any]) -> bool:
    return check_leakage(
        record.get("answer", ""), record.get("context", ""), record.get("question", "")
    ).leaked


def is_format_compliant(record: dict[str, Any]) -> bool:
    return all(r.passed for r in check_format(record, record.get("mode") or "rubric"))


def bootstrap_ci(
    values: list[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean (seeded, so reports are reproducible)."""
    if not values:
        return None
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    alpha = (1 - level) / 2
    lo = means[int(alpha * (resamples - 1))]
    hi = means[round((1 - alpha) * (resamples - 1))]
    return round(lo, 4), round(hi, 4)


def summarize_items(items: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Run metrics from per-item results (``weak_scores``, ``strong_scores``, ``question``, ``answer``,
    ``context``, ``mode``, ...). Means are over items with both weak and strong scores."""
    scored = [
        (mean_or_none(i["weak_scores"]), mean_or_none(i["strong_scores"]))
        for i in items
        if i.get("weak_scores") and i.get("strong_scores")
    ]
    weak = [w for w, _ in scored]
    strong = [s for _, s in scored]
    gaps = [s - w for w, s in scored]
    ci = bootstrap_ci(gaps, seed=seed)
    weak_ci, strong_ci = bootstrap_ci(weak, seed=seed), bootstrap_ci(strong, seed=seed)
    n = len(items)
    return {
        "items": n,
        "scored_items": len(scored),
        "weak_mean": mean_or_none(weak),
        "weak_ci95": list(weak_ci) if weak_ci else None,
        "strong_mean": mean_or_none(strong),
        "strong_ci95": list(strong_ci) if strong_ci else None,
        "gap": mean_or_none(gaps),
        "gap_ci95": list(ci) if ci else None,
        "strong_beats_weak": round(sum(g > 0 for g in gaps) / len(gaps), 4) if gaps else None,
        "leakage_rate": round(sum(is_leaky(i) for i in items) / n, 4) if n else None,
        "format_compliance": round(sum(is_format_compliant(i) for i in items) / n, 4) if n else None,
        "duplicate_rate": duplicate_rate([i.get("question", "") for i in items]),
    }


def generation_cost(run_dir: Path, items: int) -> dict[str, Any]:
    """LLM calls and tokens per accepted item, from the run's ``summary.json`` (None when missing)."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        return {"calls_per_item": None, "tokens_per_item": None}
    calls = json.loads(path.read_text(encoding="utf-8")).get("calls", {})
    total_calls = sum(int(r.get("calls", 0)) for r in calls.values())
    tokens = sum(int(r.get("input_tokens", 0)) + int(r.get("output_tokens", 0)) for r in calls.values())
    if not items:
        return {"calls_per_item": None, "tokens_per_item": None, "calls": total_calls, "tokens": tokens}
    return {
        "calls_per_item": round(total_calls / items, 2),
        "tokens_per_item": round(tokens / items, 1),
        "calls": total_calls,
        "tokens": tokens,
    }


# ---------------------------------------------------------------------------------------------- solving


def to_item(record: dict[str, Any]) -> Item:
    return Item(
        question_type=record.get("question_type", ""),
        skills=list(record.get("skills") or []),
        context=record["context"],
        question=record["question"],
        answer=record["answer"],
        rubric=list(record.get("rubric") or []),
    )


def _scores(samples: list[dict]) -> list[float]:
    return [s["score"] for s in samples if s["score"] is not None]


async def resolve_record(
    record: dict[str, Any], models: Any, samples: int
) -> tuple[list[float], list[float], list[CallRecord]]:
    """Fresh weak and strong answers (k each, both always), graded by the judge node."""
    runtime = Runtime(context=RunContext(mode=record.get("mode") or "rubric", samples=samples, models=models))
    source = (record.get("source") or {}).get("path", "")
    state: dict[str, Any] = {"current": to_item(record), "source": source, "round": 0, "attempt": 0}
    calls: list[CallRecord] = []
    scores: dict[str, list[float]] = {}
    for role, phase in (("weak_solver", "weak"), ("strong_solver", "strong")):
        solved = await solve({**state, "phase": phase}, runtime, role, phase, all_k=True)
        graded = await judge({**state, "phase": phase, phase: solved[phase]}, runtime)
        calls += solved["calls"] + graded["calls"]
        scores[phase] = _scores(graded[phase])
    return scores["weak"], scores["strong"], calls


async def evaluate_run(
    run_dir: str | Path, models: Any, samples: int = 4, seed: int = 0, concurrency: int = 4
) -> dict[str, Any]:
    run_dir = Path(run_dir)
    records = read_accepted(run_dir, model=None).records
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(record: dict[str, Any]):
        async with semaphore:
            return await resolve_record(record, models, samples)

    results = await asyncio.gather(*(one(r) for r in records))
    dup = duplicate_of([r.get("question", "") for r in records])
    items, calls = [], []
    for record, (weak, strong, item_calls), dup_index in zip(records, results, dup, strict=True):
        calls += item_calls
        items.append(
            {
                "id": record.get("id"),
                "question": record.get("question", ""),
                "context": record.get("context", ""),
                "answer": record.get("answer", ""),
                "rubric": record.get("rubric", []),
                "question_type": record.get("question_type", ""),
                "skills": record.get("skills", []),
                "mode": record.get("mode") or "rubric",
                "weak_scores": weak,
                "strong_scores": strong,
                "weak_mean": mean_or_none(weak),
                "strong_mean": mean_or_none(strong),
                "leaked": is_leaky(record),
                "format_ok": is_format_compliant(record),
                "duplicate_of": records[dup_index].get("id") if dup_index is not None else None,
            }
        )
    metrics = summarize_items(items, seed=seed)
    metrics.update(generation_cost(run_dir, len(records)))
    eval_calls = summarize_calls(calls)
    metrics["eval_calls_per_item"] = round(len(calls) / len(records), 2) if records else None
    report = {
        "run": str(run_dir),
        "samples": samples,
        "seed": seed,
        "metrics": metrics,
        "evaluation_calls": eval_calls,
        "items": [
            {k: v for k, v in i.items() if k not in ("context", "rubric", "skills", "question_type")}
            for i in items
        ],
    }
    (run_dir / EVALUATION_FILE).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


async def evaluate_runs(
    run_dirs: list[str | Path], models: Any, samples: int = 4, seed: int = 0, concurrency: int = 4
) -> list[dict[str, Any]]:
    """Runs one after the other (same models, same seed), so the comparison is like for like."""
    return [await evaluate_run(d, models, samples, seed, concurrency) for d in run_dirs]


# ---------------------------------------------------------------------------------------------- report

ROWS = (
    ("items", "items", "{}"),
    ("scored items", "scored_items", "{}"),
    ("weak mean", "weak_mean", "{:.3f}"),
    ("weak mean 95% CI (bootstrap)", "weak_ci95", None),
    ("strong mean", "strong_mean", "{:.3f}"),
    ("strong mean 95% CI (bootstrap)", "strong_ci95", None),
    ("gap (strong - weak)", "gap", "{:+.3f}"),
    ("gap 95% CI (bootstrap)", "gap_ci95", None),
    ("strong > weak", "strong_beats_weak", "{:.0%}"),
    ("leakage rate", "leakage_rate", "{:.0%}"),
    ("format compliance", "format_compliance", "{:.0%}"),
    ("duplicate rate", "duplicate_rate", "{:.0%}"),
    ("LLM calls / item (generation)", "calls_per_item", "{:.1f}"),
    ("tokens / item (generation)", "tokens_per_item", "{:,.0f}"),
    ("LLM calls / item (evaluation)", "eval_calls_per_item", "{:.1f}"),
)


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return "-"
    if fmt is None:
        return f"[{value[0]:+.3f}, {value[1]:+.3f}]"
    return fmt.format(value)


def render_table(reports: list[dict[str, Any]], title: str = "autodata evaluation") -> Table:
    """One column per run, side by side."""
    table = Table(title=title)
    table.add_column("metric")
    for report in reports:
        table.add_column(Path(report["run"]).name or report["run"], justify="right")
    for label, key, fmt in ROWS:
        table.add_row(label, *(_cell(r["metrics"].get(key), fmt) for r in reports))
    return table
