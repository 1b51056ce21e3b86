"""CoT Self-Instruct baseline: the challenger reasons about the source (and optional seed examples) and
writes the item and its answer (and rubric) in one pass. No brief from an orchestrator, no feedback.

Seed examples are optional: a ``cot_seeds.jsonl`` file (one ``{"question": ..., "answer": ...}`` object a
line) in the prompt-variant directory (``RunContext.prompts_dir``, ``--prompts DIR``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

from annotated_types import MinLen
from langgraph.runtime import Runtime
from pydantic import BaseModel

from autodata.core.context import RunContext
from autodata.core.state import SelfInstructState
from autodata.nodes.challenger import item_prompt_values, write_candidate
from autodata.nodes.common import context
from autodata.prompts.loader import fence, load_prompt
from autodata.rules.schemas import RubricItemOut, VerifiableItemOut, bounded
from autodata.rules.windows import reflow

SEEDS_FILE = "cot_seeds.jsonl"
MAX_SEEDS = 3
REASONING_MIN_CHARS = 40


class CotReasoning(BaseModel):
    reasoning: Annotated[
        str,
        bounded(
            1000, "step-by-step analysis of the source before writing the item", min_chars=REASONING_MIN_CHARS
        ),
        MinLen(REASONING_MIN_CHARS),  # checked after stripping: blank reasoning is not reasoning
    ]


# Pydantic orders fields from the last base of the MRO: listing CotReasoning last makes `reasoning` the first
# property, which grammar-constrained decoding writes first (the model thinks before it writes the item).
class CotVerifiableItemOut(VerifiableItemOut, CotReasoning):
    pass


class CotRubricItemOut(RubricItemOut, CotReasoning):
    pass


def load_seeds(prompts_dir: str | None, limit: int = MAX_SEEDS) -> list[dict[str, Any]]:
    """Seed examples from ``<prompts_dir>/cot_seeds.jsonl`` (missing file or bad lines: ignored)."""
    if not prompts_dir:
        return []
    path = Path(prompts_dir) / SEEDS_FILE
    if not path.is_file():
        return []
    seeds = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("question"):
            seeds.append(data)
        if len(seeds) >= limit:
            break
    return seeds


def format_seeds(seeds: list[dict[str, Any]]) -> str:
    if not seeds:
        return "(none given)"
    return "\n\n".join(
        f"Example {i + 1}\nQuestion: {s['question']}\nAnswer: {s.get('answer', '')}"
        for i, s in enumerate(seeds)
    )


async def cot_challenger(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    ctx = context(runtime)
    schema = CotRubricItemOut if ctx.mode == "rubric" else CotVerifiableItemOut
    messages = load_prompt("cot_challenger", ctx.prompts_dir).render(
        source=state["source"],
        document=fence(reflow(state["document"])),
        seeds=format_seeds(load_seeds(ctx.prompts_dir)),
        **item_prompt_values(ctx, schema),
    )
    n = max(1, state.get("num_candidates", 1))
    results = await asyncio.gather(
        *(
            write_candidate(
                runtime,
                messages,
                schema,
                source=state["source"],
                round=state["round"],
                attempt=state["attempt"],
                index=i,
                window=state["document"],
                method="cot_self_instruct",
            )
            for i in range(n)
        )
    )
    return {"candidates": [c for c, _ in results], "calls": [r for _, records in results for r in records]}
