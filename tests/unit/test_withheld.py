"""Withheld-result items: the passage's own result is the reference answer and is cut out of the context."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from autodata.nodes.items import to_item
from autodata.rules.grounding import check_grounding
from autodata.rules.leakage import check_leakage
from autodata.rules.schemas import WithheldItemOut
from autodata.rules.withheld import chosen_result, copied_from, result_spans, withhold, works_something_out

RECURRENCE = (
    "A sequence satisfies a linear recurrence when each term is a fixed combination of the previous terms.\n"
    "Substituting a(n) = r^n gives the characteristic equation r^2 - 5r + 6 = 0, with roots 2 and 3, so\n"
    "every solution has the form a(n) = A 2^n + B 3^n, where A and B are fixed by the initial values."
)


def test_the_result_is_cut_at_the_clause_that_states_it():
    assert withhold(RECURRENCE, "2 and 3").endswith("gives the characteristic equation r^2 - 5r + 6 = 0.")
    form = withhold(RECURRENCE, "a(n) = A 2^n + B 3^n")
    assert form.endswith("r^2 - 5r + 6 = 0, with roots 2 and 3, so every solution has the form.")
    assert "3^n" not in form
    assert form.startswith("A sequence satisfies a linear recurrence")  # the sentences before stay


def test_a_later_sentence_that_repeats_the_result_goes_too():
    text = "Water expands when it freezes, so ice floats. Because ice floats, lakes freeze from the top down."
    assert withhold(text, "ice floats") == "Water expands when it freezes."


def test_a_later_sentence_that_gives_the_equation_again_in_another_form_goes_too():
    text = (
        "Multiplying by x^n and summing gives G(x) - 1 = 2x G(x) + x/(1 - x), so G(x) = 1/((1 - x)(1 - 2x)). "
        "Partial fractions give G(x) = 2/(1 - 2x) - 1/(1 - x), and therefore a(n) = 2^(n+1) - 1."
    )
    assert withhold(text, "G(x) = 1/((1 - x)(1 - 2x))") == (
        "Multiplying by x^n and summing gives G(x) - 1 = 2x G(x) + x/(1 - x)."
    )


def test_a_result_that_is_not_in_the_passage_is_refused():
    assert withhold(RECURRENCE, "roots 4 and 5") is None
    assert not copied_from("roots 4 and 5", RECURRENCE)
    assert copied_from("ROOTS 2  and 3.", RECURRENCE)  # case, spacing and a final stop do not matter


def test_only_a_passage_that_works_something_out_gets_a_withheld_item():
    assert works_something_out(RECURRENCE)
    rule = (
        "Notice given by the tenant must be at least one full rental period long and must end on the last "
        "day of a rental period, and notice given by the landlord must be two full periods long."
    )
    assert not works_something_out(rule)  # a rule: a case item fits it
    pro_form = (
        "Nothing in a tenancy agreement may shorten the notice periods of Sections 1 and 3 to the "
        "detriment of the tenant; a term that does so has no effect."
    )
    assert not works_something_out(pro_form)  # "does so" concludes nothing
    assert not works_something_out("a(n) = 2 a(n-1) + 1, so a(1) = 3.")  # too short to keep a context


def test_code_finds_what_a_passage_works_out_and_asks_for_one_with_a_premise_left():
    assert result_spans(RECURRENCE) == ["r^2 - 5r + 6 = 0", "roots 2 and 3", "a(n) = A 2^n + B 3^n"]
    assert chosen_result(RECURRENCE) == "roots 2 and 3"  # its equation stays in the context
    assert result_spans("Copies may be made in any medium, with or without modifications, by anyone.") == []
    because = "The gain was smallest when all requests had the same length, because then sequences finish."
    assert result_spans(because) == ["sequences finish"]  # the reason, without its "then"


def test_with_after_a_plain_noun_states_a_requirement_not_a_result():
    requirement = (
        "Return the sample variance of data, an iterable of real-valued numbers, with at least two values."
    )
    assert result_spans(requirement) == []
    assert not works_something_out(requirement + " It measures how far the data spread from their mean.")
    derived = "The characteristic equation of a(n) = 4 a(n-1) - 4 a(n-2) is r^2 - 4r + 4 = 0, with root 2."
    assert result_spans(derived)[-1] == "root 2"


def test_a_withheld_item_answers_with_the_source_and_does_not_leak():
    parsed = WithheldItemOut(
        question="What are the roots of this characteristic equation?", question_type="derivation"
    )
    item = to_item(parsed, RECURRENCE, "2 and 3")
    assert item["kind"] == "withheld" and item["answer"] == "2 and 3"
    assert "roots" not in item["context"] and item["context"].endswith("r^2 - 5r + 6 = 0.")
    assert not check_leakage(item["answer"], item["context"], item["question"]).leaked
    assert all(r.passed for r in check_grounding(item, RECURRENCE, "verifiable"))


def test_an_invented_result_is_a_grounding_rejection():
    parsed = WithheldItemOut(question="What are the roots of the equation?", question_type="x")
    item = to_item(parsed, RECURRENCE, "7 and 9")
    failed = [r.name for r in check_grounding(item, RECURRENCE, "verifiable") if not r.passed]
    assert "result_copied_from_passage" in failed


words = st.lists(
    st.sampled_from(["rent", "days", "notice", "2", "the", "tenant", "x", "7"]), min_size=3, max_size=12
)


@given(words, words, words)
def test_the_withheld_context_never_contains_the_result(before, middle, result):
    result_text = " ".join(result)
    text = f"{' '.join(before).capitalize()}. {' '.join(middle).capitalize()}, so {result_text}."
    assume(text.lower().count(result_text.lower()) == 1)  # stated once, at the end
    context = withhold(text, result_text)
    assert context is not None and result_text.lower() not in context.lower()
    assert context.startswith(" ".join(before).capitalize())


def test_the_verifier_cannot_overrule_a_result_code_found_in_the_source():
    from autodata.nodes.verifier import decided_in_code, verifier_checks
    from autodata.rules.schemas import VerifierOut

    withheld = decided_in_code({"kind": "withheld"}, "rubric")
    case = decided_in_code({"kind": "case", "solution": "It is the rule.", "answer": "9 days"}, "verifiable")
    out = VerifierOut(self_contained="YES", answer_correct="NO", problem="not derived")
    assert all(c["passed"] for c in verifier_checks(out, withheld))
    assert not all(c["passed"] for c in verifier_checks(out, case))  # an invented case's answer: it can
    unanswerable = VerifierOut(self_contained="NO", answer_correct="YES", problem="needs the definition of G")
    assert not all(c["passed"] for c in verifier_checks(unanswerable, withheld))


def test_a_withheld_rubric_item_is_graded_on_one_criterion_code_writes_from_the_result():
    from autodata.rules.format_rules import check_format

    parsed = WithheldItemOut(question="What are the roots of the characteristic equation?", question_type="x")
    item = to_item(parsed, RECURRENCE, "roots 2 and 3", mode="rubric")
    assert [c["points"] for c in item["rubric"]] == [3]
    assert "roots 2 and 3" in item["rubric"][0]["description"]
    assert all(r.passed for r in check_format(item, "rubric")), check_format(item, "rubric")
    assert to_item(parsed, RECURRENCE, "roots 2 and 3", mode="verifiable")["rubric"] == []
    case = {**item, "kind": "case"}
    assert not all(r.passed for r in check_format(case, "rubric"))  # a case rubric still needs 2-4


def test_a_result_given_as_a_reason_is_asked_for_by_code_about_the_fact_it_explains():
    from autodata.nodes.items import reason_question
    from autodata.rules.withheld import reason_fact, relation_of

    because = "The gain was smallest when all requests were alike, because then sequences finish."
    assert relation_of(because, "sequences finish") == "reason"
    assert relation_of(RECURRENCE, "roots 2 and 3") == "consequence"
    assert relation_of(RECURRENCE, "not there") == "consequence"
    assert reason_fact(because, "sequences finish") == "The gain was smallest when all requests were alike"
    assert reason_fact(RECURRENCE, "roots 2 and 3") is None  # a consequence: the model writes its question
    assert reason_fact("It fell, because then the rope broke.", "the rope broke") is None  # too short
    question = reason_question(reason_fact(because, "sequences finish"))
    assert question == "What explains the fact that the gain was smallest when all requests were alike?"
    assert reason_question("GPU memory ran out") == "What explains the fact that GPU memory ran out?"


def test_a_code_written_question_drops_the_fact_s_linking_word():
    from autodata.nodes.items import consequence_question, reason_question

    fact = "Moreover, if an input wins over the last output value, it cannot fit in the heap"
    assert consequence_question(fact) == (
        "What follows directly from the fact that if an input wins over the last output value, it cannot fit "
        "in the heap?"
    )
    assert reason_question("However, the queue blocks") == "What explains the fact that the queue blocks?"
    assert reason_question("In practice, RAM runs out") == "What explains the fact that RAM runs out?"
    assert (
        reason_question("Thus far nothing failed") == "What explains the fact that thus far nothing failed?"
    )


def test_a_formula_a_passage_states_as_what_something_is_or_has_is_a_result():
    fixed = (
        "A non-homogeneous recurrence a(n) = c a(n-1) + d with c different from 1 has the fixed point "
        "d/(1 - c); the difference then satisfies the homogeneous recurrence."
    )
    assert result_spans(fixed) == ["d/(1 - c)"]
    assert withhold(fixed, "d/(1 - c)") == (
        "A non-homogeneous recurrence a(n) = c a(n-1) + d with c different from 1 has the fixed point."
    )
    assert "d/(1 - c)" not in withhold(fixed, "d/(1 - c)")
    stated = "For a heap the parent of the node at index k is the node at index (k - 1) // 2 in the array."
    assert result_spans(stated) == ["(k - 1) // 2"]
    assert result_spans("The value of the licence is free of charge for all users of the work.") == []
    assert result_spans("The rate is 5 percent and the term is 10 years for every loan we looked at.") == []
    heap = "Heaps are arrays for which a[k] <= a[2*k+1] and a[k] <= a[2*k+2] for all k, counting from 0."
    assert result_spans(heap) == []  # a definition by inequalities
    assert result_spans("The call item = heapreplace(heap, item) is the same as a pop then a push.") == []


def test_an_equation_for_a_named_quantity_is_asked_for_by_code_when_the_context_does_not_define_it():
    from autodata.nodes.items import formula_question
    from autodata.rules.withheld import formula_subject

    summed = "Multiplying the recurrence by x^n and summing gives G(x) - 1 = 2x G(x) + x/(1 - x)."
    assert formula_subject("G(x) = 1/((1 - x)(1 - 2x))", summed) == "G(x)"
    assert formula_question("G(x)") == "What is G(x)?"
    assert formula_subject("t = sqrt(2 h/g)", "A stone falls h metres from rest, h = g t^2 / 2.") == "t"
    # the context already states an equation for it: "What is a(n)?" would be answered by that one
    double = "For instance, a(n) = 4 a(n-1) - 4 a(n-2) has the double root 2."
    assert formula_subject("a(n) = (A + B n) 2^n", double) is None
    assert formula_subject("a(n) = (A + B n) 2^n", double.replace("a(n) =", "a(n)  =")) is None
    assert formula_subject("roots 2 and 3", summed) is None  # not an equation
    assert formula_subject("r^2 - 5r + 6 = 0", summed) is None  # its left side names nothing
    assert formula_subject("x = y = 2", summed) is None
    assert formula_subject("G(x) =", summed) is None


def test_a_consequence_in_words_is_asked_for_by_code_about_the_fact_it_follows_from():
    from autodata.nodes.items import CONSEQUENCE_TYPE, code_question
    from autodata.rules.withheld import consequence_premise

    # the 1.5B, asked for this one, wrote "What does the passage suggest about the effect of paging ...?"
    paged = (
        "The key cost is memory fragmentation in the cache: sequences come and go, leaving gaps. Paged "
        "attention stores the cache in fixed-size blocks that need not be contiguous, so a new sequence can "
        "use any free blocks. With paging, the server admitted 30% more sequences."
    )
    result = "a new sequence can use any free blocks"
    assert chosen_result(paged) == result
    premise = "Paged attention stores the cache in fixed-size blocks that need not be contiguous"
    assert consequence_premise(paged, result) == premise
    parsed = code_question(paged, result)
    assert parsed is not None and parsed.question_type == CONSEQUENCE_TYPE
    assert parsed.question == f"What follows directly from the fact that p{premise[1:]}?"
    item = to_item(parsed, paged, result, mode="verifiable")
    assert result not in item["context"] and result not in item["question"]
    grounding = check_grounding(item, paged, "verifiable")
    assert all(r.passed for r in grounding), grounding
    assert not check_leakage(item["answer"], item["context"], item["question"]).leaked
    # ", with" and "gives" name their own result better ("the roots of ..."): the model asks for it
    assert consequence_premise(RECURRENCE, "roots 2 and 3") is None
    # a formula is asked for by what it solves, never as "what follows"
    summed = "Multiplying the recurrence by x^n and summing gives G(x) - 1 = 2x G(x), so G(x) = 1/(1 - 2x)."
    assert consequence_premise(summed, "G(x) = 1/(1 - 2x)") is None
    assert consequence_premise("It rained, so the match was off.", "the match was off") is None  # too short
    because = "The gain was smallest when all requests were alike, because then sequences finish."
    assert consequence_premise(because, "sequences finish") is None  # a reason: reason_question asks for it
