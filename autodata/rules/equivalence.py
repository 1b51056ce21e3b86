"""Answer equivalence for verifiable items: normalisation, then symbolic checking with math-verify.

Returns True / False when code can decide, None when it cannot (then the judge LLM is the fallback). Answers
are compared as token sequences (words, whole numbers, punctuation), never as substrings. True only for a
candidate that is the reference (same tokens, the same expression, or the whole reference with nothing but
filler around it or a parenthetical after it) and that offers one option: a hedged or multi-option answer
("A or B", "maybe A") and a negated one ("not A") are never True.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from decimal import Decimal
from typing import Any

from autodata.core.numbers import CARDINALS
from autodata.rules.dates import date_verdict

logging.getLogger("math_verify").setLevel(logging.ERROR)

# lower-case "a" only: a capital A is as likely the answer (key A, vitamin A) as an article
_ARTICLES = re.compile(r"\b(?:[Tt]he|THE|[Aa]n|AN|a)\b")
_FINAL = re.compile(r"final answer\s*[:\-]\s*(.+)", re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{(.+)\}")
_WORD = re.compile(r"[A-Za-z]{3,}")
_LATEX_WORDS = {
    "frac",
    "sqrt",
    "cdot",
    "times",
    "left",
    "right",
    "infty",
    "sum",
    "int",
    "pi",
    "ln",
    "log",
    "sin",
    "cos",
    "tan",
    "exp",
    "mathrm",
    "text",
    "dfrac",
    "tfrac",
    "binom",
    "mod",
    "pmod",
}


_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[^\W\d_]+|[^\w\s]")
NEGATIONS = frozenset({"not", "no", "never", "none", "neither", "nor"})
OPTIONS = frozenset({"or", "either", "nor", "versus", "vs"})
HEDGES = frozenset(
    {"maybe", "perhaps", "possibly", "probably", "likely", "unlikely", "unsure", "unclear", "uncertain"}
    | {"might", "guess"}
)
FILLERS = frozenset({"it", "is", "was", "answer", "final", "so", "this", "that", ":"})
OPERATORS = frozenset({"/", "^", "*", "+", "-", "="})
_CONTRACTIONS = ((re.compile(r"\bcan't\b|\bcannot\b"), "can not"), (re.compile(r"\bwon't\b"), "will not"))
_MATH_SPELLING = (
    (re.compile(r"\*\*"), "^"),  # Python powers: x**2
    (re.compile(r"(?<![\\a-zA-Z])pi(?![a-zA-Z])"), r"\\pi"),
    (re.compile(r"(\d)[eE]([+-]?\d+)"), r"\1\\times 10^{\2}"),  # 1e3 (math-verify reads e as Euler's number)
    (re.compile("\u2212"), "-"),
    (re.compile("\u00d7"), r"\\times "),
    (re.compile("\u00b7"), r"\\cdot "),
)


def marked_final_answer(text: str) -> str | None:
    """The answer the text marks as final (its last ``Final answer:`` line or ``\\boxed{}``), or None."""
    matches: list[str] = _FINAL.findall(text)
    if matches:
        return matches[-1].strip().strip("*").strip()
    boxed: list[str] = _BOXED.findall(text)
    if boxed:
        return boxed[-1].strip()
    return None


def extract_final_answer(text: str) -> str:
    """The solver's final answer: the last ``Final answer:`` line, a ``\\boxed{}``, or the last line."""
    marked = marked_final_answer(text)
    if marked is not None:
        return marked
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").strip()
    text = text.replace("$", "").replace("\\(", "").replace("\\)", "")
    text = _ARTICLES.sub(" ", text).lower()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = re.sub(r"n't\b", " not", text)
    text = re.sub(r"[\s]+", " ", text)
    text = re.sub(r"[.,;:!?\"'`*]+$", "", text.strip())
    text = re.sub(r"^[\"'`*]+", "", text)
    return text.strip()


def _canonical_number(token: str) -> str:
    value = Decimal(token.replace(",", ""))
    return format(value.normalize(), "f") if value else "0"


def tokens(normalized: str) -> list[str]:
    """Words, whole numbers (``1,000`` and ``1000.0`` read as ``1000``) and single punctuation marks."""
    return [_canonical_number(t) if t[0].isdigit() else t for t in _TOKEN.findall(normalized)]


