"""A cProfile run of the pipeline, summed up: own time per package (where the milliseconds go) and the top
functions by own time, per LLM call of the run."""

from __future__ import annotations

import cProfile
import pstats
import re
from collections import Counter

_SITE = re.compile(r"site-packages/([^/]+)")


def _package(filename: str, function: str) -> str:
    """``langgraph``, ``openai``, ``autodata``, ``stdlib:asyncio``... or the built-in's name."""
    found = _SITE.search(filename)
    if found:
        return found.group(1).removesuffix(".py")
    if filename == "~":  # a built-in: named by what it is ("<method 'copy' of 'dict' objects>")
        return "builtin " + function.strip("<>").split(" of ")[0].removeprefix("built-in ")
    if "/lib/python3" in filename:
        rest = filename.split("/lib/python3", 1)[1].split("/", 2)
        return "stdlib:" + (rest[1].removesuffix(".py") if len(rest) > 1 else filename)
    return "autodata"


def print_profile(profiler: cProfile.Profile, top: int, calls: int) -> None:
    stats = pstats.Stats(profiler)
    per_call = 1000 / max(calls, 1)
    by_package: Counter[str] = Counter()
    functions: list[tuple[float, int, str]] = []
    for (filename, line, function), (_, count, own, _cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(filename, function)] += own
        short = filename if filename == "~" else "/".join(filename.split("/")[-2:])
        functions.append((own, count, f"{short}:{line}({function})"))
    total = sum(by_package.values()) or 1.0
    print(f"CPU time under the profiler by package ({total:.1f} s, {total * per_call:.2f} ms per call)")
    print(f"{'ms/call':>8} {'share':>6}  package")
    for name, own in by_package.most_common(top):
        print(f"{own * per_call:>8.3f} {own / total:>6.1%}  {name}")
    print(f"top {top} functions by own time")
    print(f"{'ms/call':>8} {'calls/call':>10}  function")
    for own, count, name in sorted(functions, reverse=True)[:top]:
        print(f"{own * per_call:>8.3f} {count / max(calls, 1):>10.1f}  {name}")
