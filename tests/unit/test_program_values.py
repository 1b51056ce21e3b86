"""An answer program computes with the values its item's context gives (autodata/rules/program_values.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autodata.rules.program_values import context_numbers, prints_fixed_text, values_not_given


def test_invented_values_are_named():
    program = 'scores = [85, 90, 78]\nh = len(scores) / sum(1 / x for x in scores)\nprint(f"{h:.2f}")'
    context = "The students are taking a test on statistics. They need the harmonic mean of their scores."
    assert values_not_given(program, context) == ["85", "90", "78"]


def test_values_the_case_states_in_digits_words_or_percent_are_given():
    context = (
        "Omar pays a 1,200 euro deposit on 3 May 2025; three weeks later 15% of it is kept, twice a year."
    )
    program = (
        "from datetime import date\nstart = date(2025, 5, 3)\nkept = 1200 * 0.15\nweeks = 3\nn = 2\n"
        "print(round(kept / 7, 2))"
    )
    assert values_not_given(program, context) == []


def test_a_factor_for_a_stated_percentage_more_or_less_is_given():
    context = "The speed rises by 25% and the price falls by 20%."
    assert values_not_given("speed = 100 * 1.25\nprice = 50 * 0.8\nprint(speed)", context) == ["50"]


def test_a_dates_month_and_round_precision_are_not_values_but_its_year_and_day_are():
    program = (
        "from datetime import timedelta, date\nd = date(2025, 11, 28) + timedelta(days=21)\n"
        "print(round(1.23456, 3))"
    )
    assert values_not_given(program, "A loan from 28 November 2025 for 21 days.") == ["1.23456"]
    invented = "from datetime import date\nstart = date(2023, 6, 30)\nprint(start)"
    assert values_not_given(invented, "The agreement is valid until June 30, 2025.") == ["2023"]


def test_a_program_that_prints_one_of_its_own_texts_computed_nothing():
    fixed = 'from datetime import date\nif date(2025, 7, 1) > date(2023, 6, 30):\n    print("It is valid")'
    assert prints_fixed_text(fixed, "It is valid")
    assert not prints_fixed_text('days = 9\nprint(f"{days} days")', "9 days")


def test_a_program_that_does_not_parse_names_nothing():
    assert values_not_given("print(1 +", "") == []


@given(st.integers(min_value=5000, max_value=10**9))
def test_a_large_number_is_given_exactly_when_the_context_states_it(n):
    program = f"x = {n}\nprint(x)"
    assert values_not_given(program, f"The account holds {n:,} coins.") == []
    assert values_not_given(program, f"The account holds {n + 1} coins.") == [str(n)]
    assert float(n) in context_numbers(f"{n:,}")
