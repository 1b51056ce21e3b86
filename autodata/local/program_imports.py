"""The import lines a challenger's program forgot. Pure, no I/O.

The embedded 1.5B often calls a standard function or class it never imported (measured: ``date(2023, 6, 15)``
in a tenancy case, ``harmonic_mean(...)``, ``NormalDist(...)`` and ``Counter(...)`` in trace programs: each a
NameError that lost the round). Code adds the missing ``import`` lines, so the program runs as written and a
trace item's question shows a program that runs in any Python, not only in the sandbox.

Only names the program calls, subclasses, decorates with, catches or reads an attribute of are completed:
a free name used as a plain value (``print(count)``) is a mistake in the program, left for the sandbox to
report rather than silently bound to ``itertools.count``.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import types

from autodata.local.sandbox import ALLOWED_MODULES, refused_names

IMPORT_ORDER = (
    "math", "statistics", "fractions", "decimal", "datetime", "collections", "itertools", "functools",
    "heapq", "bisect", "operator", "calendar", "cmath", "string", "re", "textwrap", "threading", "queue",
    "typing", "dataclasses", "enum",
)  # fmt: skip
"""Where a name defined in two modules comes from: the first listed (``sqrt`` from math, not cmath)."""


@functools.cache
def _home_modules() -> dict[str, str]:
    """Each public function or class of the allowed modules -> the module to import it from."""
    excluded = set(dir(builtins)) | refused_names() | ALLOWED_MODULES
    homes: dict[str, str] = {}
    for module_name in IMPORT_ORDER:
        module = importlib.import_module(module_name)
        for name in dir(module):
            value = getattr(module, name, None)
            if name.startswith("_") or name in excluded or name in homes or len(name) < 2:
                continue
            if callable(value) and not isinstance(value, types.ModuleType):
                homes[name] = module_name
    return homes


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the program binds anywhere (one scope for all: a name bound anywhere is never imported)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
    return bound


def _names_used_as_code(tree: ast.AST) -> list[str]:
    """Names the program calls, reads an attribute of, subclasses, decorates with or catches, in order of
    use."""
    used: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            used.append(node.func)
        elif isinstance(node, ast.Attribute):
            used.append(node.value)
        elif isinstance(node, ast.ClassDef):
            used.extend(node.bases)
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            used.extend(node.type.elts if isinstance(node.type, ast.Tuple) else [node.type])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            used.extend(node.decorator_list)
    return [expr.id for expr in used if isinstance(expr, ast.Name)]


def with_imports(source: str) -> str:
    """``source`` with the import lines it needs in front: ``import M`` for an allowed module it uses by name,
    ``from M import a, b`` for the functions and classes it calls; unchanged when it needs none or does not
    parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    bound = _bound_names(tree)
    free = [name for name in dict.fromkeys(_names_used_as_code(tree)) if name not in bound]
    modules = sorted(name for name in free if name in ALLOWED_MODULES)
    members: dict[str, list[str]] = {}
    for name in free:
        home = _home_modules().get(name)
        if home is not None:
            members.setdefault(home, []).append(name)
    lines = [f"import {module}" for module in modules]
    lines += [f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(members.items())]
    return "\n".join([*lines, source]) if lines else source
