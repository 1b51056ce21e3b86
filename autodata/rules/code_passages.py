"""Passages that document code, and programs that exercise it. Pure, no I/O.

A passage that names callables ("acquire()", "heappush(heap, item)", ``harmonic_mean``) documents behaviour a
program can show: for it, a verifiable item can be a short program that calls what the passage documents,
and the question what it prints. Code runs the program (autodata/local/sandbox.py), so the reference answer is
the interpreter's; the solver must predict it from the passage's description. The embedded 1.5B challenger
is a code model: in the case prompts it already wrote programs with Queue, Condition and statistics.median
(docs/RESULTS.md, 2026-12-07).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from types import ModuleType

_CALLED = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\((?!s\))")
"""A name and its opening bracket, but not a plural marker ("Contribution(s)" in a licence)."""
_BACKTICKED = re.compile(r"``?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)``?")
MIN_NAME_CHARS = 3
"""Shorter "names" before a bracket are labels ("(a)", "f(x)" in maths prose), not callables."""


def callable_names(passage: str) -> list[str]:
    """The callables a passage names, by their last part ("threading.Semaphore(" -> "Semaphore"), in order:
    names written as calls, and backticked names with an underscore or a dot (``harmonic_mean``)."""
    found: list[str] = []
    for match in _CALLED.finditer(passage):
        found.append(match.group(1).split(".")[-1])
    for match in _BACKTICKED.finditer(passage):
        name = match.group(1)
        if "_" in name or "." in name:
            found.append(name.split(".")[-1])
    names: list[str] = []
    for name in found:
        if len(name) >= MIN_NAME_CHARS and not name[0].isdigit() and name not in names:
            names.append(name)
    return names


def _nodes(program: str) -> list[ast.AST]:
    """Every node of the program's syntax tree; none when it does not parse."""
    try:
        return list(ast.walk(ast.parse(program)))
    except SyntaxError:
        return []


def called_names(program: str) -> set[str]:
    """The names a program calls (``f(...)`` and ``obj.f(...)`` give "f")."""
    funcs = [node.func for node in _nodes(program) if isinstance(node, ast.Call)]
    return {
        f.attr if isinstance(f, ast.Attribute) else f.id
        for f in funcs
        if isinstance(f, ast.Attribute | ast.Name)
    }


def defined_names(program: str) -> set[str]:
    """The functions and classes a program defines itself."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in _nodes(program) if isinstance(node, kinds)}


def calls_any(program: str, names: list[str]) -> list[str]:
    """Those of ``names`` the program calls, but not those it defines itself: a program with its own
    ``def acquire()`` tests its own code, not what the passage documents."""
    called = called_names(program) - defined_names(program)
    return [name for name in names if name in called]


def without_comments(program: str) -> str:
    """The program as a student sees it: no comments, whole-line or inline (a comment may state what it
    prints), and no blank lines; a "#" inside a string stays. A program that does not tokenize loses every
    "#" to the end of its line."""
    lines = program.splitlines()
    cuts: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(program).readline):
            if token.type == tokenize.COMMENT:
                cuts[token.start[0] - 1] = token.start[1]
    except (tokenize.TokenError, SyntaxError):
        cuts = {row: line.index("#") for row, line in enumerate(lines) if "#" in line}
    kept = (line[: cuts[row]] if row in cuts else line for row, line in enumerate(lines))
    return "\n".join(line.rstrip() for line in kept if line.strip())


def _public_classes(module: ModuleType) -> list[tuple[str, type]]:
    return [
        (name, value)
        for name, value in vars(module).items()
        if isinstance(value, type)
        and not name.startswith("_")
        and value.__module__.startswith(module.__name__)
    ]


def qualified_names(
    names: list[str], modules: list[ModuleType], document: str, per_name: int = 2
) -> list[str]:
    """Where each of the passage's callables lives in ``modules`` ("acquire" ->
    "threading.Semaphore.acquire"): the module's own functions and classes, and methods of its public
    classes, those whose module or class the document names first ("Semaphores manage ..."). A name no
    module defines gets none: its program cannot run it."""
    text = document.lower()

    def named_in_document(qualified: str) -> bool:
        return any(part.lower().rstrip("s") in text for part in qualified.split(".")[:-1])

    found: list[str] = []
    for name in names:
        candidates = [f"{m.__name__}.{name}" for m in modules if callable(vars(m).get(name))]
        for module in modules:
            candidates += [
                f"{module.__name__}.{cls_name}.{name}"
                for cls_name, cls in _public_classes(module)
                if callable(getattr(cls, name, None)) and name in vars(cls)
            ]
        ranked = sorted(candidates, key=lambda q: (not named_in_document(q), q.count("."), q))
        found += ranked[:per_name]
    return found


def passage_code_names(window: str, document: str) -> list[str]:
    """The callables a passage is about: those its own sentences name, else those its document names (a
    focus passage of two sentences rarely repeats the function its docstring documents: measured, 4 of 36
    windows of the real corpus named one)."""
    return callable_names(window) or callable_names(document)
