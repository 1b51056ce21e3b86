"""The challenger's worked arithmetic, checked in code (autodata/rules/arithmetic.py): found, judged,
repaired."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autodata.rules.arithmetic import check_arithmetic, computes_answer, equations, repair, wrong

PASSAGE = "The arithmetic mean is the sum of the data divided by the number of data points."


def steps(text: str) -> list[tuple[str, str, bool]]:
    return [(e.expression, e.stated, e.right) for e in equations(text)]


def test_each_arithmetic_step_is_found_and_judged():
    assert steps("The new mean is (10 + 20 + 30 + 45) / 4 = 18.75.") == [
        ("(10 + 20 + 30 + 45) / 4", "18.75", False)
    ]
    assert steps("mean = (1 + 3 + 5)/3 = 3") == [("(1 + 3 + 5)/3", "3", True)]
    assert steps("(10 + 20 + 30 + 45) / 4 = 105 / 4 = 26.25") == [
        ("(10 + 20 + 30 + 45) / 4", "105 / 4", True),
        ("105 / 4", "26.25", True),
    ]
    assert steps("The values 3, 4 and 5: 3 + 4 + 5 = 12.") == [("3 + 4 + 5", "12", True)]
    assert steps("1,000 + 2,500 = 3,500 dollars") == [("1,000 + 2,500", "3,500", True)]
    assert steps("2^10 = 1024; 3 × 4 = 12; 10 ÷ 4 = 2.5; 7 × 6 = 40") == [
        ("2^10", "1024", True),
        ("3 × 4", "12", True),
        ("10 ÷ 4", "2.5", True),
        ("7 × 6", "40", False),
    ]
    assert steps("1/3 = 0.33 and 2/3 = 0.7") == [("1/3", "0.33", True), ("2/3", "0.7", True)]  # rounded


def test_equations_with_letters_or_without_an_operator_are_not_arithmetic():
    for text in (
        "Substituting gives r^2 - 5r + 6 = 0, so r = 2 or r = 3.",
        "x2 + 3 = 5",
        "n = 5 and the mean = 3",
        "the ratio a/b = 2",
        "1/0 = 5",
        "1/2 = 50% of the time",
        "so 3/4 = 75 %",
    ):
        assert equations(text) == [], text


def test_a_miscomputed_last_step_is_repaired_in_the_solution_and_the_answer():
    fixed = repair("The new mean is (10 + 20 + 30 + 45) / 4 = 18.75.", "18.75")
    assert fixed == (
        "The new mean is (10 + 20 + 30 + 45) / 4 = 26.25.",
        "26.25",
        "(10 + 20 + 30 + 45) / 4 = 26.25, not 18.75",
    )
    assert repair("So 12 * 30 = 3600 euros.", "3600 euros")[:2] == ("So 12 * 30 = 360 euros.", "360 euros")
    assert repair("So 7 / 2 = 2.", "2 days")[:2] == ("So 7 / 2 = 3.5.", "3.5 days")
    assert repair("So 2 / 3 = 0.123456789.", "0.123456789")[1] == "0.6667"  # at most 4 decimals


def test_a_wrong_step_is_carried_into_the_steps_that_use_it():
    """Measured on statistics.variance: "2 + 3 + 4 + 5 + 6 = 21" and then a mean of 4.2."""
    solution = "The sum is 2 + 3 + 4 + 5 + 6 = 21, so the mean is 21 / 5 = 4.2."
    assert repair(solution, "The mean is 4.2") == (
        "The sum is 2 + 3 + 4 + 5 + 6 = 20, so the mean is 20 / 5 = 4.",
        "The mean is 4",
        "2 + 3 + 4 + 5 + 6 = 20, not 21; 20 / 5 = 4, not 4.2",
    )
    assert repair("2 + 2 = 5, so 5 * 3 = 15.", "15")[:2] == ("2 + 2 = 4, so 4 * 3 = 12.", "12")
    # a later step that was right with the wrong figure is wrong with the right one: recomputed all the same
    assert repair("10 + 10 = 30, half of it: 30 / 2 = 15", "15")[1] == "10"


def test_what_cannot_be_repaired_safely_is_left_to_the_rejection():
    assert repair("12 * 30 = 360 euros.", "360 euros") is None  # nothing wrong
    assert repair("2 + 2 = 5, and 3 * 3 = 9.", "9") is None  # the wrong step does not reach the answer
    # measured: "(2 + ... + 20) / 10 = 12", then "(12 + 15) / 11 = 13.636363636363637", wrong on its own too
    steps = "(2 + 4 + 6 + 8 + 10 + 12 + 14 + 16 + 18 + 20) / 10 = 12; (12 + 15) / 11 = 13.636363636363637."
    assert repair(steps, "13.636363636363637") is None
    assert repair("12 * 30 = 3600.", "about 4000") is None  # the answer does not state the step
    assert repair("12 * 30 = 3600.", "3600 or 3600.0") is None  # nor once
    assert repair("(2 + 3) * 4 = 5 * 5 = 25", "25") is None  # a wrong chain step, not a figure


def test_a_wrong_step_rejects_the_item_with_the_right_value_in_the_feedback():
    result = check_arithmetic("2 + 2 = 5, so 5 * 3 = 15.")
    assert not result.passed and result.name == "solution_arithmetic"
    assert "2 + 2 = 5 (it is 4)" in result.detail
    assert check_arithmetic("No arithmetic here.").passed and check_arithmetic("").passed


@given(
    st.integers(-999, 999),
    st.integers(1, 999),
    st.sampled_from(["+", "-", "*", "/"]),
    st.floats(0.02, 10),
)
def test_a_stated_result_is_right_exactly_when_it_is_within_rounding_or_one_percent(a, b, op, error):
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
    right = f"{value:.2f}" if op == "/" else str(value)
    assert not wrong(f"So {a} {op} {b} = {right}.")
    off = value + max(abs(value), 1) * error  # at least 2% off, and at least 0.02 for small results
    assert wrong(f"So {a} {op} {b} = {off:.4f}.")


def test_the_challenger_s_case_item_gets_its_own_arithmetic_and_the_verifier_rejects_what_stays_wrong():
    from autodata.nodes.items import to_item
    from autodata.nodes.verifier import coded_checks
    from autodata.rules.schemas import CaseItemOut

    def case(solution: str, answer: str) -> CaseItemOut:
        return CaseItemOut(
            context="A class records the scores 10, 20, 30 and 45.",
            question="What is the mean score of the class?",
            solution=solution,
            answer=answer,
            question_type="mean calculation",
        )

    item = to_item(
        case("The sum divided by the number of points: (10 + 20 + 30 + 45) / 4 = 18.75.", "18.75"), PASSAGE
    )
    assert item["answer"] == "26.25" and item["solution"].endswith("= 26.25.")
    assert item["repairs"] == ["arithmetic: (10 + 20 + 30 + 45) / 4 = 26.25, not 18.75"]
    checks, failed = coded_checks(item, "verifiable", PASSAGE)
    assert failed is None and any(c["name"] == "solution_arithmetic" and c["passed"] for c in checks)

    solution = (
        "The sum is 10 + 20 + 30 + 45 = 100; divided by the number of points, 105 / 4 = 26.25."  # unused slip
    )
    kept = to_item(case(solution, "26.25"), PASSAGE)
    assert kept["answer"] == "26.25" and "repairs" not in kept
    checks, failed = coded_checks(kept, "verifiable", PASSAGE)
    assert failed == "arithmetic"
    assert "10 + 20 + 30 + 45 = 100 (it is 105)" in next(c for c in checks if not c["passed"])["detail"]


def test_the_verifier_does_not_redo_sums_code_has_checked_but_judges_the_rest():
    from autodata.nodes.verifier import decided_in_code, verifier_checks
    from autodata.rules.schemas import VerifierOut

    total = {
        "kind": "case",
        "solution": "The total is the mean times the count: 15 * 82 = 1,230.",
        "answer": "1,230 points",
    }
    assert computes_answer(total["solution"], total["answer"])
    decided = decided_in_code(total, "verifiable")
    redone = VerifierOut(
        self_contained="YES", answer_correct="NO", problem="The reference answer 1230 is incorrect"
    )
    checks = verifier_checks(redone, decided)
    assert all(c["passed"] for c in checks) and "checked" in checks[1]["detail"]
    unanswerable = VerifierOut(self_contained="NO", answer_correct="NO", problem="the count is not given")
    assert not all(
        c["passed"] for c in verifier_checks(unanswerable, decided)
    )  # self-containment stays its own
    assert decided_in_code(total, "rubric") == {}  # a rubric answer is more than its number
    for solution, answer in (
        ("The total is 15 * 82 = 1320.", "1320 points"),  # a wrong step
        ("The total is 15 * 82 = 1230, so the group passes.", "14 points"),  # not the answer
        ("Each student adds their score to the total.", "1230 points"),  # no arithmetic to check
    ):
        assert not computes_answer(solution, answer)
        assert decided_in_code({**total, "solution": solution, "answer": answer}, "verifiable") == {}
    assert computes_answer("(10 + 20 + 30) / 3 = 60 / 3 = 20", "20")  # a chain: its last value
