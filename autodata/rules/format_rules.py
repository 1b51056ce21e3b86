"""Format rules for candidate items (README.md, "Output"), checked in code before the LLM verifier."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The one home of the item limits: the challenger prompt, the output schema (autodata/rules/schemas.py) and
# the rules below all read these, so what a model is told, what decoding allows and what code accepts agree.
MAX_ANSWER_WORDS = {"verifiable": 20, "rubric": 40}
MAX_ANSWER_CHARS = {"verifiable": 120, "rubric": 260}
MIN_CONTEXT_WORDS, MAX_CONTEXT_WORDS = 15, 260
"""The solver's context: the quoted source sentences (autodata/rules/grounding.py: grounded_context) and the
case."""
CASE_WORDS = 100
"""What the challenger writes into its context field (the new case, the setting), before the quoted
sentences are put in front of it."""
CASE_CHARS = 600
"""The case a challenger writes about its passage (about CASE_WORDS words)."""
SOLUTION_CHARS = 500
"""The challenger's worked solution: a few short steps, kept with the item as its reference solution."""
PROGRAM_CHARS = 900
"""The answer program of a verifiable case item (autodata/local/sandbox.py): a dozen short lines."""
MAX_CONTEXT_CHARS = 1000
"""llama.cpp grammars cannot bound strings beyond 1000 characters."""
RUBRIC_MIN, RUBRIC_MAX = 2, 4
POINTS_MIN, POINTS_MAX = -3, 5
EVIDENCE_MIN, EVIDENCE_MAX = 1, 2

_MULTI_PART = re.compile(
    r"(\b(and|also) (explain|describe|justify|why|how)\b|\bexplain why\b|\(\s*[a-d]\s*\)|(^|\s)[a-d]\)\s|"
    r"\b(first|second)ly?,.*\b(then|second)ly?\b)",
    re.IGNORECASE,
)
PRECISE_REAL = re.compile(r"\d+\.\d{4,}")
_SENTENCE_END = re.compile(r"[.!?](\s+|$)")
_CLOSING = ".!?)]\"'$"


@dataclass(frozen=True)
class RuleResult:
    name: str
    passed: bool
    detail: str


def _words(text: str) -> int:
    return len(text.split())


_REASON = re.compile(r"(,?\s+(because|since|as stated|according to)\b|;\s)", re.IGNORECASE)


def answer_core(answer: str) -> str:
    """A case answer without the reasons a small model appends to it ("$100, because the landlord must ...",
    "..., as stated in the source"): the reasons belong to the item's solution, and copied from the rule in
    the context they would look like leakage."""
    text = answer.strip()
    match = _REASON.search(text)
    return text[: match.start()].strip() if match and match.start() > 0 else text


def check_format(item: Mapping[str, Any], mode: str) -> list[RuleResult]:
    """All rule verdicts for one item; the item passes when every result passes."""
    results: list[RuleResult] = []
    question = (item.get("question") or "").strip()
    answer = (item.get("answer") or "").strip()
    context = (item.get("context") or "").strip()

    def add(name: str, ok: bool, detail: str) -> None:
        results.append(RuleResult(name, ok, "ok" if ok else detail))

    add("question_present", bool(question), "the question is empty")
    add(
        "single_question",
        question.count("?") == 1 and question.endswith("?") and not _MULTI_PART.search(question),
        "ask exactly one question, ending with its only question mark (no enumerated parts, no "
        "'explain why')",
    )
    add("answer_present", bool(answer), "the reference answer is empty")
    limit = MAX_ANSWER_WORDS[mode]
    sentences = (
        len([s for s in _SENTENCE_END.split(answer.rstrip(".!? ")) if s and s.strip()]) if answer else 0
    )
    add(
        "answer_one_sentence",
        _words(answer) <= limit and sentences <= 1,
        f"the answer must fit in one sentence of at most {limit} words (has {_words(answer)} words)",
    )
    add(
        "context_length",
        MIN_CONTEXT_WORDS <= _words(context) <= MAX_CONTEXT_WORDS,
        f"the context must be {MIN_CONTEXT_WORDS}-{MAX_CONTEXT_WORDS} words (has {_words(context)})",
    )
    add(
        "context_complete",
        not context or context[-1] in _CLOSING,
        "the context ends mid-sentence: write a shorter context that ends with a full stop",
    )
    add("question_type_present", bool((item.get("question_type") or "").strip()), "question_type is empty")
    skills = [s for s in item.get("skills") or [] if str(s).strip()]
    add(
        "skills_2_to_3",
        not skills or 2 <= len(skills) <= 3,  # the agentic challenger's case items carry no skill tags
        f"give 2-3 reasoning-skill tags (has {len(skills)})",
    )
    if mode == "verifiable":
        add(
            "answer_not_precision_sensitive",
            not PRECISE_REAL.search(answer),
            "avoid precision-sensitive reals; give an exact expression",
        )
    else:
        rubric = item.get("rubric") or []
        # a withheld-result item, or a case code wrote, is graded on the one criterion code writes
        least = 1 if item.get("kind") in ("withheld", "computed") else RUBRIC_MIN
        add(
            "rubric_size",
            least <= len(rubric) <= RUBRIC_MAX,
            f"the rubric needs {least}-{RUBRIC_MAX} criteria (has {len(rubric)})",
        )
        points = [int(c.get("points", 0)) for c in rubric]
        add(
            "rubric_points",
            all(p != 0 and POINTS_MIN <= p <= POINTS_MAX for p in points),
            f"every criterion needs non-zero points in [{POINTS_MIN}, {POINTS_MAX}] (got {points})",
        )
        add("rubric_has_positive", any(p > 0 for p in points), "the rubric has no positive criterion")
        add(
            "rubric_descriptions",
            all((c.get("description") or "").strip() for c in rubric),
            "a rubric criterion has no description",
        )
    return results
