"""Run one prompt variant through the inner graph, in process, and read its trajectories.

The outer graph passes the compiled inner graph in (graphs/meta_optimize.py), compiled without a
checkpointer: an inner run is short, and it must not write into the outer graph's checkpoints (the outer
node that calls it is the unit of resumption).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, TypeAlias

from langgraph.graph.state import CompiledStateGraph

from autodata.core.context import RunContext
from autodata.core.meta_state import Cost, add_costs
from autodata.core.numbers import number
from autodata.core.records import CallRecord
from autodata.core.state import SelfInstructInput, SelfInstructState
from autodata.data.documents import Document

InnerGraph: TypeAlias = CompiledStateGraph[
    SelfInstructState, RunContext, SelfInstructInput, SelfInstructState
]
"""The compiled inner graph (graphs/self_instruct.py) a variant runs through."""


def cost_of(calls: list[CallRecord]) -> Cost:
    return Cost(
        calls=len(calls),
        failed=sum(1 for c in calls if not c["ok"]),
        input_tokens=sum(int(c.get("input_tokens") or 0) for c in calls),
        output_tokens=sum(int(c.get("output_tokens") or 0) for c in calls),
    )


async def run_variant(
    graph: InnerGraph,
    documents: list[Document],
    base: RunContext,
    prompts_dir: str,
    variant: str,
    concurrency: int = 2,
) -> list[dict[str, Any]]:
    """Final state of the inner ``graph`` per document (``status`` ``error`` when the run raised)."""
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(doc: Document) -> dict[str, Any]:
        ctx = dataclasses.replace(base, prompts_dir=prompts_dir, variant=variant)
        if doc.mode and doc.mode != ctx.mode:
            ctx = dataclasses.replace(ctx, mode=doc.mode, preset=None)
        async with semaphore:
            try:
                values = await graph.ainvoke(
                    {"document": doc.text, "source": doc.path},
                    {"run_name": f"{variant}:{doc.path}", "recursion_limit": 200},
                    context=ctx,
                )
            except Exception as exc:  # one bad document never stops the optimisation
                return {"source": doc.path, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
        return dict(values)

    return list(await asyncio.gather(*(one(d) for d in documents)))


def metrics(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Validation pass rate (accepted items / documents), mean gap, rejection reasons, cost."""
    accepted = sum(1 for r in results if r.get("accepted"))
    gaps = [g for r in results for g in [rd.get("gap") for rd in r.get("rounds", [])] if g is not None]
    reasons: dict[str, int] = {}
    for r in results:
        for rd in r.get("rounds", []):
            reasons[rd["reason"]] = reasons.get(rd["reason"], 0) + 1
        if r.get("status") == "error":
            reasons["error"] = reasons.get("error", 0) + 1
    cost = add_costs(None, cost_of([c for r in results for c in r.get("calls", [])]))
    return {
        "documents": len(results),
        "accepted": accepted,
        "pass_rate": round(accepted / len(results), 4) if results else 0.0,
        "mean_gap": round(sum(gaps) / len(gaps), 4) if gaps else 0.0,
        "reasons": reasons,
        "cost": cost,
    }


def _f(value: float | None) -> str:
    return number(value)


def trajectories(results: list[dict[str, Any]], max_chars: int = 12_000) -> str:
    """What the analyzer reads: per document and round the item, the verdict, scores, judge failure modes
    and the verifier's feedback."""
    parts = []
    for r in results:
        lines = [f"# Document {r.get('source', '?')}: {r.get('status', '?')}"]
        if r.get("status") == "error":
            lines.append(f"error: {r.get('error')}")
        for rd in r.get("rounds", []):
            item = rd.get("item") or {}
            lines.append(
                f"## round {rd['round']} (attempt {rd['attempt']}): {rd['reason']}"
                f"{'' if rd['counted'] else ' (not counted: failed call)'}"
            )
            if rd.get("detail"):
                lines.append(f"verdict detail: {rd['detail'][:300]}")
            if item:
                lines.append(f"question type: {item.get('question_type', '')}")
                lines.append(f"question: {item.get('question', '')[:400]}")
                lines.append(f"reference answer: {item.get('answer', '')[:200]}")
            lines.append(
                f"weak scores {rd['weak_scores']} (mean {_f(rd['weak_mean'])}); strong scores "
                f"{rd['strong_scores']} (mean {_f(rd['strong_mean'])}); gap {_f(rd['gap'])}"
            )
            for s in rd.get("screenings", []):
                if not s["passed"]:
                    lines.append(f"verifier/screening ({s['reason']}): {s['feedback'][:300]}")
            for label in ("weak", "strong"):
                for i, sample in enumerate(rd.get(label, [])):
                    if sample.get("failure_modes"):
                        lines.append(f"judge on {label} answer {i + 1}: {sample['failure_modes'][:200]}")
        parts.append("\n".join(lines))
    text = "\n\n".join(parts) or "(no trajectories)"
    return text if len(text) <= max_chars else text[:max_chars] + "\n[... truncated]"
