"""Grounding and self-containment rules, decided in code before any LLM screens an item.

The solvers see only the item's context and question, never the source. So an item is rejected here when
its evidence spans are not really in the source window the challenger saw, when its context does not carry
the facts of that evidence, when it refers to "the source / document / passage / author", when its answer
is binary (yes/no, true/false) or an option letter, when (verifiable mode) its answer is a bare integer,
when its question-type label names a domain the source is not about, when a case item is built on the
prompt's worked example instead of its passage, and when a case item's solution uses nothing of its passage.

Pure functions, no I/O. Every rule returns a :class:`~autodata.rules.format_rules.RuleResult`.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from collections.abc import Sequence

from autodata.rules.code_passages import without_comments
from autodata.rules.format_rules import RuleResult
from autodata.rules.leakage import content_tokens
from autodata.rules.withheld import copied_from

EVIDENCE_MIN_WORDS = 6
EVIDENCE_MATCH = 0.7
"""Share of an evidence span's word 3-grams that must occur in the source: a copy with a few words
reworded passes (small models drift when they copy), an invented sentence does not."""
CONTEXT_COVERAGE = 0.5
"""Share of the evidence's informative words that the context (with the question) must carry."""

_WORD = re.compile(r"[a-z0-9]+")

_META_ALWAYS = re.compile(
    r"\b(the|this|that|given|above|provided|original|following|same)\s+"
    r"(source|sources|passage|excerpt|source\s+(text|document|material))\b"
    r"|\b(this|the\s+(given|above|provided|original|following))\s+(document|text|paper|article|note|study)\b"
    r"|\b(in|from|according\s+to|based\s+on|per)\s+the\s+(document|text|paper|article|author|authors)\b"
    r"|\bthe\s+(document|text|paper|article|author|authors)\s+(states?|says|mentions?|describes?|discusses|"
    r"provides?|explains?|notes|suggests?|implies|argues?|proposes?|presents?|outlines?|details|indicates?|"
    r"claims?|shows?|highlights?|reports?)\b"
    r"|\b(mentioned|stated|described|discussed|given)\s+(above|earlier|previously)\b",
    re.IGNORECASE,
)
_BINARY = re.compile(r"^(yes|no|true|false|correct|incorrect)\b", re.IGNORECASE)
_VALUES = re.compile(r"^[\[(]?(?:(?:true|false|none|-?\d+(?:\.\d+)?)[\s,()\[\]]*){2,}$", re.IGNORECASE)
"""Several printed values ("True True False", "(False, 3)"): one guess in four or fewer is right, and a
program's output about code (autodata/rules/code_passages.py) is often such a tuple."""
_OPTION = re.compile(r"^(option|choice|answer)?\s*\(?[a-eA-E]\)?[.)]?$")
_OPTION_QUESTION = re.compile(r"\bwhich of the following\b", re.IGNORECASE)
_BARE_INTEGER = re.compile(r"^[-+]?\d\.?$")
"""A single digit on its own: one guess in ten is right (a larger whole number, "94", is a fine answer)."""

DOMAINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # domain: (stems that make a question-type label name it, stems whose presence shows a source is about it)
    "law": (
        ("statut", "legal", "law", "judicial", "legislat", "contract", "tort", "tenan", "jurisprud"),
        (
            "statut",
            "law",
            "legal",
            "court",
            "tenan",
            "landlord",
            "contract",
            "section",
            "shall",
            "liab",
            "plaintiff",
            "defendant",
            "regulat",
            "clause",
            "provision",
            "party",
            "parties",
            "judg",
        ),
    ),
    "mathematics": (
        # not "arithmetic": a skill every domain uses ("deposit arithmetic" on a statute is no foreign label)
        ("mathemat", "algebra", "calculus", "geometr", "theorem", "combinator", "trigonometr", "statistic"),
        (
            "equation",
            "theorem",
            "proof",
            "integer",
            "function",
            "root",
            "polynom",
            "sequence",
            "sum",
            "derivative",
            "integral",
            "matrix",
            "formula",
            "solve",
            "solution",
            "prime",
            "number",
            "median",
            "varian",
            "statistic",
            "probabilit",
            "quantile",
            "percentile",
            "regression",
            "correlation",
            "deviation",
        ),
    ),
    "computing": (
        ("algorithm", "programming", "software", "computational", "computer"),
        (
            "algorithm",
            "program",
            "software",
            "comput",
            "server",
            "cache",
            "memory",
            "cpu",
            "gpu",
            "latency",
            "request",
            "data",
            "code",
            "network",
            "batch",
            "thread",
            "query",
        ),
    ),
    "medicine": (
        ("clinical", "medical", "pharmac", "diagnos"),
        ("patient", "clinical", "medical", "dose", "dosage", "symptom", "diagnos", "treatment", "disease"),
    ),
    "finance": (
        ("financ", "accounting", "econom", "fiscal"),
        ("price", "cost", "tax", "interest", "market", "financ", "account", "revenue", "profit", "econom"),
    ),
    "chemistry": (("chemi",), ("chemi", "molecul", "reaction", "acid", "compound", "atom")),
    "biology": (("biolog",), ("cell", "gene", "protein", "organism", "species", "biolog")),
    "physics": (("physic",), ("energy", "force", "mass", "velocity", "physic", "particle", "field")),
}
DOMAIN_PRESENCE = 2
"""Distinct presence stems a source needs before a label may name its domain."""