def _is_number(token: str) -> bool:
    return token[0].isdigit()  # tokens are whole numbers, words or one punctuation mark


def multi_option(toks: list[str]) -> bool:
    """Offers several answers or hedges ("A or B", "either A or B", "maybe A")."""
    return any(t in OPTIONS or t in HEDGES for t in toks)


def negated(toks: list[str]) -> bool:
    return sum(t in NEGATIONS for t in toks) % 2 == 1


def _find(haystack: list[str], needle: list[str]) -> int:
    return next(
        (i for i in range(len(haystack) - len(needle) + 1) if haystack[i : i + len(needle)] == needle), -1
    )


def _year_in_parentheses(toks: list[str]) -> bool:
    """``( 1957 )``: a date aside; words or other numbers there could be another answer."""
    return len(toks) == 3 and toks[0] == "(" and toks[2] == ")" and len(toks[1]) == 4 and toks[1].isdigit()


def contains_whole(ref: list[str], cand: list[str]) -> bool:
    """The whole reference, token for token, with only filler before it and at most a year in parentheses
    after it ("the answer is X (1957)"), which a reference with a number of its own does not allow."""
    at = _find(cand, ref)
    if at < 0:
        return False
    before, after = cand[:at], cand[at + len(ref) :]
    aside = not after or (_year_in_parentheses(after) and not any(map(_is_number, ref)))
    return set(before) <= FILLERS and aside


def differ_only_in_numbers(ref: list[str], cand: list[str]) -> bool:
    """Same words in the same places, some number different ("Article 5" / "Article 50", "2 years" /
    "12 years"). Not for arithmetic, where different numbers can be equal (1/2, 2/4)."""
    if len(ref) != len(cand) or ref == cand or any(t in OPERATORS for t in ref + cand):
        return False
    if not any(t[0].isalpha() for t in ref):
        return False  # no word: bare numbers are left to math-verify
    return all(r == c or (_is_number(r) and _is_number(c)) for r, c in zip(ref, cand, strict=True))


