"""The meta-optimiser's decisions, in code: which variant to roll out next, whether a child beats its
parent, which variant is best. Pure, no I/O."""

from __future__ import annotations

import math
import random

from autodata.core.meta_state import EvalResult, VariantInfo
from autodata.core.numbers import mean

IN_POPULATION = ("seed", "accepted")
"""Variant statuses that stay candidates for selection."""


def score(info: VariantInfo) -> float:
    """A variant's validation pass rate, averaged over its evaluations (0 before the first one)."""
    return mean(info["val_pass_rates"]) or 0.0


def gap(info: VariantInfo) -> float:
    return mean(info["val_gaps"]) or 0.0


def boltzmann_pick(ids: list[str], scores: list[float], temperature: float, rng: random.Random) -> str:
    """Sample one id with probability proportional to exp(score / T) (T <= 0: the best one)."""
    if temperature <= 0:
        return max(zip(scores, ids, strict=True))[1]
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    return rng.choices(ids, weights=weights, k=1)[0]


def best_variant(variants: dict[str, VariantInfo]) -> str:
    population = [v for v in variants.values() if v["status"] in IN_POPULATION]
    return max(population, key=lambda v: (score(v), gap(v), -v["iteration"]))["id"]


def is_better(child: EvalResult, parent: VariantInfo) -> bool:
    """Strictly better on validation pass rate than the parent's average; ties broken by mean gap."""
    parent_rate = score(parent)
    if not math.isclose(child["pass_rate"], parent_rate, abs_tol=1e-9):
        return child["pass_rate"] > parent_rate
    return child["mean_gap"] > gap(parent) + 1e-9
