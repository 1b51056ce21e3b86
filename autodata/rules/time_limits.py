"""Time limits of rules: a passage that sets one ("must return it within 14 days after the tenancy ends")
becomes a case whose answer code counts, the last day of the limit for an event on a given date. Pure, no I/O.

The embedded 1.5B challenger, asked for a case on such a rule, wrote the case ("The tenancy ends on 5 May")
and then asked "How long must the landlord return the deposit within?", which the 135M answered too; its
cases on rules are wrong more often than right (docs/RESULTS.md). Date arithmetic is code's: a limit counts
the day after its event as day one (so 14 days after 24 March ends on 7 April), and limits whose count needs
more than a calendar (business days, "prior to 60 days after") are left to a model.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta

from autodata.core.numbers import CARDINALS
from autodata.rules.windows import passage_sentences

_WORD_NUMBER = "|".join(sorted(CARDINALS, key=len, reverse=True))
_LIMIT = re.compile(
    r"\b(?:within|no\s+later\s+than|not\s+later\s+than|not\s+more\s+than|no\s+more\s+than)\s+"
    r"(?:a\s+period\s+of\s+)?"
    rf"(?P<amount>\d{{1,3}}|(?:{_WORD_NUMBER})(?:-(?:{_WORD_NUMBER}))?)(?:\s*\(\d{{1,3}}\))?\s+"
    r"(?:(?P<kind>calendar|business|working|banking|clear)\s+)?"
    r"(?P<unit>days?|weeks?|months?)\s+(?:after|of|from|following)\s+"
    r"(?P<trigger>[^,;:.()\[\]]+)",
    re.IGNORECASE,
)
_TRIGGER_END = re.compile(
    r"\s+(?:unless|less|provided|except|if|or|and|but|in\s+which|whichever|when|where|which|to|by)\b.*$",
    re.IGNORECASE | re.DOTALL,
)
_EMPTY_WORDS = frozenset(
    {"a", "an", "the", "it", "its", "this", "that", "these", "those", "them", "such", "his", "her", "their"}
    | {"your", "our", "any"}
)
_CALENDAR_DAYS = frozenset({"", "calendar"})
"""Kinds of day a calendar counts; business, working, banking and clear days need more than one."""


@dataclass(frozen=True)
class TimeLimit:
    """A limit of ``amount`` ``unit``s counted from ``trigger`` (the event, in the passage's words), set in
    ``sentence`` (whitespace-normalised)."""

    sentence: str
    amount: int
    unit: str
    trigger: str


def _amount(text: str) -> int:
    if text.isdigit():
        return int(text)
    return sum(CARDINALS[part] for part in text.lower().split("-"))


def _trigger(text: str) -> str | None:
    """The event a limit counts from, cut before the clause that follows it; None when it names nothing
    ("after it")."""
    phrase = " ".join(_TRIGGER_END.sub("", text).split())
    words = [w for w in re.findall(r"[A-Za-z]+", phrase.lower()) if w not in _EMPTY_WORDS]
    return phrase if any(len(w) >= 3 for w in words) else None


def time_limits(passage: str) -> list[TimeLimit]:
    """Every calendar time limit the sentences of ``passage`` set, in order."""
    found: list[TimeLimit] = []
    for sentence in passage_sentences(passage):
        for match in _LIMIT.finditer(sentence):
            if (match.group("kind") or "").lower() not in _CALENDAR_DAYS:
                continue
            trigger = _trigger(match.group("trigger"))
            if trigger is None:
                continue
            unit = match.group("unit").lower().rstrip("s")
            found.append(TimeLimit(sentence, _amount(match.group("amount")), unit, trigger))
    return found


def find_time_limit(passage: str) -> TimeLimit | None:
    """The first time limit ``passage`` sets, or None: also when two different limits count from the same
    event, as a question naming the event could then mean either."""
    limits = time_limits(passage)
    if not limits:
        return None
    first = limits[0]
    same_event = {(lim.amount, lim.unit) for lim in limits if lim.trigger.lower() == first.trigger.lower()}
    return first if len(same_event) == 1 else None


def _days(amount: int, unit: str) -> int:
    """How many days a limit of ``amount`` days or weeks runs."""
    return amount * (7 if unit == "week" else 1)


def limit_end(start: date, amount: int, unit: str) -> date:
    """The last day of a limit of ``amount`` ``unit``s from an event on ``start`` (the next day is day one; a
    month limit ends on the same day of the month, ``start`` being a day every month has)."""
    if unit == "month":
        month = start.month - 1 + amount
        return date(start.year + month // 12, month % 12 + 1, start.day)
    return start + timedelta(days=_days(amount, unit))


def case_start(seed: str, amount: int, unit: str) -> date:
    """The date of the event in a case, fixed by ``seed``: a year from 2024 to 2026 and a day late enough in
    its month that the limit ends in another month (counting across a month's end is the arithmetic a
    solver must do; a month limit starts on a day every month has)."""
    value = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")
    year, month = 2024 + value % 3, (value // 3) % 12 + 1
    month_days = calendar.monthrange(year, month)[1]
    if unit == "month":
        first, last = 1, 28
    else:
        first, last = max(1, month_days - _days(amount, unit) + 1), month_days
    return date(year, month, first + (value // 36) % (last - first + 1))
