"""The answer-program sandbox (autodata/local/sandbox.py): what may run, and what a run gives back."""

from __future__ import annotations

import asyncio

import pytest

from autodata.local.sandbox import ProgramRejected, run_program, screen_program


def run(source: str, timeout: float = 5.0):
    return asyncio.run(run_program(source, timeout=timeout))


def test_the_answer_is_the_last_line_printed():
    result = run(
        "from datetime import date\ndays = (date(2025, 4, 20) - date(2025, 3, 2)).days\nprint(days)\n"
        'print(f"{days * 2} euros")'
    )
    assert result.output == "98 euros" and result.error is None


@pytest.mark.parametrize(
    "source, why",
    [
        ("import os\nprint(os.getcwd())", "imports 'os'"),
        ("from subprocess import run\nrun(['ls'])", "imports 'subprocess'"),
        ("print(open('/etc/passwd').read())", "'open'"),
        ("print(().__class__.__bases__)", "private attribute"),
        ("__import__('os').system('true')", "'__import__'"),
        ("print(getattr(1, 'real'))", "'getattr'"),
        ("from . import x", "relative import"),
        ("print(1 +)", "does not parse"),
    ],
)
def test_a_program_outside_the_allowed_set_never_runs(source, why):
    with pytest.raises(ProgramRejected, match=why):
        screen_program(source)
    result = run(source)
    assert result.output is None and why.strip("'") in result.error


def test_a_failing_program_reports_its_exception_line():
    result = run("x = 1 / 0\nprint(x)")
    assert result.output is None and "ZeroDivisionError" in result.error


def test_a_program_that_prints_nothing_is_an_error():
    assert "printed nothing" in run("x = 3").error


def test_a_program_that_never_ends_is_stopped():
    result = run("while True:\n    pass", timeout=1.0)
    assert result.output is None and "did not finish" in result.error


def test_private_attributes_of_allowed_modules_are_refused():
    result = run("import threading\nprint(threading.Semaphore(2)._value)")
    assert result.output is None and "private attribute" in result.error


def test_allowed_modules_compute():
    result = run(
        "import heapq, statistics\nh = []\nfor x in [5, 1, 4]:\n    heapq.heappush(h, x)\n"
        "print(h[0], statistics.harmonic_mean([40, 60]))"
    )
    assert result.output == "1 48.0"


def test_what_a_program_prints_is_capped():
    result = run('for i in range(200000):\n    print("x" * 50)\nprint("done")')
    assert result.error is None and set(result.output) == {"x"}  # "done" came after the cap


def test_a_program_over_its_memory_is_stopped():
    result = run("x = bytearray(2 * 1024 * 1024 * 1024)\nprint(len(x))")
    assert result.output is None and "MemoryError" in result.error


def test_a_program_that_reads_the_clock_is_refused():
    result = run("from datetime import date\nprint((date.today() - date(2025, 3, 2)).days)")
    assert result.output is None and "reads the clock" in result.error


def test_an_allowed_module_used_without_its_import_is_there():
    result = run("s = threading.Semaphore(1)\nprint(s.acquire(blocking=False), s.acquire(blocking=False))")
    assert result.output == "True False"


@pytest.mark.parametrize(
    "source",
    [
        "import calendar\ncalendar.sys.modules['os'].system('true')",
        "import dataclasses\nprint(dataclasses.builtins.open)",
        "g = (x for x in [1])\nprint(g.gi_frame.f_builtins)",
        "import statistics\nprint(statistics.random.random())",
        "import operator\nprint(operator.attrgetter('__class__')(1))",
        "import string\nprint(string.Formatter().get_field('0.__class__', [1], {}))",
        "import typing\ndef f(x: 'print(1)'):\n    pass\nprint(typing.get_type_hints(f))",
        "from operator import attrgetter\nprint(attrgetter('__class__')(1))",
        "from calendar import sys\nprint(sys.modules)",
        "from operator import *\nprint(attrgetter)",
    ],
)
def test_attributes_that_lead_out_of_the_allowed_modules_are_refused(source):
    with pytest.raises(ProgramRejected, match="not allowed"):
        screen_program(source)
