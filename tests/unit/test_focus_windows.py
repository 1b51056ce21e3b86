"""Focus passages: the short, rule-rich passages of a document the challenger is pointed at, one a round."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from autodata.rules.windows import focus_windows

STATUTE = """# A statute

Section 1. A tenancy continues until either party ends it by written notice. Notice given by the tenant must
be at least one full rental period long.

The history of tenancies is long and varied. Many people have rented homes over the centuries.

Section 4. A landlord must return the deposit within 14 days after the tenancy ends, less unpaid rent.
"""


def test_rule_passages_come_before_plain_prose_and_headings_are_left_out():
    windows = focus_windows(STATUTE)
    passages = [" ".join(STATUTE[s:e].split()) for s, e in windows]
    assert passages[0].startswith("Section 4. A landlord must return the deposit within 14 days")
    assert passages[-1].startswith("The history of tenancies")
    assert not any("# A statute" in p for p in passages)
    assert any(p.startswith("Section 1. A tenancy continues") for p in passages)  # the label stays on


def test_a_passage_is_at_most_two_sentences_of_one_paragraph_and_ends_a_sentence():
    for start, end in focus_windows(STATUTE):
        passage = STATUTE[start:end]
        assert "\n\n" not in passage.strip()
        assert passage.rstrip()[-1] in ".!?"


sentence = st.lists(
    st.sampled_from(["rent", "must", "the", "14", "days", "if", "notice", "is", "long"]),
    min_size=2,
    max_size=30,
).map(lambda words: " ".join(words).capitalize() + ".")
paragraph = st.lists(sentence, min_size=1, max_size=6).map(" ".join)


@given(st.lists(paragraph, min_size=1, max_size=12), st.integers(min_value=80, max_value=800))
def test_passages_do_not_overlap_and_respect_the_size(paragraphs, size):
    text = "\n\n".join(paragraphs)
    windows = focus_windows(text, size)
    assert windows
    spans = sorted(windows)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    for start, end in windows:
        passage = text[start:end]
        assert passage.strip()
        pieces = passage.split(". ")
        # over the size only when it is one sentence (a piece under 4 words is a label of the next one)
        one_sentence = all(len(p.split()) < 4 for p in pieces[:-1])
        assert end - start <= size or one_sentence


def test_a_case_item_rests_on_its_whole_passage_and_keeps_its_solution():
    from autodata.nodes.items import to_item
    from autodata.rules.schemas import CaseItemOut

    passage = (
        "Section 4. A landlord must return the deposit within 14 days after the tenancy ends, less unpaid\n"
        "rent. A landlord who returns it late must pay the tenant an amount equal to the deposit."
    )
    parsed = CaseItemOut(
        context="Ben's tenancy ended on 1 June; his landlord holds 800 euros and returns them on 20 June.",
        question="How much must the landlord pay Ben in total?",
        solution="20 June is 19 days after 1 June, more than 14, so the landlord pays the deposit twice.",
        answer="1,600 euros",
        question_type="rule application",
    )
    item = to_item(parsed, passage)
    assert item["evidence"] == [
        "Section 4. A landlord must return the deposit within 14 days after the tenancy ends, less unpaid "
        "rent.",
        "A landlord who returns it late must pay the tenant an amount equal to the deposit.",
    ]
    assert item["context"].startswith("Section 4. A landlord must return the deposit within 14 days")
    assert item["context"].endswith("returns them on 20 June.")
    assert item["solution"].startswith("20 June is 19 days")
    assert item["skills"] == []


DOCSTRING_NOTE = """Return the harmonic mean of data.

The harmonic mean is the reciprocal of the arithmetic mean of the reciprocals of the data. It can be used
for averaging ratios or rates, for example speeds.

    >>> harmonic_mean([40, 60])
    48.0

>>> data = [2.5, 3.25, 5.5]
>>> round(harmonic_mean(data, weights=[5, 30]), 1)
56.0

If data is empty, or any element is less than zero, harmonic_mean will raise StatisticsError.
"""


def test_interactive_session_examples_are_code_not_passages():
    passages = [" ".join(DOCSTRING_NOTE[s:e].split()) for s, e in focus_windows(DOCSTRING_NOTE)]
    assert passages and not any(">>>" in p or "56.0" in p for p in passages)
    assert any(p.startswith("If data is empty") for p in passages)


def test_a_case_built_on_the_worked_example_is_rejected_in_code_before_the_verifier():
    from types import SimpleNamespace

    from autodata.nodes.challenger import case_example
    from autodata.nodes.items import to_item
    from autodata.nodes.verifier import coded_checks
    from autodata.rules.cases import case_of
    from autodata.rules.schemas import CaseItemOut

    passage = "Section 4. A landlord must return the deposit within 14 days after the tenancy ends."
    ctx = SimpleNamespace(mode="verifiable", prompts_dir=None, candidates=1)
    example = case_example(ctx, 1, 0)  # what round 1's only challenger was shown
    assert "library book" in example
    copied = to_item(
        CaseItemOut(
            context="Ana borrows a book on 3 May and renews it once before it is due.",
            question="What is the latest date on which the tenant may return the book?",
            solution="The loan runs 21 days from 3 May, to 24 May; the renewal adds 14 days, so 7 June.",
            answer="7 June",
            question_type="date arithmetic",
        ),
        passage,
    )
    assert case_of(copied) == "Ana borrows a book on 3 May and renews it once before it is due."
    checks, failed = coded_checks(copied, "verifiable", passage, passage, example)
    assert failed == "grounding"
    (check,) = [c for c in checks if c["name"] == "case_not_the_example"]
    assert not check["passed"] and "borrows" in check["detail"]
    own = to_item(
        CaseItemOut(
            context="Ben's tenancy ends on 1 June and his landlord holds his deposit of 800 euros.",
            question="By what date must the landlord return Ben's deposit?",
            solution="14 days after 1 June is 15 June.",
            answer="15 June",
            question_type="date arithmetic",
        ),
        passage,
    )
    checks, failed = coded_checks(own, "verifiable", passage, passage, example)
    assert failed is None and all(c["passed"] for c in checks)
