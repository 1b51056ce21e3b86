"""The project's one mean and one number formatter (reports, feedback, tables)."""

from __future__ import annotations

import math
from collections.abc import Iterable


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
