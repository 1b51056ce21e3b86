"""Acceptance thresholds on scores that are ratios of small integers (3/5 points): float means must not move
a verdict across a boundary. Each rule is checked against an exact-fraction reference of its docstring."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodata.rules.acceptance import PRESETS, decide, weak_gate


def _mean(scores: list[Fraction]) -> Fraction:
    return sum(scores, Fraction(0)) / len(scores)


def _correct(scores: list[Fraction]) -> Fraction:
    return Fraction(sum(1 for s in scores if s >= Fraction(1, 2)), len(scores))


def ref_rubric_weak(weak):
    """weak mean < 0.50"""
    if not weak:
        return "no_scores"
    return "too_easy" if _mean(weak) >= Fraction(1, 2) else None


def ref_rubric(weak, strong):
    """strong mean >= 0.65, weak mean < 0.50, strong - weak >= 0.20"""
    if reason := ref_rubric_weak(weak):
        return reason
    if not strong:
        return "no_scores"
    if _mean(strong) < Fraction(65, 100):
        return "strong_failed"
    if _mean(strong) - _mean(weak) < Fraction(20, 100):
        return "gap_too_small"
    return "accepted"


def ref_rubric_strict_weak(weak):
    """weak mean <= 0.65, max weak <= 0.75, no weak 0"""
    if not weak:
        return "no_scores"
    if _mean(weak) > Fraction(65, 100) or max(weak) > Fraction(75, 100):
        return "too_easy"
    return "weak_zero" if min(weak) == 0 else None


def ref_rubric_strict(weak, strong):
    """0.60 <= strong mean < 0.95, no strong 0; gap >= 0.20"""
    if reason := ref_rubric_strict_weak(weak):
        return reason
    if not strong:
        return "no_scores"
    if _mean(strong) < Fraction(60, 100):
        return "strong_failed"
    if _mean(strong) >= Fraction(95, 100):
        return "strong_too_easy"
    if min(strong) == 0:
        return "strong_zero"
    if _mean(strong) - _mean(weak) < Fraction(20, 100):
        return "gap_too_small"
    return "accepted"


def ref_verifiable_weak(weak):
    """weak correct <= 1/4 of samples"""
    if not weak:
        return "no_scores"
    return "too_easy" if _correct(weak) > Fraction(1, 4) else None


def ref_verifiable(weak, strong):
    """strong correct >= 3/4"""
    if reason := ref_verifiable_weak(weak):
        return reason
    if not strong:
        return "no_scores"
    return "strong_failed" if _correct(strong) < Fraction(3, 4) else "accepted"


def ref_majority_weak(weak):
    """weak majority wrong"""
    if not weak:
        return "no_scores"
    return "too_easy" if _correct(weak) >= Fraction(1, 2) else None


def ref_majority(weak, strong):
    """strong majority right"""
    if reason := ref_majority_weak(weak):
        return reason
    if not strong:
        return "no_scores"
    return "strong_failed" if _correct(strong) <= Fraction(1, 2) else "accepted"


REFERENCE = {
    "rubric": (ref_rubric, ref_rubric_weak),
    "rubric_strict": (ref_rubric_strict, ref_rubric_strict_weak),
    "verifiable": (ref_verifiable, ref_verifiable_weak),
    "verifiable_majority": (ref_majority, ref_majority_weak),
}

# rubric scores are points earned over total points, rounded to 4 decimals (nodes/judge.py rubric_score);
# small totals put means exactly on the thresholds
score = st.integers(1, 20).flatmap(
    lambda q: st.integers(0, q).map(lambda p: Fraction(round(Fraction(p, q) * 10_000), 10_000))
)
scores = st.lists(score, max_size=8)
THRESHOLDS = [Fraction(n, 100) for n in (20, 25, 50, 60, 65, 75, 95)]


@st.composite
def at_mean(draw, target=None):
    """A non-empty list whose mean is exactly a threshold (when the last score fits in [0, 1])."""
    target = target if target is not None else draw(st.sampled_from(THRESHOLDS))
    head = draw(st.lists(score, max_size=5))
    last = target * (len(head) + 1) - sum(head, Fraction(0))
    return [*head, last] if 0 <= last <= 1 else [target]


@st.composite
def score_pairs(draw):
    """Weak and strong scores, often exactly on a threshold or exactly 0.20 apart."""
    weak = draw(st.one_of(scores, at_mean()))
    kind = draw(st.sampled_from(["free", "at_mean", "gap"]))
    if kind == "free":
        return weak, draw(scores)
    if kind == "at_mean" or not weak:
        return weak, draw(at_mean())
    return weak, draw(at_mean(_mean(weak) + Fraction(1, 5)))


def floats(values: list[Fraction]) -> list[float]:
    return [float(v) for v in values]


def test_every_preset_has_a_reference():
    assert set(REFERENCE) == set(PRESETS)


@settings(max_examples=400, deadline=None, database=None)
@given(preset=st.sampled_from(PRESETS), pair=score_pairs())
def test_rules_agree_with_exact_fractions(preset, pair):
    weak, strong = pair
    rule, _ = REFERENCE[preset]
    assert decide(preset, floats(weak), floats(strong)).reason == rule(weak, strong)


@settings(max_examples=400, deadline=None, database=None)
@given(preset=st.sampled_from(PRESETS), weak=st.one_of(scores, at_mean()))
def test_weak_gates_agree_with_exact_fractions(preset, weak):
    _, gate = REFERENCE[preset]
    verdict = weak_gate(preset, floats(weak))
    assert (verdict.reason if verdict else None) == gate(weak)


@pytest.mark.parametrize(
    ("preset", "weak", "strong", "reason"),
    [
        ("rubric", [0.2, 0.2], [0.6, 0.7], "accepted"),  # strong mean exactly 0.65
        ("rubric", [0.45, 0.45], [0.6, 0.7], "accepted"),  # both exactly on the boundary
        ("rubric_strict", [0.5], [0.7], "accepted"),  # gap exactly 0.20
        ("rubric_strict", [0.4], [0.6], "accepted"),  # strong mean exactly 0.60, gap 0.20
        ("rubric_strict", [0.3, 0.3, 0.3], [0.95, 0.95, 0.95], "strong_too_easy"),  # strong mean 0.95
        ("rubric_strict", [0.6, 0.7], [0.9, 0.95], "accepted"),  # weak mean 0.65 is allowed...
        ("rubric_strict", [0.6, 0.7, 0.66], [0.9, 0.95], "too_easy"),  # ...above it is not
    ],
)
def test_issue_examples(preset, weak, strong, reason):
    assert decide(preset, weak, strong).reason == reason


def test_weak_mean_exactly_at_the_strict_cap_passes_the_gate():
    assert weak_gate("rubric_strict", [0.6, 0.7]) is None


binary = st.lists(st.sampled_from([0.0, 1.0]), max_size=8)


@settings(max_examples=300, deadline=None, database=None)
@given(st.sampled_from(PRESETS), binary, binary, st.integers(1, 8))
def test_a_settled_rejection_is_the_verdict_of_every_way_the_rest_could_score(preset, weak, strong, k):
    """Stopping a phase early (nodes/routing.py: after_judge) never changes a decision: checked against the
    exact-fraction references above on every completion of the missing answers."""
    from itertools import product

    from autodata.rules.acceptance import settled_rejection

    weak = weak[:k]
    strong = strong[:k] if len(weak) == k else []  # the strong phase starts once the weak one is complete
    if not weak:
        return
    settled = settled_rejection(preset, weak, strong, k)
    drawn = strong or weak
    if settled is None:
        return
    assert not settled.accepted and len(drawn) < k
    for rest in product((0.0, 1.0), repeat=k - len(drawn)):
        full = [Fraction(s) for s in [*drawn, *rest]]
        rule, gate = REFERENCE[preset]
        expected = rule([Fraction(s) for s in weak], full) if strong else gate(full)
        assert expected == settled.reason


@pytest.mark.parametrize(
    ("weak", "strong", "reason"),
    [
        ([0, 0, 0, 0], [0, 0], "strong_failed"),  # two wrong of four: 3 of 4 is out of reach
        ([0, 0, 0, 0], [1, 0], None),
        ([1, 1], [], "too_easy"),  # two right weak answers of four: more than 1 of 4
        ([0, 0], [], None),  # passing the gate is never settled early
        ([0, 0, 0, 0], [1, 1, 1], None),  # nor is acceptance
        ([0.0, 0.0, 0.0, 0.0], [0.4, 0.0], None),  # a rubric score: the rest could be anything
    ],
)
def test_settled_rejections_of_the_verifiable_preset_at_k_4(weak, strong, reason):
    from autodata.rules.acceptance import settled_rejection

    settled = settled_rejection("verifiable", weak, strong, 4)
    assert (settled.reason if settled else None) == reason
