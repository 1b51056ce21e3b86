"""Grounding rules decided in code: evidence in the source, context carries it, no references to the source,
no binary / option-letter / bare-integer answers, no foreign-domain type labels."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autodata.rules.cases import check_case_uses_passage, check_not_the_example
from autodata.rules.evidence import check_context_carries_evidence, check_evidence, evidence_match
from autodata.rules.grounding import (
    check_answer_kind,
    check_grounding,
    check_no_source_reference,
    check_script,
    check_specific_question,
    check_type_label,
)

SOURCE = (
    "Section 2. Notice given by the landlord must be at least two full rental periods long, except where "
    "the tenant has not paid rent for two consecutive periods.\n\nSection 3. A deposit must be returned "
    "within fourteen days after the tenancy ends, less any amount needed to repair damage beyond normal wear."
)
EVIDENCE = "Notice given by the landlord must be at least two full rental periods long."


def test_verbatim_evidence_matches_whatever_the_whitespace_and_case():
    assert evidence_match(EVIDENCE, SOURCE) == 1.0
    assert (
        evidence_match("NOTICE given by   the landlord\nmust be at least two full rental periods", SOURCE)
        == 1.0
    )
    assert check_evidence([EVIDENCE], SOURCE).passed


def test_evidence_with_small_drift_passes_invented_evidence_fails():
    drifted = "A landlord's notice must be at least two full rental periods long, except where the tenant"
    assert check_evidence([drifted], SOURCE).passed
    invented = "The landlord may end the tenancy at any time by giving one week of oral notice to the tenant."
    result = check_evidence([invented], SOURCE)
    assert not result.passed and "not in the source" in result.detail


def test_missing_or_too_short_evidence_fails():
    assert not check_evidence([], SOURCE).passed
    assert not check_evidence(["   "], SOURCE).passed
    assert not check_evidence(["two full periods"], SOURCE).passed


def test_a_sentence_split_at_a_line_break_counts_as_evidence():
    pieces = [
        "Notice given by the landlord must be at least two full",
        "rental periods long,",
        "except where",
    ]
    assert check_evidence(pieces, SOURCE).passed


def test_open_requests_and_language_drift_are_rejected():
    assert not check_specific_question(
        "Can you provide an example of a scenario where batching helps?"
    ).passed
    assert not check_specific_question("Describe how the deposit is returned.").passed
    assert not check_specific_question("Give some reasons why notice fails.").passed
    assert check_specific_question("On which day is the book due back?").passed
    drift = {"context": "A context.", "question": "Q?", "answer": "It helps.在这种情况下，每个长的提示"}
    assert not check_script(drift, SOURCE).passed
    assert check_script({"context": "x", "question": "y", "answer": "z"}, SOURCE).passed


def test_every_span_must_be_found():
    assert not check_evidence(
        [EVIDENCE, "Rent is due on the first Monday of every month by law."], SOURCE
    ).passed


@given(st.integers(min_value=0, max_value=len(SOURCE.split()) - 8), st.integers(min_value=6, max_value=20))
def test_any_verbatim_slice_of_the_source_is_evidence(start, length):
    span = " ".join(SOURCE.split()[start : start + length])
    if len(span.split()) >= 6:
        assert check_evidence([span], SOURCE).passed


def test_context_must_carry_the_evidence():
    describing = "The source document explains some rules about notices that landlords give to tenants."
    assert not check_context_carries_evidence([EVIDENCE], describing, "How long is the notice?").passed
    carrying = (
        "A landlord who ends a periodic tenancy must give notice of at least two full rental periods. "
        "Rent is paid monthly."
    )
    assert check_context_carries_evidence([EVIDENCE], carrying, "What is the earliest end date?").passed


def test_references_to_the_source_are_rejected():
    for text in (
        "According to the document, what must the landlord do?",
        "What does the passage imply about deposits?",
        "Based on the text, when is notice valid?",
        "What does the author suggest about wear?",
        "As mentioned above, what happens to the deposit?",
        "What does this paper propose for batching?",
        "What can we infer from the source?",
    ):
        assert not check_no_source_reference("A plain context with facts.", text).passed, text
    assert not check_no_source_reference("The source document provides details on notice.", "Q?").passed


def test_ordinary_uses_of_document_words_pass():
    for text in (
        "The tenant signs a lease document and pays a deposit of 900 euros.",
        "Under this Section, notice must end on the last day of a period.",
        "An author registers a copyright for a text of 200 pages.",
    ):
        assert check_no_source_reference(text, "When must the deposit be returned?").passed, text


def test_binary_option_and_bare_integer_answers():
    assert not check_answer_kind(
        "Yes, because the notice is long enough.", "Is notice valid?", "rubric"
    ).passed
    assert not check_answer_kind("False.", "True or false: ...", "rubric").passed
    assert not check_answer_kind("(B)", "Pick one.", "verifiable").passed
    assert not check_answer_kind("Two months", "Which of the following is right?", "rubric").passed
    assert not check_answer_kind("5", "What is the median?", "verifiable").passed  # one guess in ten
    assert not check_answer_kind("-3.", "What is the root?", "verifiable").passed
    assert check_answer_kind("94", "What is a(5)?", "verifiable").passed  # not guessable
    assert check_answer_kind("1,200.", "What is the sum?", "verifiable").passed
    assert check_answer_kind("5", "What is the median?", "rubric").passed  # only verifiable forbids it
    assert check_answer_kind("2^(n+1) - 1", "What is a(n)?", "verifiable").passed
    assert check_answer_kind("45 days", "How long?", "verifiable").passed
    assert check_answer_kind("Notably, the deposit is kept.", "What happens?", "rubric").passed


def test_type_label_naming_another_domain_is_rejected():
    math = "The characteristic equation r^2 - 5r + 6 = 0 has roots 2 and 3, so every solution of the sequence"
    result = check_type_label("statutory application", math)
    assert not result.passed and "law" in result.detail
    assert check_type_label("statutory application", SOURCE).passed
    assert check_type_label("counterfactual reasoning", math).passed  # names no domain
    assert check_type_label("algebraic derivation", math).passed
    assert check_type_label("deposit arithmetic", SOURCE).passed  # a skill, not a foreign domain
    assert not check_type_label("algebraic derivation", SOURCE).passed


def test_check_grounding_runs_every_rule():
    item = {
        "evidence": [EVIDENCE],
        "question_type": "statutory application",
        "context": "A landlord must give notice of at least two full rental periods to end a tenancy.",
        "question": "If rent is paid monthly and notice is given on 10 March, what is the earliest end date?",
        "answer": "The tenancy can end on 31 May at the earliest.",
    }
    results = check_grounding(item, SOURCE, "rubric")
    assert [r.name for r in results] == [
        "evidence_in_source",
        "context_carries_evidence",
        "no_source_reference",
        "answer_not_binary",
        "question_has_one_answer",
        "type_matches_source",
        "same_script_as_source",
    ]
    assert all(r.passed for r in results)


def test_the_context_opens_with_the_source_sentences_the_evidence_quotes():
    from autodata.rules.evidence import grounded_context, quoted_sentences

    cut = "Notice given by the landlord must be at least two full rental periods long, exc"  # cut at a limit
    assert quoted_sentences([cut], SOURCE) == [
        "Notice given by the landlord must be at least two full rental periods long, except where the tenant "
        "has not paid rent for two consecutive periods."
    ]
    case = "Rent is paid monthly. The landlord gives notice on 10 March."
    context = grounded_context([cut], case, SOURCE)
    assert context.startswith("Notice given by the landlord") and context.endswith(case)
    assert check_context_carries_evidence([cut], context, "q").passed
    # a context that already carries the quoted sentence is left as it is
    carrying = (
        "Notice by the landlord must be at least two full rental periods long, except where the tenant has "
        "not paid rent for two consecutive periods. " + case
    )
    assert grounded_context([EVIDENCE], carrying, SOURCE) == carrying


STATISTICS_WINDOW = (
    "The optional argument xbar, if given, should be the mean of the data. Use it for variance."
)
STATISTICS_DOCUMENT = (
    "Return the sample variance of data, an iterable of at least two real-valued numbers. Variance, or "
    "second moment about the mean, is a measure of the spread of data. " + STATISTICS_WINDOW
)


def test_statistics_is_mathematics_and_the_label_is_judged_on_the_whole_document():
    assert check_type_label("geometric mean calculation", STATISTICS_DOCUMENT).passed
    assert not check_type_label("statutory application", STATISTICS_DOCUMENT).passed
    licence = '"Work" means the work; "Source" means its code.'
    assert not check_type_label("algebraic derivation", licence).passed  # "means" is no mean
    window = "The optional argument xbar, if given, should be the mean of the data."
    assert not check_type_label("mathematical requirement", window).passed  # the window alone
    assert check_type_label("mathematical requirement", window, document=STATISTICS_DOCUMENT).passed
    item = {"question_type": "mathematical requirement", "context": window, "question": "What must xbar be?"}
    failed = [
        r.name for r in check_grounding(item, window, "rubric", document=STATISTICS_DOCUMENT) if not r.passed
    ]
    assert "type_matches_source" not in failed


def test_a_term_of_the_passage_itself_is_no_reference_to_the_source():
    passage = 'Redistribution of the Work in Source or Object form must keep "the Source" notices intact.'
    case = f"{passage} Ana ships the compiled library to a customer."
    assert check_no_source_reference(case, "What must Ana keep?", passage).passed
    assert not check_no_source_reference(
        case + " The passage says so.", "What must Ana keep?", passage
    ).passed
    assert not check_no_source_reference(case, "What must Ana keep?").passed  # no passage given: as before


PUMP_EXAMPLE = (
    'PASSAGE: "The pump delivers 12 litres per minute; with the booster valve open it delivers a third '
    'more."\n{"context": "An empty 480-litre tank is filled by the pump with the booster valve open the '
    'whole time.", '
    '"question": "How many minutes does filling the tank take?", "answer": "30 minutes"}'
)
LICENCE = (
    "7. Nothing in this License Agreement shall create any relationship of agency between PSF and Licensee."
)


def test_a_case_that_borrows_the_worked_example_s_topic_is_rejected():
    copied = check_not_the_example(
        "A 500-litre tank is filled by the pump with the booster valve open for 2 hours.",
        "What is the pressure difference between the pump and the tank?",
        PUMP_EXAMPLE,
        LICENCE,
    )
    assert not copied.passed and "booster" in copied.detail and "pump" in copied.detail
    own = check_not_the_example(
        "Ana's company licenses Python and then sells a product built on it for 30 minutes of support.",
        "Does the licence make Ana an agent of PSF?",
        PUMP_EXAMPLE,
        LICENCE,
    )
    assert own.passed  # one shared word ("minutes") is chance, not a copy
    pump_passage = "The pump of the cooling loop delivers 8 litres per minute through the open booster valve."
    assert check_not_the_example(
        "A tank of 400 litres is filled by the pump with the booster valve open.",
        "How long?",
        PUMP_EXAMPLE,
        pump_passage,
    ).passed  # the passage's own words are not borrowed


def test_only_the_example_s_own_case_and_question_count_as_copied():
    library = (
        'PASSAGE: "A new book is lent for 7 days; one renewal is allowed when nobody reserves it."\n'
        '{"context": "Maya borrows a new book on 3 May.", "question": "On which day is the book due back?", '
        '"solution": "The first 7 days give 10 May; the renewal gives another period of 7 days.", '
        '"answer": "17 May"}'
    )
    statute_case = (
        "If a monthly tenant gives written notice on 10 March, on which day does the first period end?"
    )
    assert check_not_the_example(statute_case, "When does it end?", library, "Notice ends a tenancy.").passed
    copied = check_not_the_example(
        "Maya borrows a new book on 3 May.", "When is it due back?", library, "Rent."
    )
    assert not copied.passed and "borrows" in copied.detail


CORRELATION = (
    "Pearson's correlation coefficient r takes values between -1 and +1. It measures the strength and "
    "direction of a linear relationship."
)
MEAN = "The arithmetic mean is the sum of the data divided by the number of data points."


def test_a_case_solved_with_its_own_facts_alone_is_not_about_the_passage():
    off_topic = check_case_uses_passage(
        "The total score is 15 * 82 = 1230.",
        "A study group consists of 15 students whose average score is 82 points.",
        "What is the total score of the group?",
        CORRELATION,
    )
    assert not off_topic.passed and "passage's words" in off_topic.detail
    licence = (
        "Each Contributor hereby grants to You a perpetual, worldwide, non-exclusive, no-charge, "
        "royalty-free, irrevocable patent license to make, have made, use, offer to sell, sell, import."
    )
    assert not check_case_uses_passage(
        "The patent is valid for 10 years and licensed for 5, so 10 - 5 = 5 years remain.",
        "A patent has a term of 10 years, and the company plans to license it for 5 years.",
        "How many years will the patent be valid after the licensing period?",
        licence,
    ).passed  # "licensed" is the case's "license", not a word the solution takes from the passage


def test_a_solution_that_names_the_passage_s_rule_or_figure_uses_it():
    case, question = "A class records the scores 10, 20, 30 and 45.", "What is the mean score of the class?"
    assert check_case_uses_passage(
        "The mean is the sum of the data divided by the number of points: (10 + 20 + 30 + 45) / 4 = 26.25",
        case,
        question,
        MEAN,
    ).passed
    assert not check_case_uses_passage("(10 + 20 + 30 + 45) / 4 = 26.25.", case, question, MEAN).passed
    library = "A library book may be borrowed for 21 days and renewed once for another 14 days."
    assert check_case_uses_passage(
        "The loan runs 21 days from 3 May, to 24 May; the renewal adds 14 days, so 7 June.",
        "Ana borrows a book on 3 May and renews it once before it is due.",
        "What is the latest date on which Ana may return the book?",
        library,
    ).passed  # one figure of the passage the case does not give is enough
    assert not check_case_uses_passage(
        "It takes 2 + 1 = 3 days.", "Ana borrows a book.", "How long?", "The book is lent for 2 weeks."
    ).passed  # a single digit is in every text


def test_every_worked_case_example_uses_its_passage_as_the_check_asks():
    import json

    from autodata.prompts.loader import load_examples

    for name in ("example_case_verifiable", "example_case_rubric"):
        for example in load_examples(name):
            passage = example.split('"', 2)[1]
            shown = json.loads(example[example.find("{") :])
            result = check_case_uses_passage(shown["solution"], shown["context"], shown["question"], passage)
            assert result.passed, (name, shown["question"])