def _norm_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    return _WORD.findall(text)


def _trigrams(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def evidence_match(span: str, source: str) -> float:
    """Share of the span's word 3-grams found in ``source`` (1.0 for a verbatim copy, whatever the
    whitespace, case or punctuation)."""
    words = _norm_words(span)
    if len(words) < 3:
        return 0.0
    grams = _trigrams(words)
    return len(grams & _trigrams(_norm_words(source))) / len(grams)


def _flat(text: str) -> str:
    return " ".join(_norm_words(text))


def _verbatim(span: str, source: str) -> bool:
    return _flat(span) in _flat(source)


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
    spans = [(_trigrams(_norm_words(e)), _flat(e)) for e in evidence if e.strip()]
    quoted = []
    for sentence in source_sentences(window):
        words = _norm_words(sentence)
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


def check_no_source_reference(context: str, question: str, passage: str | None = None) -> RuleResult:
    """The item refers to "the source / passage / document" the solver never sees. Words the ``passage``
    itself uses are its own vocabulary, not such a reference: a licence defines "the Source" form of a
    work, and a case item's context opens with the passage."""
    own = " ".join(passage.lower().split()) if passage else ""
    for field, text in (("question", question), ("context", context)):
        for match in _META_ALWAYS.finditer(text):
            if own and " ".join(match.group(0).lower().split()) in own:
                continue
            return RuleResult(
                "no_source_reference",
                False,
                f"the {field} refers to {match.group(0)!r}, which the solver never sees: state the facts "
                "themselves",
            )
    return RuleResult("no_source_reference", True, "ok")


def check_answer_kind(answer: str, question: str, mode: str) -> RuleResult:
    text = answer.strip().strip("*").strip()
    if _BINARY.match(text) and not _VALUES.match(text):
        return RuleResult(
            "answer_not_binary",
            False,
            "yes/no and true/false answers can be guessed: ask for the value itself",
        )
    if _OPTION.match(text) or _OPTION_QUESTION.search(question):
        return RuleResult("answer_not_binary", False, "no multiple choice: ask for the answer itself")
    if mode == "verifiable" and _BARE_INTEGER.match(text):
        return RuleResult(
            "answer_not_bare_integer",
            False,
            "a single digit is easy to guess: ask for a value with its unit, an expression, a name or a date",
        )
    return RuleResult("answer_not_binary", True, "ok")


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_OPEN_REQUEST = re.compile(
    r"^\s*(can|could|would) you\b|\b(provide|give|suggest|list)\s+(an?\s+|some\s+|a few\s+|several\s+)?"
    r"(examples?|scenarios?|ways?|reasons?)\b|^\s*(describe|explain|discuss|summari[sz]e|elaborate|outline)\b",
    re.IGNORECASE,
)


def check_script(item: dict, source: str) -> RuleResult:
    """Small multilingual models drift into another script mid-answer (seen: Chinese after an English
    sentence); an item in a script its source does not use is rejected."""
    if _CJK.search(source):
        return RuleResult("same_script_as_source", True, "ok")
    for field in ("context", "question", "answer"):
        if _CJK.search(item.get(field) or ""):
            return RuleResult(
                "same_script_as_source",
                False,
                f"the {field} switches language: write it in the source's language",
            )
    return RuleResult("same_script_as_source", True, "ok")


def check_specific_question(question: str) -> RuleResult:
    """An open request ("can you give an example", "describe ...") has no single checkable answer."""
    match = _OPEN_REQUEST.search(question)
    if match:
        return RuleResult(
            "question_has_one_answer",
            False,
            f"{match.group(0).strip()!r} asks for something open: ask for one specific value, date, name or "
            "conclusion",
        )
    return RuleResult("question_has_one_answer", True, "ok")


def label_domains(label: str) -> set[str]:
    words = _norm_words(label)
    return {d for d, (stems, _) in DOMAINS.items() if any(w.startswith(s) for w in words for s in stems)}


def _has_prefix(words: list[str], stem: str) -> bool:
    """Whether a word of the sorted ``words`` starts with ``stem`` (then the first one not below it does)."""
    i = bisect.bisect_left(words, stem)
    return i < len(words) and words[i].startswith(stem)


def source_domains(source: str) -> set[str]:
    words = sorted(set(_norm_words(source)))
    present = set()
    for domain, (label_stems, stems) in DOMAINS.items():
        hits = {s for s in (*stems, *label_stems) if _has_prefix(words, s)}
        if len(hits) >= DOMAIN_PRESENCE:
            present.add(domain)
    return present


def check_type_label(question_type: str, source: str, document: str | None = None) -> RuleResult:
    """A question-type label that names a domain the ``document`` (else the ``source`` window) is not about
    ("statutory application" on a recurrence). A two-sentence window of a maths document may hold too few of
    its domain's words, so the whole document decides what it is about."""
    foreign = sorted(label_domains(question_type) - source_domains(document or source))
    if foreign:
        return RuleResult(
            "type_matches_source",
            False,
            f"the question_type {question_type!r} names {', '.join(foreign)}, which this source is not about",
        )
    return RuleResult("type_matches_source", True, "ok")


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
    passage_flat = _flat(passage)
    own_case = " ".join(
        s for s in source_sentences(case) if _flat(s) not in passage_flat
    )  # a copied sentence
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


def worked_solution(item: dict) -> str:
    """How a case item reaches its answer: its worked solution, or its answer program without its comments
    (a comment that quotes the passage is no use of it: measured, programs about versions and invented dates
    that quoted a licence's sentence and computed nothing the licence says)."""
    if item.get("solution"):
        return item["solution"]
    return without_comments(item.get("program") or "")


def check_result_copied(answer: str, source: str) -> RuleResult:
    """A withheld-result item's answer must be the passage's own words (autodata/rules/withheld.py)."""
    ok = copied_from(answer, source)
    return RuleResult(
        "result_copied_from_passage",
        ok,
        "ok"
        if ok
        else f"the result {answer[:80]!r} is not in the passage: copy the passage's result word for word",
    )


def case_of(item: dict) -> str:
    """What a case item's challenger wrote: its context after the passage sentences code put first."""
    passage = " ".join(item.get("evidence") or [])
    context = item.get("context") or ""
    return context[len(passage) :].strip() if passage and context.startswith(passage) else context


def check_grounding(
    item: dict, source: str, mode: str, document: str | None = None, example: str | None = None
) -> list[RuleResult]:
    """Every grounding rule for ``item`` written from ``source`` (the window the challenger saw) of
    ``document`` (the unit's whole text; the window when not given); a case item is also checked against
    the worked ``example`` its challenger was shown."""
    evidence = item.get("evidence") or []
    context, question = item.get("context") or "", item.get("question") or ""
    withheld = (
        [check_result_copied(item.get("answer") or "", source)] if item.get("kind") == "withheld" else []
    )
    return [
        *withheld,
        check_evidence(evidence, source),
        check_context_carries_evidence(evidence, context, question),
        check_no_source_reference(context, question, source),
        check_answer_kind(item.get("answer") or "", question, mode),
        check_specific_question(question),
        check_type_label(item.get("question_type") or "", source, document),
        check_script(item, source),
        *(
            [check_not_the_example(case_of(item), question, example, document or source)]
            if example and item.get("kind") == "case"
            else []
        ),
        *(
            [check_case_uses_passage(worked_solution(item), case_of(item), question, source)]
            if item.get("kind") == "case"
            else []
        ),
    ]
