"""Is a rubric able to tell answers apart? Decided in code from two judge grades taken before solving.

The judge grades the item's own reference answer and a null answer ("I don't know" plus the question
restated) on the item's rubric. A rubric of generic criteria ("uses information from the context") lets any
answer score, and a small judge may be lenient: then the reference does not score high or the null answer
does not score low, and the item is rejected as ``ungradable`` before any solver is paid for.
"""

from __future__ import annotations

REFERENCE_MIN = 0.8
NULL_MAX = 0.2
_EPS = 1e-9  # judge scores are ratios of small integers: 4/5 must count as 0.8


def gradable(reference: float | None, null: float | None) -> tuple[bool, str]:
    """``(passed, detail)`` for the two grades (None: that grade failed, so the rubric is not trusted)."""
    if reference is None or null is None:
        return False, "the judge could not grade the reference or the null answer"
    problems = []
    if reference < REFERENCE_MIN - _EPS:
        problems.append(f"the reference answer scored only {reference:.2f} (needs >= {REFERENCE_MIN:.2f})")
    if null > NULL_MAX + _EPS:
        problems.append(f"a non-answer scored {null:.2f} (must be <= {NULL_MAX:.2f})")
    if problems:
        advice = "the rubric cannot tell answers apart; name the answer's own facts"
        return False, f"{'; '.join(problems)}: {advice}"
    return True, f"reference {reference:.2f}, null answer {null:.2f}"
