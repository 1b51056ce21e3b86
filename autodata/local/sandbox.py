"""Runs a challenger's answer program: a short Python program that computes a case item's reference answer
from the case's values, so the answer's arithmetic is the interpreter's, not a small model's.

Programs are model output, and the model read a document a user fed it: they are screened before they run
(imports from a list of pure-computation standard modules only, no file, process, introspection or dunder
access) and run in a separate interpreter in isolated mode, with no environment, an empty working directory,
limits on CPU time, memory, file size and output, and a wall-clock timeout. This module must never run a
program that did not pass :func:`screen_program`. It guards against a small model's mistakes and against a
document that talks a model into writing something harmful; it is not an operating-system sandbox (no
network or process namespace), so run untrusted documents on a machine you can afford to lose.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import importlib
import os
import shutil
import sys
import tempfile
import types
from dataclasses import dataclass

ALLOWED_MODULES = frozenset(
    {
        "math",
        "cmath",
        "fractions",
        "decimal",
        "statistics",
        "datetime",
        "calendar",
        "heapq",
        "bisect",
        "collections",
        "itertools",
        "functools",
        "operator",
        "string",
        "re",
        "textwrap",
        "threading",
        "queue",
        "typing",
        "dataclasses",
        "enum",
    }
)
"""Standard modules that compute and nothing else (threading and queue for documents about them: a program
that blocks forever is ended by the timeout)."""
FORBIDDEN_NAMES = frozenset(
    {
        "open",
        "exec",
        "eval",
        "compile",
        "__import__",
        "input",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "exit",
        "quit",
        "help",
        "memoryview",
        "__builtins__",
        "__loader__",
        "__spec__",
    }
)
INTROSPECTION = frozenset(
    {
        "sys", "os", "builtins", "bltns", "modules", "inspect", "importlib", "subprocess", "types", "copyreg",
        "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals", "f_builtins",
        "f_locals", "f_back", "f_code", "tb_frame", "tb_next", "mro",
        "attrgetter", "methodcaller", "get_field", "vformat", "Formatter", "get_type_hints", "ForwardRef",
        "make_dataclass",
    }
)  # fmt: skip
"""Attributes that lead out of the allowed modules (``calendar.sys``, ``dataclasses.builtins``), into
frames and their globals (``gen.gi_frame.f_builtins``), or that look up attributes or evaluate code named
by a string, past the screen (``operator.attrgetter("__globals__")``, ``string.Formatter().get_field``,
``typing.get_type_hints`` on a string annotation): refused by name, wherever they appear."""


def _module_attributes() -> frozenset[str]:
    """Public attributes of the allowed modules that are other modules (``statistics.random``, ...)."""
    names: set[str] = set()
    for module in ALLOWED_MODULES:
        loaded = importlib.import_module(module)
        for name in dir(loaded):
            value = getattr(loaded, name, None)
            outside = (
                isinstance(value, types.ModuleType) and value.__name__.split(".")[0] not in ALLOWED_MODULES
            )
            if outside and not name.startswith("_"):
                names.add(name)
    return frozenset(names)


CLOCK_READS = frozenset({"today", "now", "utcnow", "time", "monotonic", "perf_counter"})
"""Calls whose result depends on when the program runs: an answer must follow from what the case states
(measured: ``date.today() - date(2025, 3, 2)`` in a case that gave no date of payment)."""
MAX_OUTPUT_CHARS = 2_000
TIMEOUT_S = 5.0
CPU_SECONDS = 3
MEMORY_BYTES = 512 * 1024 * 1024

_BOOTSTRAP = """
import importlib, io, resource, sys
preloaded = {{name: importlib.import_module(name) for name in {modules!r}}}
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))
resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
source = sys.stdin.read()
real = sys.stdout
class Capped(io.StringIO):
    def write(self, text):
        room = {chars} - self.tell()
        return super().write(text[:room]) if room > 0 else len(text)
sys.stdout = Capped()
try:
    exec(compile(source, "<answer program>", "exec"), {{"__name__": "__main__", **preloaded}})
finally:
    real.write(sys.stdout.getvalue())
