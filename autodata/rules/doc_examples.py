"""Worked examples of documented code (``>>> harmonic_mean([40, 60])`` then ``48.0``): code varies the
numbers of the call, the sandbox computes what it returns, and the solver, given the documentation and its
example, must say what the new call returns. Pure, no I/O: running is the caller's.

The embedded 1.5B challenger, asked for a program that calls what its passage documents, wrote programs that
failed or were refused far more often than they ran (docs/RESULTS.md: 17 of 36 rounds on the unseen
documents); a documentation page that shows a call and its result already holds a program that runs.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass

from autodata.rules.format_rules import PRECISE_REAL
from autodata.rules.windows import sentence_spans

_ASSIGNED = re.compile(r"^[ \t]*>>> (?P<name>[A-Za-z_]\w*) = (?P<value>[^#\n]+)$", re.MULTILINE)
"""A doctest line that names data for the calls after it (``>>> data = [2.75, 1.75, 1.25]``)."""
_EXAMPLE = re.compile(r"^[ \t]*>>> (?P<call>.+)\n[ \t]*(?P<result>(?!>>>|\.\.\.)\S.*)$", re.MULTILINE)
MAX_RESULT_CHARS = 24
"""A longer printed result (a long list, a float of 17 digits) is no answer a solver can be asked to copy."""
MAX_DATA = 3
"""Data of more values is cut to its first ones: a solver works the new call out by hand (measured: the
strong 1.5B set up the variance of four values right and mis-added them, 5.2 as 6.2)."""
VARIATIONS = 40
"""Varied calls tried for one example (in one sandbox run): most data give a long decimal."""
FAILED = "!"
"""What the program of varied calls prints for a call that raised."""
MAX_CONTEXT_WORDS = 150
"""The documentation that leads up to an example, kept from its end: what the function does, then the call."""


@dataclass(frozen=True)
class DocExample:
    """A call shown with its result: ``call`` (one expression), ``result`` (the line after it), the names it
    calls and where its two lines start and end in the document."""

    call: str
    result: str
    names: tuple[str, ...]
    start: int
    end: int


def _called(call: str) -> tuple[str, ...] | None:
    """The names an expression calls, by their last part; None when it is not one expression with a call."""
    try:
        tree = ast.parse(call, mode="eval")
    except SyntaxError:
        return None
    names = [
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
    ]
    return tuple(dict.fromkeys(names)) or None


def _data_literal(value: str) -> ast.expr | None:
    """``value`` when it is a list, tuple or set literal of numbers (data a call can be varied on)."""
    try:
        tree = ast.parse(value.strip(), mode="eval").body
    except SyntaxError:
        return None
    return tree if isinstance(tree, ast.List | ast.Tuple | ast.Set) and _list_numbers(tree) else None


class _Inline(ast.NodeTransformer):
    def __init__(self, data: dict[str, ast.expr]):
        self.data = data

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.data.get(node.id, node)


def _with_data(call: str, data: dict[str, ast.expr]) -> str:
    """``call`` with the names of data assigned before it written out (``variance(data)`` ->
    ``variance([2.75, 1.75])``), so that it runs alone and its data can be varied; a trailing comment
    (``#doctest: +ELLIPSIS``) dropped."""
    try:
        tree = ast.parse(call, mode="eval")
    except SyntaxError:
        return call
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if not used & set(data) and "#" not in call:
        return call
    return ast.unparse(_Inline(data).visit(tree))


def doc_examples(document: str) -> list[DocExample]:
    """Every one-line call of ``document`` shown with a one-line result, in order, with the data the
    document assigned before it written out."""
    assignments = [
        (m.start(), m.group("name"), _data_literal(m.group("value"))) for m in _ASSIGNED.finditer(document)
    ]
    found = []
    for match in _EXAMPLE.finditer(document):
        data: dict[str, ast.expr] = {}
        for start, name, value in assignments:
            if start > match.start():
                break
            if value is None:  # the name now holds something else (``>>> data = list(...)``)
                data.pop(name, None)
            else:
                data[name] = value
        call, result = _with_data(match.group("call").strip(), data), match.group("result").strip()
        names = _called(call)
        if names and "Error" not in result and "Traceback" not in result:
            found.append(DocExample(call, result, names, match.start(), match.end()))
    return found


def example_key(call: str) -> str:
    """What a call is without its data (``harmonic_mean([], weights=[])``): two calls with one key ask the
    same question of other numbers."""
    return re.sub(r"[\d\s.-]", "", re.sub(r"\[[^\[\]]*\]", "[]", call))


def asked_calls(questions: list[str]) -> set[str]:
    """The keys of the calls earlier questions asked about (a call is written between backticks)."""
    return {example_key(call) for q in questions for call in re.findall(r"`([^`]+)`", q)}


def examples_for(
    document: str, window: tuple[int, int], names: list[str], asked: set[str] | None = None
) -> list[DocExample]:
    """The examples a passage can get, best first: those that call a name it documents and have data to
    vary, first those at or after the passage, then the others; none whose call was ``asked`` already."""
    wanted = set(names)
    candidates = [
        e
        for e in doc_examples(document)
        if wanted & set(e.names) and varies(e.call) and example_key(e.call) not in (asked or set())
    ]
    return [e for e in candidates if e.start >= window[0]] + [e for e in candidates if e.start < window[0]]


def _number(element: ast.expr) -> int | float | None:
    """The number a literal element is (``-2`` too), else None."""
    negative = isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.USub)
    inner = element.operand if isinstance(element, ast.UnaryOp) and negative else element
    value = inner.value if isinstance(inner, ast.Constant) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return -value if negative else value
    return None


