import pytest

from autodata.rules.acceptance import decide, resolve_preset, weak_gate


@pytest.mark.parametrize(
    ("weak", "strong", "accepted", "reason"),
    [
        ([0.2, 0.4], [0.8, 0.9], True, "accepted"),
        ([0.5, 0.5], [1.0, 1.0], False, "too_easy"),  # weak mean must be < 0.50
        ([0.1, 0.2], [0.6, 0.6], False, "strong_failed"),  # strong mean must be >= 0.65
        ([0.45, 0.45], [0.65, 0.65], True, "accepted"),  # gap exactly 0.20
        ([0.49, 0.49], [0.65, 0.65], False, "gap_too_small"),
        ([], [1.0], False, "no_scores"),
    ],
)
def test_rubric_preset(weak, strong, accepted, reason):
    verdict = decide("rubric", weak, strong)
    assert (verdict.accepted, verdict.reason) == (accepted, reason)


@pytest.mark.parametrize(
    ("weak", "strong", "reason"),
    [
        ([0.3, 0.5], [0.8, 0.7], "accepted"),
        ([0.7, 0.7], [0.9, 0.9], "too_easy"),  # weak mean > 0.65
        ([0.2, 0.8], [0.9, 0.9], "too_easy"),  # a weak sample > 0.75
        ([0.0, 0.5], [0.9, 0.9], "weak_zero"),
        ([0.3, 0.3], [0.5, 0.6], "strong_failed"),
        ([0.3, 0.3], [1.0, 0.95], "strong_too_easy"),
        ([0.3, 0.3], [0.0, 1.0, 1.0, 1.0], "strong_zero"),
        ([0.5, 0.5], [0.65, 0.65], "gap_too_small"),
    ],
)
def test_rubric_strict_preset(weak, strong, reason):
    assert decide("rubric_strict", weak, strong).reason == reason


def test_verifiable_preset_k4():
    assert decide("verifiable", [0, 0, 0, 1], [1, 1, 1, 0]).accepted
    assert decide("verifiable", [0, 0, 1, 1], [1, 1, 1, 1]).reason == "too_easy"
    assert decide("verifiable", [0, 0, 0, 0], [1, 1, 0, 0]).reason == "strong_failed"


def test_verifiable_majority_variant():
    assert decide("verifiable_majority", [0, 0, 1], [1, 1, 0]).accepted
    assert decide("verifiable_majority", [1, 1, 0], [1, 1, 1]).reason == "too_easy"


def test_weak_gate_skips_strong_only_when_already_rejected():
    assert weak_gate("rubric", [0.9, 0.8]).reason == "too_easy"
    assert weak_gate("rubric", [0.1, 0.2]) is None
    assert weak_gate("verifiable", [1, 0]).reason == "too_easy"
    assert weak_gate("verifiable", [0, 0]) is None


def test_resolve_preset():
    assert resolve_preset("rubric", None) == "rubric"
    assert resolve_preset("verifiable", None) == "verifiable"
    with pytest.raises(ValueError, match="unknown acceptance preset"):
        resolve_preset("rubric", "lenient")
