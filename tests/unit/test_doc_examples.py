"""Worked examples of documented code become new calls whose results the sandbox computes
(autodata/rules/doc_examples.py)."""

from __future__ import annotations

import ast

from hypothesis import given
from hypothesis import strategies as st

from autodata.rules.doc_examples import (
    MAX_CONTEXT_WORDS,
    MAX_DATA,
    answerable,
    asked_calls,
    doc_examples,
    example_key,
    examples_for,
    fit_result,
    lead_up,
    varied_calls,
)

DOC = """# Means

Return the harmonic mean of data.

The harmonic mean is the reciprocal of the arithmetic mean of the
reciprocals of the data.

    >>> harmonic_mean([40, 60])
    48.0

If ``data`` is empty, ``harmonic_mean`` will raise ``StatisticsError``.

    >>> harmonic_mean([])
    Traceback (most recent call last):

Convert data to floats and compute the geometric mean.

>>> round(geometric_mean([54, 24, 36]), 9)
36.0
>>> data = [1, 2]
>>> x = 3
"""


def test_one_line_calls_with_a_one_line_result_are_examples():
    examples = doc_examples(DOC)
    assert [(e.call, e.result, e.names) for e in examples] == [
        ("harmonic_mean([40, 60])", "48.0", ("harmonic_mean",)),
        ("round(geometric_mean([54, 24, 36]), 9)", "36.0", ("round", "geometric_mean")),
    ]


def test_a_passage_gets_the_example_of_a_name_it_documents_at_or_after_it():
    later = DOC.index("Convert data")
    assert examples_for(DOC, (later, later + 40), ["geometric_mean"])[0].call.startswith("round(geometric")
    assert examples_for(DOC, (later, later + 40), ["harmonic_mean"])[0].call == "harmonic_mean([40, 60])"
    assert examples_for(DOC, (0, 40), ["median"]) == []


def test_an_example_a_unit_already_asked_about_is_not_asked_again_with_other_data():
    asked = asked_calls(
        ["... what value does `harmonic_mean([46, 54])` return, written as Python would show it?"]
    )
    assert asked == {"harmonic_mean([])"}
    assert (
        examples_for(DOC, (0, 40), ["harmonic_mean", "geometric_mean"], asked)[0].names[-1]
        == "geometric_mean"
    )
    assert example_key("harmonic_mean([40, 60], weights=[5, 30])") == "harmonic_mean([],weights=[])"
    assert example_key("round(geometric_mean([54, 24, 36]), 9)") != example_key(
        "geometric_mean([54, 24, 36])"
    )


def test_only_the_data_of_a_call_is_varied_and_each_version_parses():
    versions = varied_calls("round(geometric_mean([54, 24, 36]), 9)", seed="s")
    assert versions and len(set(versions)) == len(versions)
    for version in versions:
        assert version.startswith("round(geometric_mean([") and version.endswith("]), 9)")
        assert version != "round(geometric_mean([54, 24, 36]), 9)"
        ast.parse(version, mode="eval")
    assert varied_calls("harmonic_mean([40, 60])", seed="s") == varied_calls("harmonic_mean([40, 60])", "s")
    assert varied_calls("len('abc')", seed="s") == []  # no data to vary


@given(
    st.lists(st.integers(-50, 500) | st.floats(0.1, 99, allow_nan=False), min_size=1, max_size=6),
    st.text(max_size=8),
)
def test_every_varied_call_is_a_call_on_a_list_of_at_most_max_data_numbers(values, seed):
    call = f"fmean({values!r})"
    for version in varied_calls(call, seed):
        tree = ast.parse(version, mode="eval")
        assert isinstance(tree.body, ast.Call)
        assert len(tree.body.args[0].elts) == min(len(values), MAX_DATA)


def test_a_result_is_an_answer_when_it_is_short_new_and_not_a_long_decimal():
    assert fit_result("40.0", "48.0")
    assert not fit_result("48.0", "48.0")
    assert not fit_result("1.6363636363636365", "48.0")
    assert not fit_result(None, "48.0") and not fit_result("[" + "1, " * 20 + "]", "48.0")


def test_the_context_is_the_documentation_up_to_the_example_then_the_example():
    harmonic = doc_examples(DOC)[0]
    context, sentences, (start, end) = lead_up(DOC, harmonic, "For example, it returns 48.0.")
    assert context.startswith("Return the harmonic mean of data. The harmonic mean is the reciprocal")
    assert context.endswith("reciprocals of the data. For example, it returns 48.0.")
    assert sentences[0] == "Return the harmonic mean of data."
    assert DOC[start:end].startswith("Return the harmonic") and DOC[start:end].endswith("48.0")
    geometric = doc_examples(DOC)[1]
    assert lead_up(DOC, geometric, "")[0].startswith("Convert data to floats and compute the geometric mean.")


def test_a_long_lead_up_keeps_its_last_sentences():
    prose = " ".join(f"Sentence {i} says a little more about the data." for i in range(40))
    document = f"{prose}\n\n>>> fmean([1, 2])\n1.5\n"
    _, sentences, _ = lead_up(document, doc_examples(document)[0], "")
    assert sentences[-1] == "Sentence 39 says a little more about the data."
    assert 0 < sum(len(s.split()) for s in sentences) <= MAX_CONTEXT_WORDS


def test_data_assigned_before_a_call_is_written_into_it():
    document = (
        "Return the sample variance of data.\n\n"
        ">>> data = [2.75, 1.75, 1.25]\n>>> variance(data)\n0.5833333333333334\n"
        ">>> data = list(range(3))\n>>> median(data)\n1\n"
        ">>> pvariance([1, 2], mu=1.5)  # doctest: +ELLIPSIS\n0.25\n"
    )
    calls = [e.call for e in doc_examples(document)]
    assert calls == ["variance([2.75, 1.75, 1.25])", "median(data)", "pvariance([1, 2], mu=1.5)"]
    assert varied_calls(calls[0], seed="s") and varied_calls(calls[1], seed="s") == []


def test_the_shortest_fit_value_is_asked_first_and_a_short_run_gives_nothing():
    calls = ["f([1])", "f([2])", "f([3])", "f([4])"]
    printed = ("0.725", "!", "0.72", "48.0")
    assert answerable(calls, printed, original="48.0") == [("f([3])", "0.72"), ("f([1])", "0.725")]
    assert answerable(calls, printed[:3], original="48.0") == []


async def test_an_example_the_sandbox_refuses_or_cannot_run_gives_no_item():
    from autodata.nodes.items import doc_example_item

    for call in ("os.system([1, 2])", "unknown_helper([1, 2])"):
        document = f"Runs the helper on a list of numbers and returns what it gives.\n\n>>> {call}\n0\n"
        example = doc_examples(document)[0]
        assert await doc_example_item(document, example, seed="s", mode="verifiable") is None