"""
"""The allowed modules preloaded under their names (the 1.5B often calls ``threading.Semaphore`` or
``queue.Queue`` without importing it: measured), then the limits, then the program; what it prints is kept
in memory up to MAX_OUTPUT_CHARS (a pipe has no file-size limit) and written out when it ends."""


class ProgramRejected(ValueError):
    """The program may not run: it does not parse, or it uses something outside the allowed set."""


@dataclass(frozen=True)
class ProgramRun:
    output: str | None
    """The last non-empty line the program printed, stripped; None when it failed."""
    error: str | None
    """Why there is no output, in one line a model can act on."""
    lines: int = 0
    """How many non-empty lines it printed."""
    printed: tuple[str, ...] = ()
    """Every non-empty line it printed, stripped, in order."""


def screen_program(source: str) -> None:
    """Raises ProgramRejected unless ``source`` parses and uses only allowed modules and names."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ProgramRejected(f"the program does not parse: {exc.msg} (line {exc.lineno})") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level:
                raise ProgramRejected("the program uses a relative import")
            if isinstance(node, ast.ImportFrom):  # a name imported is used without an attribute access
                for alias in node.names:
                    if alias.name == "*" or alias.name in _refused_attributes() or alias.name.startswith("_"):
                        raise ProgramRejected(f"the program imports {alias.name!r}, which is not allowed")
            for module in modules:
                if module.split(".")[0] not in ALLOWED_MODULES:
                    allowed = ", ".join(sorted(ALLOWED_MODULES))
                    raise ProgramRejected(
                        f"the program imports {module!r}; only these may be used: {allowed}"
                    )
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise ProgramRejected(f"the program uses {node.id!r}, which is not allowed")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ProgramRejected(f"the program uses the private attribute {node.attr!r}")
        elif isinstance(node, ast.Attribute) and node.attr in _refused_attributes():
            raise ProgramRejected(f"the program uses the attribute {node.attr!r}, which is not allowed")
        elif isinstance(node, ast.Attribute) and node.attr in CLOCK_READS:
            raise ProgramRejected(f"the program reads the clock ({node.attr}); use the dates the case states")


@functools.cache
def allowed_modules() -> tuple[types.ModuleType, ...]:
    """The allowed modules, imported (what a program can call)."""
    return tuple(importlib.import_module(name) for name in sorted(ALLOWED_MODULES))


@functools.cache
def _refused_attributes() -> frozenset[str]:
    return INTROSPECTION | _module_attributes()


def refused_names() -> frozenset[str]:
    """Every name the screen refuses as a name, an attribute or a clock read."""
    return FORBIDDEN_NAMES | _refused_attributes() | CLOCK_READS


def _last_line(stdout: str) -> str | None:
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    return lines[-1] if lines else None


def _error_line(stderr: str) -> str:
    """The exception line of a traceback ("ZeroDivisionError: division by zero")."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


async def run_program(source: str, timeout: float = TIMEOUT_S) -> ProgramRun:
    """Screens and runs ``source``; its answer is the last line it prints."""
    try:
        screen_program(source)
    except ProgramRejected as exc:
        return ProgramRun(None, str(exc))
    bootstrap = _BOOTSTRAP.format(
        cpu=CPU_SECONDS, mem=MEMORY_BYTES, chars=MAX_OUTPUT_CHARS, modules=sorted(ALLOWED_MODULES)
    )
    # the directory off the event loop: `langgraph dev` refuses blocking file calls in it
    workdir = await asyncio.to_thread(tempfile.mkdtemp, prefix="autodata-program-")
    try:
        proc = await asyncio.create_subprocess_exec(  # an OSError here is the machine's, not the program's
            sys.executable,
            "-I",
            "-c",
            bootstrap,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=workdir,
            env={"PATH": os.defpath, "PYTHONHASHSEED": "0"},
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(source.encode()), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return ProgramRun(None, f"the program did not finish within {timeout:g} s")
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    out = stdout.decode(errors="replace")[:MAX_OUTPUT_CHARS]
    if proc.returncode is not None and proc.returncode < 0:
        return ProgramRun(
            None, f"the program was stopped by signal {-proc.returncode} (CPU time or memory limit)"
        )
    if proc.returncode != 0:
        return ProgramRun(None, f"the program failed: {_error_line(stderr.decode(errors='replace'))}")
    line = _last_line(out)
    if line is None:
        return ProgramRun(None, "the program printed nothing: its last line must print the answer")
    printed = tuple(text.strip() for text in out.splitlines() if text.strip())
    return ProgramRun(line, None, len(printed), printed)
