"""The arithmetic of a challenger's worked solution, checked in code.

A small challenger sets up a case right and then miscomputes it: "(10 + 20 + 30 + 45) / 4 = 18.75"
(docs/RESULTS.md, the statistics notes). Each ``expression = number`` of the solution whose two sides are
plain arithmetic (numbers, + - * / ^, parentheses; no letters) is evaluated. Wrong steps that lead to the
answer are repaired, the steps after them recomputed with the right figures (the item's answer then holds
what its own expressions give); any other wrong step rejects the item, with the right value in the
feedback.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import NamedTuple

from autodata.rules.format_rules import RuleResult

_SIDE = r"[-+*/×÷·^()\d.,\s]+"
_EQUATION = re.compile(rf"(?<![\w.^])({_SIDE})=(?!=)(?=({_SIDE}))")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_OPERATOR = re.compile(r"(?<=[\d)])\s*(?:\*\*|[-+*/])\s*(?=[\d(.-])")
"""An operator between two operands, in a normalised side (``×`` is ``*``, ``^`` is ``**``)."""
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_OPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
RELATIVE_SLACK = 0.01
"""A stated value within 1% of the computed one passes (a rounded or truncated figure)."""


class Equation(NamedTuple):
    expression: str
    stated: str
    value: float
    """What the expression gives."""
    start: int
    end: int
    """Where the stated value is in the text."""
    stated_value: float | None
    """The value of a stated expression (a chain's next step); None for a plain number."""
    expression_start: int
    expression_end: int

    @property
    def right(self) -> bool:
        if self.stated_value is not None:
            return math.isclose(self.value, self.stated_value, rel_tol=1e-9, abs_tol=1e-9)
        return agrees(self.value, self.stated)


def _normalise(side: str) -> str:
    side = _THOUSANDS.sub("", side.strip())
    return side.replace("×", "*").replace("·", "*").replace("÷", "/").replace("^", "**")


def _evaluate(side: str) -> float | None:
    """The value of a plain arithmetic expression, or None (not one, or too large to be arithmetic)."""
    try:
        tree = ast.parse(_normalise(side), mode="eval")
    except (SyntaxError, ValueError):
        return None

    def value(node: ast.AST) -> float:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = value(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Pow) and (abs(right) > 12 or abs(left) > 1e6):
                raise ValueError("too large")
            return _OPS[type(node.op)](left, right)
        raise ValueError("not arithmetic")

    try:
        result = value(tree.body)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    return result if math.isfinite(result) else None


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def agrees(value: float, stated: str) -> bool:
    """``stated`` is ``value`` as written: rounded to its own decimals, or within 1%."""
    shown = float(_normalise(stated))
    return abs(value - shown) <= max(0.5 * 10.0 ** -_decimals(stated) + 1e-9, RELATIVE_SLACK * abs(value))


def equations(text: str) -> list[Equation]:
    """Every ``expression = value`` of ``text`` with an operator on the left and, on the right, a plain
    number or another expression (a chain: ``(2 + 3) * 4 = 5 * 4 = 20``); ``x = 5`` or
    ``r^2 - 5r + 6 = 0`` are not arithmetic."""
    found: list[Equation] = []
    for match in _EQUATION.finditer(text):
        # a list before the expression ("the values 3, 4 and 5: 3 + 4 + 5 = 12") is not part of it
        raw = re.split(r",\s+", match.group(1))[-1]
        left = raw.strip()
        left_start = match.end(1) - len(raw) + (len(raw) - len(raw.lstrip()))
        where = (left_start, left_start + len(left))
        right = re.split(r",\s+", match.group(2))[0].strip().rstrip(".")
        if not _OPERATOR.search(_normalise(left)) or not right:
            continue
        value = _evaluate(left)
        if value is None:
            continue
        start = match.start(2) + (len(match.group(2)) - len(match.group(2).lstrip()))
        if _OPERATOR.search(_normalise(right)):  # a step of a chain: its right side is an expression too
            stated = _evaluate(right)
            if stated is not None:
                found.append(Equation(left, right, value, start, start + len(right), stated, *where))
            continue
        if text[start + len(right) :].lstrip().startswith("%"):
            continue  # "1/2 = 50%": a percentage, another scale
        if _NUMBER.fullmatch(_normalise(right)):
            found.append(Equation(left, right, value, start, start + len(right), None, *where))
    return found


def wrong(text: str) -> list[Equation]:
    return [e for e in equations(text) if not e.right]


def written(value: float, like: str) -> str:
    """``value`` written as the figure it replaces: an integer stays one; else as many decimals as the
    stated figure had (2 to 4), without trailing zeros."""
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.{min(max(2, _decimals(like)), 4)}f}".rstrip("0").rstrip(".")


