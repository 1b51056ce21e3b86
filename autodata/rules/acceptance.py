"""Acceptance presets: pure functions of the judge scores. The harness, not an LLM, decides.

Scores are per solver sample in [0, 1] (verifiable items: 1 correct, 0 wrong). Every threshold is compared
with a tolerance of ``EPS``: rubric scores are ratios of small integers (3/5 points), and a float mean that
is exactly on a boundary (0.6 and 0.7 -> 0.65) lands a few ulp either side of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product

from autodata.core.numbers import mean as mean_of

PRESETS = ("rubric", "rubric_strict", "verifiable", "verifiable_majority")
DEFAULT_PRESET = {"rubric": "rubric", "verifiable": "verifiable"}
EPS = 1e-9


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str
    """``accepted`` or the rejection reason: ``too_easy``, ``weak_zero``, ``strong_failed``,
    ``strong_too_easy``, ``strong_zero``, ``gap_too_small``, ``no_scores``."""
    detail: str


def _at_least(value: float, threshold: float) -> bool:
    """``value >= threshold`` up to ``EPS``."""
    return value >= threshold - EPS


def _below(value: float, threshold: float) -> bool:
    return not _at_least(value, threshold)


def _above(value: float, threshold: float) -> bool:
    """``value > threshold`` up to ``EPS``."""
    return value > threshold + EPS


def _at_most(value: float, threshold: float) -> bool:
    return not _above(value, threshold)


def _mean(scores: Sequence[float]) -> float:
    return mean_of(scores) or 0.0


def _fmt(scores: Sequence[float]) -> str:
    return "[" + ", ".join(f"{s:.2f}" for s in scores) + "]"


def _ok(weak: Sequence[float], strong: Sequence[float]) -> Verdict:
    gap = _mean(strong) - _mean(weak)
    return Verdict(True, "accepted", f"weak {_mean(weak):.2f}, strong {_mean(strong):.2f}, gap {gap:.2f}")


def _correct_fraction(scores: Sequence[float]) -> float:
    return sum(1 for s in scores if _at_least(s, 0.5)) / len(scores) if scores else 0.0


# --- weak gates: may the item go on to the (costly) strong solver? ---------------------------------


def rubric_weak_gate(weak: Sequence[float]) -> Verdict | None:
    if not weak:
        return Verdict(False, "no_scores", "no weak scores")
    if _at_least(_mean(weak), 0.50):
        return Verdict(False, "too_easy", f"weak mean {_mean(weak):.2f} >= 0.50 {_fmt(weak)}")
    return None


def rubric_strict_weak_gate(weak: Sequence[float]) -> Verdict | None:
    if not weak:
        return Verdict(False, "no_scores", "no weak scores")
    if _above(_mean(weak), 0.65):
        return Verdict(False, "too_easy", f"weak mean {_mean(weak):.2f} > 0.65 {_fmt(weak)}")
    if _above(max(weak), 0.75):
        return Verdict(False, "too_easy", f"a weak sample scored {max(weak):.2f} > 0.75 {_fmt(weak)}")
    if _at_most(min(weak), 0.0):
        return Verdict(False, "weak_zero", f"a weak sample scored 0 {_fmt(weak)}")
    return None


def verifiable_weak_gate(weak: Sequence[float]) -> Verdict | None:
    if not weak:
        return Verdict(False, "no_scores", "no weak scores")
    if _above(_correct_fraction(weak), 0.25):
        return Verdict(False, "too_easy", f"weak correct {_correct_fraction(weak):.0%} > 25% {_fmt(weak)}")
    return None


def verifiable_majority_weak_gate(weak: Sequence[float]) -> Verdict | None:
    if not weak:
        return Verdict(False, "no_scores", "no weak scores")
    if _at_least(_correct_fraction(weak), 0.5):
        return Verdict(False, "too_easy", f"weak majority correct {_fmt(weak)}")
    return None


# --- full rules -------------------------------------------------------------------------------------


def rubric(weak: Sequence[float], strong: Sequence[float]) -> Verdict:
    """Paper rule: strong mean >= 0.65, weak mean < 0.50, strong - weak >= 0.20."""
    if gate := rubric_weak_gate(weak):
        return gate
    if not strong:
        return Verdict(False, "no_scores", "no strong scores")
    if _below(_mean(strong), 0.65):
        return Verdict(False, "strong_failed", f"strong mean {_mean(strong):.2f} < 0.65 {_fmt(strong)}")
    if _below(_mean(strong) - _mean(weak), 0.20):
        return Verdict(False, "gap_too_small", f"gap {_mean(strong) - _mean(weak):.2f} < 0.20")
    return _ok(weak, strong)


def rubric_strict(weak: Sequence[float], strong: Sequence[float]) -> Verdict:
    """Deployed rule: weak mean <= 0.65, max weak <= 0.75, no weak 0; 0.60 <= strong mean < 0.95,
    no strong 0; gap >= 0.20."""
    if gate := rubric_strict_weak_gate(weak):
        return gate
    if not strong:
        return Verdict(False, "no_scores", "no strong scores")
    if _below(_mean(strong), 0.60):
        return Verdict(False, "strong_failed", f"strong mean {_mean(strong):.2f} < 0.60 {_fmt(strong)}")
    if _at_least(_mean(strong), 0.95):
        return Verdict(False, "strong_too_easy", f"strong mean {_mean(strong):.2f} >= 0.95")
    if _at_most(min(strong), 0.0):
        return Verdict(False, "strong_zero", f"a strong sample scored 0 {_fmt(strong)}")
    if _below(_mean(strong) - _mean(weak), 0.20):
        return Verdict(False, "gap_too_small", f"gap {_mean(strong) - _mean(weak):.2f} < 0.20")
    return _ok(weak, strong)


def verifiable(weak: Sequence[float], strong: Sequence[float]) -> Verdict:
    """Weak correct <= 1/4 of samples and strong correct >= 3/4 (k = 4 in the paper)."""
    if gate := verifiable_weak_gate(weak):
        return gate
    if not strong:
        return Verdict(False, "no_scores", "no strong scores")
    if _below(_correct_fraction(strong), 0.75):
        return Verdict(
            False, "strong_failed", f"strong correct {_correct_fraction(strong):.0%} < 75% {_fmt(strong)}"
        )
    return _ok(weak, strong)


def verifiable_majority(weak: Sequence[float], strong: Sequence[float]) -> Verdict:
    """Majority vote: strong majority right, weak majority wrong."""
    if gate := verifiable_majority_weak_gate(weak):
        return gate
    if not strong:
        return Verdict(False, "no_scores", "no strong scores")
    if _at_most(_correct_fraction(strong), 0.5):
        return Verdict(False, "strong_failed", f"strong majority not correct {_fmt(strong)}")
    return _ok(weak, strong)


RULES: dict[str, Callable[[Sequence[float], Sequence[float]], Verdict]] = {
    "rubric": rubric,
    "rubric_strict": rubric_strict,
    "verifiable": verifiable,
    "verifiable_majority": verifiable_majority,
}
WEAK_GATES: dict[str, Callable[[Sequence[float]], Verdict | None]] = {
    "rubric": rubric_weak_gate,
    "rubric_strict": rubric_strict_weak_gate,
    "verifiable": verifiable_weak_gate,
    "verifiable_majority": verifiable_majority_weak_gate,
}


def resolve_preset(mode: str, preset: str | None) -> str:
    name = preset or DEFAULT_PRESET[mode]
    if name not in RULES:
        raise ValueError(f"unknown acceptance preset {name!r}; choose one of {list(RULES)}")
    return name


def decide(preset: str, weak: Sequence[float], strong: Sequence[float]) -> Verdict:
    return RULES[preset](weak, strong)


def weak_gate(preset: str, weak: Sequence[float]) -> Verdict | None:
    """A rejection when the weak scores alone already fail ``preset`` (the strong solver is skipped)."""
    return WEAK_GATES[preset](weak)


def mean(scores: Sequence[float]) -> float:
    return round(_mean(scores), 4)


def settled_rejection(preset: str, weak: Sequence[float], strong: Sequence[float], k: int) -> Verdict | None:
    """The rejection that right/wrong (0/1) scores of a phase already fix before its ``k`` samples are all in,
    or None while the outcome is open. The phase is the strong one once it has scores, else the weak one.
    Settled means: every way the missing samples could score gives this same rejection, and so do the scores
    drawn so far (the record then holds fewer than ``k``). Acceptance is never settled early."""
    drawn = list(strong if strong else weak)
    missing = k - len(drawn)
    if missing <= 0 or any(s not in (0.0, 1.0) for s in [*weak, *strong]):
        return None

    def verdict(scores: list[float]) -> Verdict | None:
        return decide(preset, weak, scores) if strong else weak_gate(preset, scores)

    now = verdict(drawn)
    if now is None or now.accepted:
        return None
    for rest in product((0.0, 1.0), repeat=missing):
        later = verdict([*drawn, *rest])
        if later is None or later.reason != now.reason:
            return None
    return now
