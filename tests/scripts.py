"""Canned replies for graph tests."""

from __future__ import annotations

CONTEXT = (
    "A cache keeps recently used values so that repeated lookups avoid the slow backing store. When the "
    "cache is full, inserting a new key evicts the least recently used key to make room for it."
)


def item(
    question="Which key does a full LRU cache of size two evict when it sees A, B, A, C?",
    answer="Key B is evicted.",
    **over,
):
    data = {
        "question_type": "procedural simulation",
        "skills": ["state tracking", "rule application"],
        "context": CONTEXT,
        "question": question,
        "answer": answer,
        "rubric": [
            {"description": "Names key B as the evicted key", "points": 3},
            {"description": "Notes that A was used more recently than B", "points": 2},
            {"description": "Says C is inserted", "points": 1},
        ],
    }
    data.update(over)
    return data


VERIFIER_PASS = {
    "analysis": "ok",
    "no_leakage": "PASS",
    "requires_reasoning": "PASS",
    "single_question": "PASS",
    "rubric_well_formed": "PASS",
    "type_matches": "PASS",
    "grounded": "PASS",
    "feedback": "",
}
VERIFIER_FAIL = {**VERIFIER_PASS, "requires_reasoning": "FAIL", "feedback": "answerable by recall"}


def rubric_judge(correct_marker: str = "Final answer: B"):
    """Judge that marks every criterion met iff the answer contains ``correct_marker``."""

    def judge(messages):
        text = str(messages[-1].content)
        good = correct_marker in text.split("# Answer to grade", 1)[-1]
        return {
            "scores": [{"criterion_id": i, "verdict": "met" if good else "unmet"} for i in (1, 2, 3)],
            "failure_modes": "" if good else "named the wrong key",
        }

    return judge


RIGHT = "A was used after B, so B is least recent.\nFinal answer: B"
WRONG = "The first key goes.\nFinal answer: A"
