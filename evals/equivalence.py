"""Answer equivalence for verifiable items: normalisation, then symbolic checking with math-verify.

Returns True / False when code can decide, None when it cannot (then the judge LLM is the fallback).
"""

from __future__ import annotations

import logging
import re
import unicodedata

logging.getLogger("math_verify").setLevel(logging.ERROR)

_ARTICLES = re.compile(r"\b(the|a|an)\b")
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


def extract_final_answer(text: str) -> str:
    """The solver's final answer: the last ``Final answer:`` line, a ``\\boxed{}``, or the last line."""
    matches = _FINAL.findall(text)
    if matches:
        return matches[-1].strip().strip("*").strip()
    boxed = _BOXED.findall(text)
    if boxed:
        return boxed[-1].strip()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = text.replace("$", "").replace("\\(", "").replace("\\)", "")
    text = _ARTICLES.sub(" ", text)
    text = re.sub(r"[\s]+", " ", text)
    text = re.sub(r"[.,;:!?\"'`*]+$", "", text.strip())
    text = re.sub(r"^[\"'`*]+", "", text)
    return text.strip()


def _is_mathy(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    return all(w in _LATEX_WORDS for w in words)


def _math_parse(text: str):
    from math_verify import parse

    wrapped = text if "$" in text or "\\boxed" in text else f"${text}$"
    try:
        return parse(wrapped, parsing_timeout=None)
    except Exception:
        return []


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
    ref, cand = normalize(reference), normalize(candidate)
    if not cand:
        return False
    if ref == cand:
        return True
    if _is_mathy(reference) and _is_mathy(candidate):
        same = symbolic_equal(reference, candidate)
        if same is not None:
            return same
    # Short textual answers: an exact normalised match decided above; containment of the whole reference
    # as a phrase in a short candidate counts ("Treaty of Rome (1957)" vs "Treaty of Rome").
    if len(ref) >= 4 and len(cand.split()) <= 2 * len(ref.split()) + 3 and ref in cand:
        return True
    return None
