"""Evidence: the source sentences an item rests on. A span a model copied must really be in the source window
it saw (tolerating small drift), and the context must carry the facts of that evidence. Pure, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from autodata.rules.format_rules import RuleResult
from autodata.rules.leakage import content_tokens

EVIDENCE_MIN_WORDS = 6
EVIDENCE_MATCH = 0.7
"""Share of an evidence span's word 3-grams that must occur in the source: a copy with a few words
reworded passes (small models drift when they copy), an invented sentence does not."""
CONTEXT_COVERAGE = 0.5
"""Share of the evidence's informative words that the context (with the question) must carry."""

_WORD = re.compile(r"[a-z0-9]+")


def norm_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    return _WORD.findall(text)


def _trigrams(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def evidence_match(span: str, source: str) -> float:
    """Share of the span's word 3-grams found in ``source`` (1.0 for a verbatim copy, whatever the
    whitespace, case or punctuation)."""
    words = norm_words(span)
    if len(words) < 3:
        return 0.0
    grams = _trigrams(words)
    return len(grams & _trigrams(norm_words(source))) / len(grams)


def flat(text: str) -> str:
    return " ".join(norm_words(text))


def _verbatim(span: str, source: str) -> bool:
    return flat(span) in flat(source)


def check_evidence(evidence: Sequence[str], source: str) -> RuleResult:
    spans = [e for e in evidence if e and e.strip()]
    if not spans:
        return RuleResult("evidence_in_source", False, "quote 1-2 sentences of the source as evidence")
    if sum(len(span.split()) for span in spans) < EVIDENCE_MIN_WORDS:
        return RuleResult(
            "evidence_in_source",
            False,
            f"evidence must be whole sentences copied from the source (too short: {spans[0][:80]!r})",
        )
    for span in spans:
        if _verbatim(span, source):  # also the short pieces of a sentence split at a line break
            continue
        score = evidence_match(span, source)
        if score < EVIDENCE_MATCH:
            return RuleResult(
                "evidence_in_source",
                False,
                f"this evidence is not in the source (only {score:.0%} matches): {span[:120]!r}; "
                "copy sentences of the source word for word",
            )
    return RuleResult("evidence_in_source", True, "ok")


_SENTENCE = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z0-9(\"'])")
SENTENCE_QUOTED = 0.5
"""Share of a source sentence's word 3-grams an evidence span must contain for the sentence to count as
quoted (a span may stop mid-sentence at its length limit, or run over two sentences)."""


def source_sentences(text: str) -> list[str]:
    """The sentences of a source window, whitespace-normalised (lines of a paragraph joined)."""
    flat = " ".join(text.split())
    return [s.strip() for s in _SENTENCE.split(flat) if s.strip()]


def quoted_sentences(evidence: Sequence[str], window: str) -> list[str]:
    """The window's own sentences that the evidence quotes, in source order: the facts, as the source
    words them (not as a small model copied them, cut or drifted)."""
    spans = [(_trigrams(norm_words(e)), flat(e)) for e in evidence if e.strip()]
    quoted = []
    for sentence in source_sentences(window):
        words = norm_words(sentence)
        grams = _trigrams(words)
        if not grams:
            continue
        joined = " ".join(words)
        if any(len(grams & g) >= SENTENCE_QUOTED * len(grams) or joined in flat for g, flat in spans):
            quoted.append(sentence)
    return quoted


CARRIED = 0.8
"""Coverage from which the challenger's own context already carries a quoted sentence (it is not repeated)."""


def grounded_context(evidence: Sequence[str], context: str, window: str) -> str:
    """The solver's context, grounded by construction: the source sentences the evidence quotes, then the
    challenger's own text (the new case, the setting), unless that text already carries them."""
    facts = [s for s in quoted_sentences(evidence, window) if context_coverage([s], context, "") < CARRIED]
    if not facts:
        return context.strip()
    return " ".join([*facts, context.strip()]).strip()


def context_coverage(evidence: Sequence[str], context: str, question: str) -> float:
    needed = {t for span in evidence for t in content_tokens(span)}
    if not needed:
        return 0.0
    carried = set(content_tokens(context)) | set(content_tokens(question))
    return len(needed & carried) / len(needed)


def check_context_carries_evidence(evidence: Sequence[str], context: str, question: str) -> RuleResult:
    coverage = context_coverage(evidence, context, question)
    ok = coverage >= CONTEXT_COVERAGE
    return RuleResult(
        "context_carries_evidence",
        ok,
        "ok"
        if ok
        else f"the context carries only {coverage:.0%} of the evidence's facts: restate the facts of the "
        "evidence in the context (the solver never sees the source)",
    )
