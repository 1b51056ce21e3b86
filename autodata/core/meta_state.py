"""State and runtime context of the outer meta-optimisation loop (``graphs/meta_optimize.py``).

The state holds only small, JSON-like data (it is checkpointed after every node); prompt texts live in
the run directory (``variants/<id>/``) and documents in the context.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired

from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypedDict

from autodata.core.context import RunContext


class Cost(TypedDict):
    calls: int
    failed: int
    input_tokens: int
    output_tokens: int


def add_costs(left: Cost | None, right: Cost | None) -> Cost:
    """Reducer: costs reported by parallel branches add up."""
    out = Cost(calls=0, failed=0, input_tokens=0, output_tokens=0)
    parts: tuple[Mapping[str, Any], ...] = (left or {}, right or {})
    for part in parts:
        for key in out:
            out[key] += int(part.get(key, 0))  # type: ignore[literal-required]
    return out


def cost_diff(now: Cost | None, before: Cost | None) -> Cost:
    """What was spent between two running totals (a missing one counts as nothing spent)."""
    now, before = add_costs(None, now), add_costs(None, before)
    return Cost(
        calls=now["calls"] - before["calls"],
        failed=now["failed"] - before["failed"],
        input_tokens=now["input_tokens"] - before["input_tokens"],
        output_tokens=now["output_tokens"] - before["output_tokens"],
    )


class VariantInfo(TypedDict):
    id: str
    parent: str | None
    iteration: int
    status: str
    """``seed``, ``accepted`` (in the population), ``rejected``, ``duplicate``, ``invalid`` or ``pending``."""
    changed_prompt: str | None
    text_hash: str
    val_pass_rates: list[float]
    val_gaps: list[float]


class Edit(TypedDict):
    """The editor's edit (autodata/rules/schemas.py: EditOut): one part of one optimised prompt, rewritten."""

    prompt: str
    part: int
    new_text: str
    rationale: str


class EvalResult(TypedDict):
    """One validation run of one variant (the payload fanned in from a parallel ``evaluate`` branch)."""

    iteration: int
    variant: str
    role: str
    """``parent`` or ``child``."""
    documents: int
    accepted: int
    pass_rate: float
    mean_gap: float
    reasons: dict[str, int]
    cost: Cost


class EvalTask(TypedDict):
    """Payload of one ``evaluate`` branch (sent with ``Send``)."""

    iteration: int
    variant: str
    role: str


class MetaInput(TypedDict):
    run: NotRequired[str]
    """Free label of the invocation (an empty input starts or continues the loop)."""


class MetaState(TypedDict, total=False):
    run: str
    iteration: int
    """Completed iterations."""
    variants: dict[str, VariantInfo]
    parent: str
    child: str | None
    minibatch: list[str]
    trajectories: str
    rollout: dict[str, Any]
    analysis: str
    edit: Edit | None
    outcome: str
    """``pending`` (evaluate both), ``invalid`` (guardrail or failed edit) or ``duplicate``."""
    outcome_detail: str
    cost_at_start: Cost
    evals: Annotated[list[EvalResult], operator.add]
    cost: Annotated[Cost, add_costs]
    log: Annotated[list[dict[str, Any]], operator.add]


@dataclass
class MetaContext:
    out_dir: str = "runs/optimize"
    train: SkipJsonSchema[list[Any]] = field(default_factory=list)
    """Training documents (:class:`autodata.data.documents.Document`)."""
    val: SkipJsonSchema[list[Any]] = field(default_factory=list)
    """Validation documents."""
    iterations: int = 5
    budget: int | None = None
    """Maximum LLM calls of the whole optimisation (checked before each iteration starts)."""
    minibatch: int = 2
    temperature: float = 0.1
    seed: int = 0
    concurrency: int = 2
    """Documents of one inner run in flight at once."""
    similarity: float = 0.99
    """Variants whose every prompt is at least this similar (difflib ratio, normalised) are duplicates."""
    inner: SkipJsonSchema[Any] = None
    """The inner :class:`RunContext` template (mode, samples, rounds, models); prompts_dir is per variant."""

    def inner_context(self) -> RunContext:
        if self.inner is None:
            self.inner = RunContext()
        inner: RunContext = self.inner
        return inner