def _list_numbers(tree: ast.AST) -> list[ast.expr]:
    """The number literals that are elements of a list, tuple or set literal: the data of a call, not its
    options (``round(x, 9)`` keeps its 9)."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            found += [element for element in node.elts if _number(element) is not None]
    return found


def _new_number(value: float, draw: int) -> str:
    if value == 0:
        return str(type(value)(1 + draw % 5))
    if isinstance(value, int):
        low, high = max(1, value // 2), max(value + 2, value * 3 // 2 + 1)
        choices = [n for n in range(low, high + 1) if n != value] if value > 0 else [value - 1 - draw % 5]
        return str(choices[draw % len(choices)])
    return str(round(value * (0.5 + (draw % 11) / 10), 1))


def varies(call: str) -> bool:
    """Whether ``call`` has list data to vary."""
    try:
        return bool(_list_numbers(ast.parse(call, mode="eval")))
    except SyntaxError:
        return False


class _Vary(ast.NodeTransformer):
    """New numbers for the data of a call: each number literal of a list, tuple or set literal, drawn from
    ``draws``; data of numbers only is cut to its first MAX_DATA values."""

    def __init__(self, draws: list[int]):
        self.draws = draws
        self.used = 0

    def _data(self, node: ast.List | ast.Tuple | ast.Set) -> ast.expr:
        self.generic_visit(node)
        elements = []
        for element in node.elts:
            value = _number(element)
            if value is not None:
                draw = self.draws[self.used % len(self.draws)] + self.used
                self.used += 1
                element = ast.parse(_new_number(value, draw), mode="eval").body
            elements.append(element)
        if all(_number(e) is not None for e in elements):
            elements = elements[:MAX_DATA]
        node.elts = elements
        return node

    visit_List = _data
    visit_Tuple = _data
    visit_Set = _data


def varied_calls(call: str, seed: str, count: int = VARIATIONS) -> list[str]:
    """Up to ``count`` versions of ``call`` with other numbers in its list data (fixed by ``seed``), data of
    more than MAX_DATA numbers cut to its first ones; none when the call has no such data."""
    if not varies(call):
        return []
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    versions: list[str] = []
    for attempt in range(count):
        draws = [b + attempt for b in digest[attempt % 8 :]]
        text = ast.unparse(_Vary(draws).visit(ast.parse(call, mode="eval")))
        if text != call and text not in versions:
            versions.append(text)
    return versions


def calls_program(calls: list[str]) -> str:
    """One program that prints the repr of each call's value on its own line, or FAILED when it raises (the
    imports are the caller's)."""
    lambdas = "".join(f"    lambda: {call},\n" for call in calls)
    return (
        f"for _call in (\n{lambdas}):\n"
        "    try:\n        print(repr(_call()))\n"
        f"    except Exception:\n        print({FAILED!r})\n"
    )


def fit_result(printed: str | None, original: str) -> bool:
    """A printed result fit to be an answer: one short line, other than the example's, not a failure, and
    no real a solver would have to reproduce to many places (autodata/rules/format_rules.py)."""
    return (
        printed is not None
        and printed != FAILED
        and 0 < len(printed) <= MAX_RESULT_CHARS
        and printed != original
        and not PRECISE_REAL.search(printed)
    )


def answerable(calls: list[str], printed: tuple[str, ...], original: str) -> list[tuple[str, str]]:
    """The varied calls whose printed values are fit answers, with them, the shortest value first: a solver
    works a short exact value out without rounding on the way (measured: the 1.5B wrote 0.72 once and
    0.7244 once for one call). Nothing when the program did not print one line a call."""
    if len(printed) != len(calls):
        return []
    fit = [(call, value) for call, value in zip(calls, printed, strict=True) if fit_result(value, original)]
    return sorted(fit, key=lambda pair: len(pair[1]))


def lead_up(document: str, example: DocExample, shown: str) -> tuple[str, list[str], tuple[int, int]]:
    """The documentation that leads up to ``example``: the sentences of prose since the previous example (or
    the last heading), at most MAX_CONTEXT_WORDS of them from the end. Returns the context (those sentences,
    then ``shown``, the example in words), the sentences, and the span of the document they and the example
    cover (the source the item rests on)."""
    before = document[: example.start]
    cut = max(before.rfind("\n#"), max((m.end() for m in _EXAMPLE.finditer(before)), default=-1)) + 1
    spans = sentence_spans(before[cut:])
    kept: list[tuple[int, str]] = []
    words = 0
    for start, end, _ in reversed(spans):
        sentence = " ".join(before[cut + start : cut + end].split())
        words += len(sentence.split())
        if words > MAX_CONTEXT_WORDS and kept:
            break
        kept.insert(0, (cut + start, sentence))
    sentences = [sentence for _, sentence in kept]
    context = f"{' '.join(sentences)} {shown}".strip()
    return context, sentences, (kept[0][0] if kept else example.start, example.end)
