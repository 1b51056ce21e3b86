"""Calendar dates in answers: written one way by code, read in the common ways a solver writes them. Pure."""

from __future__ import annotations

import calendar
import re
from datetime import date

MONTHS = tuple(calendar.month_name)[1:]
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_NO_YEAR = 1
"""The year a date written without one is read in where only dates with a year count."""
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_DATES = (
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY}{_YEAR}\b", re.IGNORECASE),
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"),
)


def format_date(day: date) -> str:
    """``7 April 2025``: the one way answers and cases write a date (no locale)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _month_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    return next(i for i, name in enumerate(MONTHS, 1) if name.lower().startswith(text.lower()[:3]))


def _stated(text: str, year: int) -> list[tuple[int, int, date]]:
    """``(start, end, date)`` of each date ``text`` states, in order, overlapping readings dropped."""
    found: list[tuple[int, int, date]] = []
    for pattern in _DATES:
        for match in pattern.finditer(text):
            try:
                month = _month_number(match.group("month"))
                day = date(int(match.group("year") or year), month, int(match.group("day")))
            except ValueError:
                continue
            found.append((match.start(), match.end(), day))
    kept: list[tuple[int, int, date]] = []
    for start, end, day in sorted(found):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, day))
    return kept


def parse_date(text: str, year: int) -> list[date]:
    """The calendar dates ``text`` states, in order ("7 April 2025", "April 7th, 2025", "2025-04-07"; a
    date without a year is in ``year``); impossible ones ("31 February") are not dates."""
    return [day for _, _, day in _stated(text, year)]


def date_alone(text: str) -> date | None:
    """The date ``text`` is, when it is one date and nothing else ("7 April 2025", "7 April 2025.")."""
    stated = _stated(text, year=_NO_YEAR)
    if len(stated) != 1 or stated[0][2].year == _NO_YEAR:
        return None
    start, end, day = stated[0]
    rest = text[:start] + text[end:]
    return None if re.search(r"\w", rest) else day


_NUMERIC_DATE = re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b")
"""07/04/2025: day or month first depends on the writer, so code does not read it."""


def date_verdict(reference: str, candidate: str) -> bool | None:
    """Whether ``candidate`` names the day ``reference`` is, when ``reference`` is a date alone: the last date
    it states decides (a worked answer restates the start first); no date at all is a wrong answer to a
    question that asks for one. None when ``reference`` is not a date alone, or ``candidate`` writes a date
    in a numeric order code cannot tell."""
    wanted = date_alone(reference)
    if wanted is None:
        return None
    stated = parse_date(candidate, year=wanted.year)
    if not stated:
        return None if _NUMERIC_DATE.search(candidate) else False
    return stated[-1] == wanted
