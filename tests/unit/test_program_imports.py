"""A program that calls an allowed module's function or class without importing it gets the import line."""

import asyncio

import pytest

from autodata.local.program_imports import with_imports
from autodata.local.sandbox import run_program


def test_a_called_name_gets_the_import_of_the_module_that_defines_it():
    # measured on the 1.5B: `date(2023, 6, 15)` with no import (NameError), harmonic_mean(...) likewise
    source = "days = (date(2023, 6, 15) - date(2023, 4, 1)).days\nprint(days)"
    completed = with_imports(source)
    assert completed.splitlines()[0] == "from datetime import date"
    assert asyncio.run(run_program(completed)).output == "75"


def test_several_names_of_one_module_share_one_line_and_modules_come_first():
    source = "q = queue.Queue()\nprint(harmonic_mean([40, 60]), mean([1, 2]), q.qsize())"
    expected = ["import queue", "from statistics import harmonic_mean, mean"]
    assert with_imports(source).splitlines()[:2] == expected


def test_a_caught_exception_class_gets_its_import():
    source = "q = queue.Queue()\ntry:\n    q.get_nowait()\nexcept (Empty, ValueError):\n    print('empty')"
    assert with_imports(source).splitlines()[:2] == ["import queue", "from queue import Empty"]
    assert asyncio.run(run_program(with_imports(source))).output == "empty"


def test_a_module_name_used_as_a_value_gets_its_import():
    assert with_imports("c = collections.Counter('aab')\nprint(c['a'])").startswith("import collections\n")


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import date\nprint(date(2020, 1, 1).year)",
        "import math\nprint(math.sqrt(4))",
        "def mean(xs):\n    return sum(xs) / len(xs)\nprint(mean([1, 2]))",
        "mean = lambda xs: 0\nprint(mean([1]))",
        "print(len([1]), max(1, 2))",  # builtins
        "print(count)",  # a free name that is not called stays a NameError, not itertools.count
        "print(",  # does not parse: left for the sandbox to report
    ],
)
def test_a_program_that_needs_no_import_is_left_as_it_is(source):
    assert with_imports(source) == source


def test_the_ambiguous_name_comes_from_the_module_listed_first():
    # sqrt is in math and cmath: a real-valued case means math
    assert with_imports("print(sqrt(16))").splitlines()[0] == "from math import sqrt"


def test_names_the_sandbox_refuses_are_never_imported():
    # attrgetter leads past the screen; time() reads the clock; compile/open shadow forbidden builtins
    for name in ("attrgetter", "time", "compile", "get_type_hints"):
        assert with_imports(f"print({name}('x'))") == f"print({name}('x'))"


def test_a_name_bound_in_an_inner_scope_counts_as_bound():
    source = "for date in [1, 2]:\n    print(date)\ndef f(mean):\n    return mean(1)\nprint(f(abs))"
    assert with_imports(source) == source


def test_every_allowed_module_has_a_place_in_the_import_order():
    from autodata.local.program_imports import IMPORT_ORDER
    from autodata.local.sandbox import ALLOWED_MODULES

    assert sorted(IMPORT_ORDER) == sorted(ALLOWED_MODULES)
