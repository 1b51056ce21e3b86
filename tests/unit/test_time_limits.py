"""Time limits of rules ("within 14 days after the tenancy ends"): found in a passage, counted on a case date
in code (autodata/rules/time_limits.py)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from autodata.rules.dates import format_date, parse_date
from autodata.rules.time_limits import case_start, find_time_limit, limit_end

TENANCY = (
    "Section 4. A landlord who holds a deposit must return it within 14 days after the tenancy ends, less "
    "any amount for unpaid rent or for damage beyond normal wear and tear. A landlord who returns the "
    "deposit late must pay the tenant, in addition, an amount equal to the deposit."
)


def test_a_limit_in_days_after_an_event_is_found_with_its_trigger():
    limit = find_time_limit(TENANCY)
    assert limit is not None
    assert (limit.amount, limit.unit, limit.trigger) == (14, "day", "the tenancy ends")
    assert limit.sentence.startswith(
        "Section 4. A landlord who holds a deposit must return it within 14 days"
    )


def test_number_words_weeks_months_and_other_prepositions():
    cases = {
        "The buyer may cancel within thirty (30) days of receipt of the goods.": (
            30,
            "day",
            "receipt of the goods",
        ),
        "Payment is due no later than two weeks following delivery; interest runs after that.": (
            2,
            "week",
            "delivery",
        ),
        "An appeal must be filed not later than 3 months from the date of the decision.": (
            3,
            "month",
            "the date of the decision",
        ),
        "A notice must be answered within 10 calendar days after its service, unless a court allows more.": (
            10,
            "day",
            "its service",
        ),
    }
    for text, expected in cases.items():
        limit = find_time_limit(text)
        assert limit is not None, text
        assert (limit.amount, limit.unit, limit.trigger) == expected


def test_limits_whose_count_is_not_plain_calendar_arithmetic_are_left_alone():
    for text in (
        "The bank must refund within 5 business days after the complaint.",  # needs a holiday calendar
        "The licence is reinstated if the holder fails to notify you prior to 60 days after the cessation.",
        "A notice must be at least two full rental periods long.",  # no date arithmetic
        "The server keeps logs for 30 days.",  # no event it counts from
        "Within 14 days after it.",  # a trigger that names nothing
    ):
        assert find_time_limit(text) is None, text


def test_two_different_limits_counted_from_the_same_event_are_ambiguous():
    text = (
        "A claim must be made within 30 days after the delivery. A defect claim must be made within 60 days "
        "after the delivery."
    )
    assert find_time_limit(text) is None


def test_the_end_of_a_limit_counts_the_day_after_the_event_as_day_one():
    assert limit_end(date(2025, 3, 24), 14, "day") == date(2025, 4, 7)
    assert limit_end(date(2025, 1, 31), 2, "week") == date(2025, 2, 14)
    assert limit_end(date(2025, 11, 20), 3, "month") == date(2026, 2, 20)


def test_a_case_start_is_fixed_by_its_seed_and_the_limit_crosses_a_month_end():
    first = case_start("seed-a", 14, "day")
    assert first == case_start("seed-a", 14, "day")
    starts = {case_start(f"seed-{i}", 14, "day") for i in range(20)}
    assert len(starts) > 5
    for start in starts:
        assert limit_end(start, 14, "day").month != start.month


@given(st.text(min_size=1, max_size=30), st.integers(1, 90), st.sampled_from(["day", "week", "month"]))
def test_every_case_start_gives_an_end_in_another_month_and_a_valid_date(seed, amount, unit):
    start = case_start(seed, amount, unit)
    end = limit_end(start, amount, unit)
    if unit == "month":
        assert start.day <= 28
    assert end > start
    assert (end.year, end.month) != (start.year, start.month)


def test_dates_are_written_one_way_and_read_in_the_common_ways():
    day = date(2025, 4, 7)
    assert format_date(day) == "7 April 2025"
    for text in (
        "7 April 2025",
        "April 7, 2025",
        "2025-04-07",
        "7 Apr 2025",
        "april 7th 2025",
        "7th of April 2025",
    ):
        assert parse_date(text, year=2025) == [day], text
    assert parse_date("7 April", year=2025) == [day]
    assert parse_date("14 days", year=2025) == []
    assert parse_date("31 February 2025", year=2025) == []


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_a_written_date_reads_back_as_itself(day):
    assert parse_date(format_date(day), year=day.year) == [day]
    assert parse_date(f"It ends on {format_date(day + timedelta(days=1))}.", year=day.year) == [
        day + timedelta(days=1)
    ]