def _is_mathy(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    return all(w in _LATEX_WORDS for w in words)


def math_spelling(text: str) -> str:
    """Plain and Python spellings that math-verify's LaTeX parser misreads (``x**2``, ``pi``, ``1e3``, a
    Unicode minus sign)."""
    for pattern, replacement in _MATH_SPELLING:
        text = pattern.sub(replacement, text)
    return text


def _math_parse(text: str) -> list[Any]:
    from math_verify import parse

    text = math_spelling(text)
    wrapped = text if "$" in text or "\\boxed" in text else f"${text}$"
    try:
        parsed: list[Any] = parse(wrapped, parsing_timeout=None)
    except Exception:
        return []
    # a list of strings only is a failed parse: verify would compare the raw text
    return parsed if any(not isinstance(p, str) for p in parsed) else []


def symbolic_equal(reference: str, candidate: str) -> bool | None:
    from math_verify import verify

    gold, pred = _math_parse(reference), _math_parse(candidate)
    if not gold or not pred:
        return None
    try:
        return bool(verify(gold, pred, timeout_seconds=None))
    except Exception:
        return None


def answers_equivalent(reference: str, candidate: str) -> bool | None:
    """True/False when decidable in code, None to defer to the LLM judge."""
    ref_text, cand_text = normalize(reference), normalize(candidate)
    if not cand_text:
        return False
    ref, cand = tokens(ref_text), tokens(cand_text)
    if ref_text == cand_text or ref == cand:
        return True
    if multi_option(cand):
        return None
    if negated(ref) != negated(cand):
        # the same answer with a negation added or removed is the opposite answer
        same = [t for t in ref if t not in NEGATIONS] == [t for t in cand if t not in NEGATIONS]
        return False if same else None
    if contains_whole(ref, cand):  # before the symbolic test, which reads "int (1000)" as a product
        return True
    if _is_mathy(reference) and _is_mathy(candidate):
        symbolic = symbolic_equal(reference, candidate)
        if symbolic is not None:
            return symbolic
    if differ_only_in_numbers(ref, cand):
        return False
    return None


_KEY_WORD = re.compile(r"[^\W\d_]{4,}")
STEM_CHARS = 4
"""Words are compared by their first letters ("sequences" and "sequence", "blocks" and "block"): lenient on
purpose, since a shared stem only sends the answer on to the judge."""
_FUNCTION_WORDS = frozenset(
    {
        "that",
        "this",
        "with",
        "from",
        "have",
        "been",
        "when",
        "then",
        "they",
        "them",
        "their",
        "there",
        "which",
        "what",
        "into",
        "only",
        "also",
        "some",
        "such",
        "than",
        "more",
        "most",
        "very",
        "each",
        "does",
        "will",
        "would",
        "could",
        "should",
        "about",
        "because",
        "since",
        "while",
        "where",
        "these",
        "those",
        "being",
        "were",
        "your",
        "other",
    }
)


def key_stems(text: str) -> set[str]:
    """The stems of ``text``'s content words (four letters or more, function words left out)."""
    words = (w.lower() for w in _KEY_WORD.findall(text))
    return {w[:STEM_CHARS] for w in words if w not in _FUNCTION_WORDS}


def misses_every_key_word(reference: str, candidate: str, question: str) -> bool:
    """True when a reference in words (no digits, no formula) has content words its question does not give
    away, and ``candidate`` uses none of them: then it names something else, and it is DIFFERENT without
    asking the judge LLM. The 1.5B equivalence judge called "to optimize the use of CPU resources by
    limiting access to shared data structures" equivalent to "a new sequence can use any free blocks"
    (docs/RESULTS.md). A paraphrase in none of the reference's words is graded wrong by this rule: the
    cost of a rule that never lets a rambling answer pass."""
    if re.search(r"\d", reference) or _is_mathy(reference) or not candidate.strip():
        return False
    key = key_stems(reference) - key_stems(question)
    return bool(key) and not key & key_stems(candidate)


NUMBER_WORDS = {word: str(value) for word, value in CARDINALS.items()}
QUESTION_RUN = 4
"""A run of this many tokens of the question, restated in an answer, is the question's, not the answer's."""
_NOT_PLAIN = frozenset({"/", "^", "*", "%", "sqrt", "frac", "e"})


def stated_numbers(candidate: str, question: str) -> set[str]:
    """The numbers ``candidate`` states beyond the runs of tokens it copies from ``question`` (number words
    read as digits): "The roots of r^2 - 5r + 6 = 0 are indeed 3." states 3."""
    cand = [NUMBER_WORDS.get(t, t) for t in tokens(normalize(candidate))]
    quest = tokens(normalize(question))
    runs = {tuple(quest[i : i + QUESTION_RUN]) for i in range(len(quest) - QUESTION_RUN + 1)}
    own = [True] * len(cand)
    for i in range(len(cand) - QUESTION_RUN + 1):
        if tuple(cand[i : i + QUESTION_RUN]) in runs:
            own[i : i + QUESTION_RUN] = [False] * QUESTION_RUN
    return {t for t, mine in zip(cand, own, strict=True) if mine and _is_number(t)}


def states_part_of_the_numbers(reference: str, candidate: str, question: str) -> bool:
    """True when a reference with several numbers and no formula ("roots 2 and 3") meets an answer whose own
    numbers are some of them but not all ("... are indeed 3"): it is DIFFERENT without asking the judge LLM,
    which called that very answer equivalent (docs/RESULTS.md). An answer with a number the reference lacks
    is left to the judge: "14 days" may be "2 weeks"."""
    ref = tokens(normalize(reference))
    if _is_mathy(reference) or any(t in _NOT_PLAIN for t in ref):
        return False
    wanted = {t for t in ref if _is_number(t)}
    stated = stated_numbers(candidate, question)
    return len(wanted) > 1 and bool(stated) and stated < wanted


def code_verdict(reference: str, candidate: str, question: str) -> bool | None:
    """What code decides of ``candidate`` against ``reference`` before any judge LLM is asked: equivalent,
    different (also when it misses every key word of a reference in words), or None to ask the judge. The
    generator's judge and the training reward both go through it, so an answer earns reward exactly when the
    generator would have counted it right. A reference that is a date alone is decided by the day named
    (autodata/rules/dates.py: date_verdict)."""
    dated = date_verdict(reference, candidate)
    if dated is not None:
        return dated
    same = answers_equivalent(reference, candidate)
    if same is None and (
        misses_every_key_word(reference, candidate, question)
        or states_part_of_the_numbers(reference, candidate, question)
    ):
        return False
    return same
