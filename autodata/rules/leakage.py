"""Deterministic answer-leakage check: does the context (or question) already give the answer away?

A coarse, explainable filter for blatant leakage (the answer copied into the context); subtler leakage
is the LLM verifier's job. Words the answer shares with the question are echo, not information, so only
the answer's informative words are compared with the context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_WORD = re.compile(r"[A-Za-z]{3,}")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "by",
        "with",
        "as",
        "at",
        "from",
        "that",
        "this",
        "it",
        "its",
        "into",
        "than",
        "then",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "can",
        "could",
        "would",
        "should",
        "will",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "not",
        "no",
        "so",
        "such",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "has",
        "have",
        "had",
        "been",
        "being",
        "because",
        "if",
        "while",
        "both",
        "each",
        "only",
        "also",
    ]
)
MIN_INFORMATIVE = 3
VERBATIM_WORDS = 5
"""An answer of at least this many words that the context holds word for word is leaked, whatever the
question echoes."""


@dataclass(frozen=True)
class LeakageResult:
    leaked: bool
    overlap: float
    """Share of the answer's informative words that appear in the context."""
    longest_run: int
    """Longest run of consecutive informative answer words found in the context."""
    detail: str


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def content_tokens(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOPWORDS]


def longest_common_run(needle: list[str], haystack: list[str]) -> int:
    positions: dict[str, list[int]] = {}
    for i, tok in enumerate(haystack):
        positions.setdefault(tok, []).append(i)
    best = 0
    for start in range(len(needle)):
        for pos in positions.get(needle[start], []):
            length = 0
            while (
                start + length < len(needle)
                and pos + length < len(haystack)
                and needle[start + length] == haystack[pos + length]
            ):
                length += 1
            best = max(best, length)
    return best


def _compact(text: str) -> str:
    return re.sub(r"[\s$]+", "", text.lower()).rstrip(".")


def _is_math(answer: str) -> bool:
    return not _WORD.search(answer)


def check_leakage(
    answer: str, context: str, question: str, *, run_fraction: float = 0.6, overlap_threshold: float = 0.85
) -> LeakageResult:
    if not answer.strip():
        return LeakageResult(False, 0.0, 0, "empty answer")
    if _is_math(answer):
        compact = _compact(answer)
        leaked = len(compact) >= 5 and (compact in _compact(context) or compact in _compact(question))
        detail = (
            "the answer expression appears verbatim in the context/question"
            if leaked
            else "answer expression not found verbatim"
        )
        return LeakageResult(leaked, 1.0 if leaked else 0.0, len(compact) if leaked else 0, detail)
    answer_tokens, question_tokens = tokens(answer), tokens(question)
    stated = len(answer_tokens) >= 2 or any(t[0].isdigit() for t in answer_tokens)
    if stated and longest_common_run(answer_tokens, question_tokens) == len(answer_tokens):
        # "...admitted 30% more concurrent sequences: how much ...?" answered "30% more concurrent sequences"
        return LeakageResult(True, 1.0, len(answer_tokens), "the question itself states the answer")
    if len(answer_tokens) >= VERBATIM_WORDS and longest_common_run(answer_tokens, tokens(context)) == len(
        answer_tokens
    ):
        # a question that echoes most of a copied sentence leaves too few informative words to count
        return LeakageResult(True, 1.0, len(answer_tokens), "the context holds the answer word for word")
    question_vocab = set(question_tokens)
    informative = [t for t in content_tokens(answer) if t not in question_vocab]
    if len(informative) < MIN_INFORMATIVE:
        return LeakageResult(
            False, 0.0, 0, f"short answer ({len(informative)} informative words): left to the verifier"
        )
    ctx = content_tokens(context)
    vocab = set(ctx)
    overlap = sum(1 for t in informative if t in vocab) / len(informative)
    run = longest_common_run(informative, ctx)
    needed = max(MIN_INFORMATIVE, round(run_fraction * len(informative)))
    leaked = run >= needed or (len(informative) >= 4 and overlap >= overlap_threshold)
    detail = (
        (
            f"the context already contains the answer ({run} consecutive answer words, "
            f"{overlap:.0%} of its informative words)"
        )
        if leaked
        else f"overlap {overlap:.0%}, longest run {run} of {len(informative)} informative words"
    )
    return LeakageResult(leaked, round(overlap, 3), run, detail)
