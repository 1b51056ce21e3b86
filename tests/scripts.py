"""Canned replies for graph tests."""

from __future__ import annotations

EVIDENCE = (
    "When the cache is full, inserting a new key evicts the least recently used key to make room for it."
)
"""A sentence every scripted test document contains, so the scripted items are grounded in it."""
CONTEXT = (
    "A cache keeps recently used values so that repeated lookups avoid the slow backing store. " + EVIDENCE
)


def item(
    question="Which key does a full LRU cache of size two evict when it sees A, B, A, C?",
    answer="Key B is evicted.",
    **over,
):
    data = {
        "evidence": [EVIDENCE],
        "question_type": "procedural simulation",
        "skills": ["state tracking", "rule application"],
        "context": CONTEXT,
        "question": question,
        "answer": answer,
        "solution": (
            "A full cache of this capacity evicts the least recently used key when inserting a new one, to "
            "make room: after A, B, A the cache holds A and B, and A was used last, so B goes."
        ),
        "rubric": [
            {"description": "Names key B as the evicted key", "points": 3},
            {"description": "Notes that A was used more recently than B", "points": 2},
            {"description": "Says C is inserted", "points": 1},
        ],
    }
    data.update(over)
    # a verifiable case item's answer is what its program prints (nodes/challenger.py: answer_by_program)
    data.setdefault("program", f"rule = {EVIDENCE!r}\nprint({'[' + data['answer'] + ']'!r}[1:-1])")
    return data


VERIFIER_PASS = {"self_contained": "YES", "answer_correct": "YES", "problem": ""}
VERIFIER_FAIL = {**VERIFIER_PASS, "self_contained": "NO", "problem": "answerable by recall"}


def rubric_judge(correct_marker: str = "Final answer: B"):
    """Judge that marks every criterion met iff the answer contains ``correct_marker``."""

    def judge(messages):
        text = next(str(m.content) for m in messages if "# Answer to grade" in str(m.content))
        graded = text.split("# Answer to grade", 1)[-1]
        # the judge check grades the reference answer itself (right) and a null answer (wrong)
        good = correct_marker in graded or "Key B is evicted" in graded
        return {
            "scores": [{"criterion_id": i, "verdict": "met" if good else "unmet"} for i in (1, 2, 3)],
            "failure_modes": "" if good else "named the wrong key",
        }

    return judge


RIGHT = "A was used after B, so B is least recent.\nFinal answer: B"
WRONG = "The first key goes.\nFinal answer: A"


QUESTIONS = (
    "Which key does a full LRU cache of size two evict when it sees A, B, A, C?",
    "After the accesses D, E, D, F in a two-slot cache with this policy, which entry is gone?",
    "Holding X and Y with X touched last, what leaves when Z arrives?",
    "Three lookups P, Q, R hit an empty single-entry store: what remains?",
)
"""Questions different enough that the unit's repeat check lets each through (one a round)."""


def items(n: int, **over) -> list[dict]:
    """``n`` scripted items with distinct questions, for tests that need several rounds to reach solving."""
    return [item(question=q, **over) for q in QUESTIONS[:n]]
