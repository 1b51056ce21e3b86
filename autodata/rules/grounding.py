"""Grounding and self-containment rules, decided in code before any LLM screens an item.

The solvers see only the item's context and question, never the source. So an item is rejected here when
its evidence spans are not really in the source window the challenger saw, when its context does not carry
the facts of that evidence, when it refers to "the source / document / passage / author", when its answer
is binary (yes/no, true/false) or an option letter, when (verifiable mode) its answer is a bare integer,
when its question-type label names a domain the source is not about, when a case item is built on the
prompt's worked example instead of its passage, and when a case item's solution uses nothing of its passage.

Pure functions, no I/O. Every rule returns a :class:`~autodata.rules.format_rules.RuleResult`. The evidence
rules are in autodata/rules/evidence.py, the case-item rules in autodata/rules/cases.py; ``check_grounding``
applies them all.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from typing import Any

from autodata.rules.cases import case_of, check_case_uses_passage, check_not_the_example, worked_solution
from autodata.rules.evidence import check_context_carries_evidence, check_evidence, norm_words
from autodata.rules.format_rules import RuleResult
from autodata.rules.withheld import copied_from

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


def check_script(item: Mapping[str, Any], source: str) -> RuleResult:
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
    words = norm_words(label)
    return {d for d, (stems, _) in DOMAINS.items() if any(w.startswith(s) for w in words for s in stems)}


def _has_prefix(words: list[str], stem: str) -> bool:
    """Whether a word of the sorted ``words`` starts with ``stem`` (then the first one not below it does)."""
    i = bisect.bisect_left(words, stem)
    return i < len(words) and words[i].startswith(stem)


def source_domains(source: str) -> set[str]:
    words = sorted(set(norm_words(source)))
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


def check_grounding(
    item: Mapping[str, Any], source: str, mode: str, document: str | None = None, example: str | None = None
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
