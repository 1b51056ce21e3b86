"""Case items (a new case the passage decides): built on the passage, not on the prompt's worked example,
and solved with the passage's rule, not only with the case's own facts. Pure, no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from autodata.rules.code_passages import without_comments
from autodata.rules.evidence import flat, source_sentences
from autodata.rules.format_rules import RuleResult
from autodata.rules.leakage import content_tokens

EXAMPLE_WORDS_COPIED = 3
"""Distinct words of the worked example, absent from the passage, that make a case a copy of the example."""
_LONG_WORD = 4


def example_case(example: str) -> str:
    """The case and question of a worked example (``PASSAGE: "..."`` then the item as JSON): what a copy
    of the example takes. The whole text when it holds no such JSON."""
    start = example.find("{")
    try:
        shown = json.loads(example[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        shown = None
    if not isinstance(shown, dict):
        return example
    return f"{shown.get('context', '')} {shown.get('question', '')}"


def check_not_the_example(case: str, question: str, example: str, passage: str) -> RuleResult:
    """A case item built on the prompt's worked example instead of its passage: a small model given a
    pump example on a licence wrote "A 500-litre tank is filled by the pump with the booster valve open".
    Only words of the example's own case and question count, and none the passage (or its document) uses:
    the example may share the passage's subject."""
    own = set(content_tokens(passage))
    shown = set(content_tokens(example_case(example)))
    borrowed = sorted(
        {
            t
            for t in content_tokens(f"{case} {question}")
            if len(t) >= _LONG_WORD and t not in own and t in shown
        }
    )
    if len(borrowed) >= EXAMPLE_WORDS_COPIED:
        return RuleResult(
            "case_not_the_example",
            False,
            f"the case copies the worked example ({', '.join(borrowed)}), which is about another topic: "
            "build the case from the passage's own subject",
        )
    return RuleResult("case_not_the_example", True, "ok")


PASSAGE_WORDS_USED = 2
"""A case item's solution names at least this many of the passage's words that its case does not use (or
one of the passage's figures of two digits or more): a worked solution that applies the passage says what
of it decides the case."""


def _stem(token: str) -> str:
    return token[:5]


def check_case_uses_passage(solution: str, case: str, question: str, passage: str) -> RuleResult:
    """A case item whose solution works only with the case's own facts is not about its passage: the 1.5B
    challenger wrote "15 * 82 = 1230" (a class's total score from its mean) on the docstring of a correlation
    function, and "10 - 5 = 5 years" on a licence whose grant is perpetual (docs/RESULTS.md). Counted: the
    passage's figures and its words of four letters or more (by their first five letters, so "licensed" is
    "license") that neither the case (but for sentences it copies from the passage) nor the question holds."""
    passage_flat = flat(passage)
    own_case = " ".join(s for s in source_sentences(case) if flat(s) not in passage_flat)  # a copied sentence
    given = {_stem(t) for t in content_tokens(f"{own_case} {question}")}  # is the passage's, not the case's
    own = {_stem(t) for t in content_tokens(passage) if len(t) >= _LONG_WORD or t[0].isdigit()}
    nameable = own - given
    used = sorted({_stem(t) for t in content_tokens(solution)} & nameable)
    figures = [t for t in used if t[0].isdigit() and len(t) >= 2]  # "2" or "1" is anywhere
    if figures or len(used) >= min(PASSAGE_WORDS_USED, len(nameable)):  # a bare formula: nothing to name
        return RuleResult("case_uses_passage", True, "ok")
    return RuleResult(
        "case_uses_passage",
        False,
        "the solution works only with the case's own facts, so the item is not about the passage: name, in "
        "the passage's words, the rule or figure of the passage that decides the case, and apply it",
    )


def worked_solution(item: Mapping[str, Any]) -> str:
    """How a case item reaches its answer: its worked solution, or its answer program without its comments
    (a comment that quotes the passage is no use of it: measured, programs about versions and invented dates
    that quoted a licence's sentence and computed nothing the licence says)."""
    solution: str | None = item.get("solution")
    if solution:
        return solution
    return without_comments(item.get("program") or "")


def case_of(item: Mapping[str, Any]) -> str:
    """What a case item's challenger wrote: its context after the passage sentences code put first."""
    passage = " ".join(item.get("evidence") or [])
    context = item.get("context") or ""
    return context[len(passage) :].strip() if passage and context.startswith(passage) else context
