"""The project's one mean and one number formatter (reports, feedback, tables)."""

from __future__ import annotations

import math
from collections.abc import Iterable

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
_TENS = "thirty forty fifty sixty seventy eighty ninety"
CARDINALS: dict[str, int] = {word: value for value, word in enumerate(_UNITS.split())} | {
    word: 10 * tens for tens, word in enumerate(_TENS.split(), 3)
}
"""Numbers written as words, zero to twenty and the tens (answers and cases write them both ways)."""


def mean(values: Iterable[float | None], places: int | None = None) -> float | None:
    """The mean of the values that are not None (rounded to ``places`` when given); None when there are
    none."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    value = math.fsum(present) / len(present)
    return round(value, places) if places is not None else value


def number(value: float | None, fmt: str = "{:.2f}", missing: str = "n/a") -> str:
    """``value`` in ``fmt``; ``missing`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return fmt.format(value)
