"""Does an answer program work only with values its item's context gives? Pure, no I/O.

The solvers see the context and the question, not the program. Measured on the 1.5B challenger: a case that
says "the students need the harmonic mean of their scores" and a program that invents the scores
(``scores = [85, 90, 78]``) - a right computation of an unanswerable item. So every number the program writes
must be one the context states (as digits, as a word, or as a percentage of it), a common unit conversion,
or the month of a date (``date(2025, 5, 3)`` for "3 May 2025": the year and the day must be stated).
And the answer must be computed: a program that prints a fixed text (``print("The agreement will still
be valid")`` after a comparison of invented dates, measured) has an answer the model wrote, not worked out.
"""

from __future__ import annotations

import ast
import re

from autodata.core.numbers import CARDINALS

COMMON_CONSTANTS = frozenset({0, 1, 2, 3, 4, 7, 10, 12, 24, 60, 100, 365, 1000, 3600})
"""Halves, thirds, quarters, units of time, percent and the powers people convert with."""
NUMBER_WORDS = CARDINALS | {
    "hundred": 100, "thousand": 1000, "twice": 2, "double": 2, "doubled": 2, "triple": 3, "half": 2,
    "halved": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5, "tenth": 10, "first": 1, "second": 2,
}  # fmt: skip
"""Cardinals, and the multiples, fractions and ordinals a case states a factor with."""
DATE_CALLS = frozenset({"date", "datetime"})
"""Calls whose second argument is a month, which the context may write as a word."""
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")


def context_numbers(context: str) -> set[float]:
    """The numbers a text states, as digits ("1,200", "3.5") or as words ("three", "twice")."""
    found = {float(m.group().replace(",", "")) for m in _NUMBER.finditer(context)}
    words = re.findall(r"[a-z]+", context.lower())
    return found | {float(NUMBER_WORDS[w]) for w in words if w in NUMBER_WORDS}


def _unstated_arguments(tree: ast.AST) -> set[int]:
    """ids of the constants that need not be stated: a date's month, round()'s precision."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keywords = {k.arg: k.value for k in node.keywords}
            if name in DATE_CALLS:
                month = node.args[1] if len(node.args) > 1 else keywords.get("month")
                ids |= {id(month)} if isinstance(month, ast.Constant) else set()
            elif name == "round":
                digits = node.args[1] if len(node.args) > 1 else keywords.get("ndigits")
                ids |= {id(digits)} if isinstance(digits, ast.Constant) else set()
    return ids


def program_numbers(program: str) -> list[float]:
    """The numeric literals a program writes, but for a date's month and round()'s precision."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return []
    skipped = _unstated_arguments(tree)
    return [
        float(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and id(node) not in skipped
    ]


def _given(value: float, stated: set[float]) -> bool:
    return (
        value in COMMON_CONSTANTS
        or value in stated
        or round(value * 100, 6) in stated  # 0.3 for "30%"
        or round(value / 100, 6) in stated
        or round((value - 1) * 100, 6) in stated  # 1.25 for "25% more"
        or round((1 - value) * 100, 6) in stated  # 0.8 for "20% less"
    )


def values_not_given(program: str, context: str) -> list[str]:
    """The numbers ``program`` uses that ``context`` does not state (each once, in the program's order)."""
    stated = context_numbers(context)
    missing: list[str] = []
    for value in program_numbers(program):
        text = str(int(value)) if value.is_integer() else repr(value)
        if not _given(value, stated) and text not in missing:
            missing.append(text)
    return missing


def prints_fixed_text(program: str, output: str) -> bool:
    """The line the program printed is one of its own string literals: nothing was computed."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return False
    texts = {
        n.value.strip() for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    return output.strip() in texts