_FIGURE = re.compile(r"(?<![\d.,])\d[\d,]*(?:\.\d+)?(?![\d.])")


def repair(solution: str, answer: str) -> tuple[str, str, str] | None:
    """A solution whose wrong steps can be recomputed in order: each wrong result is replaced by the right
    one, and where a later step uses it, that step is recomputed with the right figure ("2 + 3 = 6, 6 / 2
    = 3" becomes "2 + 3 = 5, 5 / 2 = 2.5"). Only when the last step's result changes and ``answer`` states
    it once: (solution, answer, note) with the right figures in both; otherwise None (nothing wrong, or a
    wrong step that does not reach the answer, or a chain of expressions: the item is rejected instead)."""
    steps = equations(solution)
    corrected: dict[str, str] = {}
    edits: list[tuple[int, int, str]] = []
    notes: list[str] = []
    for step in steps:
        expression = _FIGURE.sub(lambda m: corrected.get(m.group(), m.group()), step.expression)
        if step.stated_value is not None:
            if expression != step.expression or not step.right:
                return None
            continue
        if expression != step.expression and not step.right:
            return None  # wrong on its own figures too: two slips in a row are a wrong method, not a slip
        value = step.value if expression == step.expression else _evaluate(expression)
        if value is None:
            return None
        if expression != step.expression:
            edits.append((step.expression_start, step.expression_end, expression))
        if not agrees(value, step.stated):
            corrected[step.stated] = written(value, step.stated)
            edits.append((step.start, step.end, corrected[step.stated]))
            notes.append(f"{expression} = {corrected[step.stated]}, not {step.stated}")
    if not steps or steps[-1].stated not in corrected:
        return None
    last = steps[-1].stated
    in_answer = [m for m in _NUMBER.finditer(answer) if agrees(float(m.group()), last)]
    if len(in_answer) != 1:
        return None
    for start, end, text in sorted(edits, reverse=True):
        solution = solution[:start] + text + solution[end:]
    place = in_answer[0]
    fixed_answer = answer[: place.start()] + corrected[last] + answer[place.end() :]
    return solution, fixed_answer, "; ".join(notes)


def check_arithmetic(solution: str) -> RuleResult:
    """Every arithmetic step of the solution computes what it states."""
    bad = wrong(solution)
    if not bad:
        return RuleResult("solution_arithmetic", True, "ok")
    first = bad[0]
    value = written(first.value, first.stated)
    return RuleResult(
        "solution_arithmetic",
        False,
        f"the solution miscomputes {first.expression} = {first.stated} (it is {value}): recompute every "
        "step, and make the answer the result of the right arithmetic",
    )


def computes_answer(solution: str, answer: str) -> bool:
    """The solution's arithmetic is all right and its last step's result is the number ``answer`` states:
    the answer is then what a calculator gives for the setup, whatever a small verifier recomputes."""
    steps = equations(solution)
    if not steps or any(not step.right for step in steps):
        return False
    last = steps[-1]
    value = last.stated_value if last.stated_value is not None else last.value
    return any(agrees(value, m.group()) for m in _NUMBER.finditer(_THOUSANDS.sub("", answer)))
