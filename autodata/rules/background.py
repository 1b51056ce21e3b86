"""Background of a withheld reason or consequence: the document's sentences it can be worked out from. Pure.

A withheld-result item's context is its passage without the result (autodata/rules/withheld.py). When that
result is a reason or a consequence in words, the passage alone rarely lets anyone work it out: measured on
the embedded models, "What explains the fact that the gain was smallest when all requests had the same
output length?" (the source: "because then sequences finish together and static batches lose little time to
stragglers") was only guessable, and the strong solver failed it, although the document says two paragraphs
earlier that static batching "delays every request in the batch until the longest one finishes". So code
adds to the context the few sentences elsewhere in the document that share the most of the result's words
the context does not already hold, and none that, added, would give the result away.
"""

from __future__ import annotations

from typing import NamedTuple

from autodata.rules.leakage import check_leakage, content_tokens
from autodata.rules.windows import sentence_spans
from autodata.rules.withheld import copied_from

MAX_BACKGROUND = 2
"""Sentences added at most: enough to carry a missing premise, few enough to keep the passage in focus."""
MIN_SHARED = 2
"""Word stems a sentence must share with the result (and not with the context) to be background; the
sentence that leads up to the passage in its paragraph needs none (it is the passage's own setting)."""
_SUFFIXES = ("ing", "es", "ed", "s", "e")


class Sentence(NamedTuple):
    start: int
    """Offset of the sentence in the document."""
    text: str


def _stem(token: str) -> str:
    """A crude stem, so "batches", "batching" and "batch" (or "sequences" and "sequence") meet."""
    if len(token) > 4:
        for suffix in _SUFFIXES:
            if token.endswith(suffix) and not token.endswith("ss"):
                return token[: -len(suffix)]
    return token


def _stems(text: str) -> set[str]:
    return {_stem(t) for t in content_tokens(text) if not t[0].isdigit()}


def _lead_in(spans: list[tuple[int, int, int]], start: int) -> int | None:
    """Start of the sentence right before the passage in the passage's own paragraph (what leads up to it:
    "The key cost is fragmentation: sequences come and go, leaving gaps." before "Paged attention stores the
    cache in blocks that need not be contiguous, so a new sequence can use any free blocks"), if any."""
    first = next((i for i, (_, end, _) in enumerate(spans) if end > start), None)
    if not first or spans[first - 1][2] != spans[first][2]:  # None, or the passage opens the document
        return None
    return spans[first - 1][0]


def background(
    document: str, window: tuple[int, int], context: str, question: str, result: str
) -> list[Sentence]:
    """Up to MAX_BACKGROUND sentences of ``document`` outside ``window`` (the passage), in document order,
    each sharing at least MIN_SHARED stems of ``result`` that neither ``context`` nor ``question`` holds (or
    the sentence that leads up to the passage in its paragraph): the
    most shared first, then the nearest to the passage. None restates the result, and none is kept that would
    let the context give the result away (autodata/rules/leakage.py)."""
    wanted = _stems(result) - _stems(context) - _stems(question)
    start, end = window
    spans = sentence_spans(document)
    lead = _lead_in(spans, start)
    ranked: list[tuple[int, int, Sentence]] = []
    for s, e, _ in spans:
        if s < end and e > start:
            continue
        text = " ".join(document[s:e].split())
        shared = len(wanted & _stems(text))
        needed = 0 if s == lead else MIN_SHARED
        if shared >= needed and not copied_from(result, text):
            ranked.append((-shared, min(abs(s - end), abs(start - e)), Sentence(s, text)))
    chosen: list[Sentence] = []
    for _, _, sentence in sorted(ranked):
        if len(chosen) == MAX_BACKGROUND:
            break
        trial = sorted([*chosen, sentence])
        if not check_leakage(result, with_background(context, trial, window), question).leaked:
            chosen = trial
    return chosen


def with_background(context: str, found: list[Sentence], window: tuple[int, int]) -> str:
    """``context`` (what is kept of the passage) with the ``found`` sentences before or after it, as they
    stand in the document relative to ``window``."""
    before = [s.text for s in found if s.start < window[0]]
    after = [s.text for s in found if s.start >= window[1]]
    return " ".join([*before, context, *after])
