from autodata.rules.equivalence import answers_equivalent, extract_final_answer
from autodata.rules.format_rules import check_format
from autodata.rules.leakage import check_leakage

CONTEXT = (
    "Inference servers batch requests. Continuous batching schedules at the granularity of one "
    "decoding step, so finished sequences leave and waiting requests join immediately. Static batching "
    "waits for the longest sequence of the batch."
)


def _item(**over):
    item = {
        "question_type": "mechanism inference",
        "skills": ["causal reasoning", "comparison"],
        "context": CONTEXT,
        "question": "Why does continuous batching help most when output lengths vary?",
        "answer": "Because short sequences no longer wait for stragglers before freeing their slot.",
        "rubric": [
            {"id": 1, "description": "mentions stragglers", "points": 3},
            {"id": 2, "description": "mentions freed slots", "points": 2},
            {"id": 3, "description": "claims static is faster", "points": -2},
        ],
    }
    item.update(over)
    return item


def _failed(item, mode="rubric"):
    return {r.name for r in check_format(item, mode) if not r.passed}


def test_well_formed_item_passes_all_rules():
    assert _failed(_item()) == set()


def test_multi_part_questions_are_rejected():
    assert "single_question" in _failed(_item(question="What is batching? And why is it fast?"))
    assert "single_question" in _failed(_item(question="Name the scheme and explain why it works."))
    assert "single_question" in _failed(_item(question="Compare (a) static and (b) continuous batching."))


def test_answer_must_fit_in_one_sentence():
    long_answer = "It helps. " * 3
    assert "answer_one_sentence" in _failed(_item(answer=long_answer))


def test_rubric_count_and_sign():
    assert "rubric_size" in _failed(_item(rubric=[{"id": 1, "description": "x", "points": 2}]))
    negative_only = [{"id": i, "description": "bad", "points": -1} for i in range(1, 4)]
    assert "rubric_has_positive" in _failed(_item(rubric=negative_only))
    zero = [{"id": i, "description": "x", "points": p} for i, p in enumerate([3, 0, 9], 1)]
    assert "rubric_points" in _failed(_item(rubric=zero))


def test_verifiable_mode_rejects_precision_sensitive_reals_and_ignores_rubric():
    item = _item(answer="0.333333", rubric=[])
    assert _failed(item, "verifiable") == {"answer_not_precision_sensitive"}


def test_skills_need_two_or_three_tags():
    assert "skills_2_to_3" in _failed(_item(skills=["one"]))


def test_leakage_detects_copied_answer():
    answer = "finished sequences leave and waiting requests join immediately"
    assert check_leakage(answer, CONTEXT, "What happens after each step?").leaked


def test_leakage_ignores_words_echoed_from_the_question():
    result = check_leakage(
        "Key B is evicted.",
        "A cache evicts the least recently used key.",
        "Which key is evicted after A, B, A, C?",
    )
    assert not result.leaked


def test_an_answer_the_question_states_word_for_word_is_leakage():
    question = "The server admitted 30% more concurrent sequences: how much did the throughput rise?"
    assert check_leakage(
        "30% more concurrent sequences", "Paged attention stores the cache.", question
    ).leaked
    assert check_leakage("14 days", "A deposit is returned.", "Is it within 14 days or 30 days?").leaked
    assert not check_leakage("B", "A cache evicts keys.", "Which key goes, A or B?").leaked  # one plain word


def test_an_answer_the_context_holds_word_for_word_is_leakage_even_when_the_question_echoes_it():
    rule = (
        "All end user license agreements which have been validly granted under this License prior to "
        "termination shall survive termination."
    )
    context = f"{rule} A client terminates its agreement under Section 5.1."
    question = "What happens to the end user license agreements validly granted before termination?"
    answer = "The end user license agreements which have been validly granted prior to termination survive."
    assert not check_leakage(answer, context, question).leaked  # reworded: left to the verifier
    copied = check_leakage(rule, context, question)
    assert copied.leaked and "word for word" in copied.detail
    assert not check_leakage("14 days", "within 14 days after it ends", "How long?").leaked  # short: verifier


def test_leakage_of_math_expression():
    assert check_leakage("2^(n+1) - 1", "so a(n) = 2^(n+1) - 1 holds", "Find a(n).").leaked
    assert not check_leakage("2^(n+1) - 1", "a(n) = 2 a(n-1) + 1 with a(0) = 1", "Find a(n).").leaked


def test_novel_answer_is_not_leakage():
    result = check_leakage(
        "Throughput falls because prefill stalls every decoding sequence.",
        CONTEXT,
        "What happens under a burst of long prompts?",
    )
    assert not result.leaked


def test_final_answer_extraction():
    assert extract_final_answer("think...\nFinal answer: 2^(n+1) - 1") == "2^(n+1) - 1"
    assert extract_final_answer("so \\boxed{42}") == "42"
    assert extract_final_answer("line one\nThe Treaty of Rome") == "The Treaty of Rome"


def test_equivalence_by_normalisation_and_symbols():
    assert answers_equivalent("The Court of Appeal", "court of appeal.") is True
    assert answers_equivalent("\\frac{1}{2}", "0.5") is True
    assert answers_equivalent("2^{n+1} - 1", "2*2^n - 1") is True
    assert answers_equivalent("2^{n+1} - 1", "2^n - 1") is False
    assert answers_equivalent("Treaty of Rome", "The Treaty of Rome (1957)") is True
    assert answers_equivalent("the tenant", "the landlord") is None  # undecidable in code: judge decides
    assert answers_equivalent("x", "") is False


def test_a_case_answer_keeps_its_result_and_leaves_the_reasons_to_its_solution():
    from autodata.rules.format_rules import answer_core

    assert answer_core("$100, because the landlord must return the deposit within 14 days.") == "$100"
    recall = "Two full rental periods long, as stated in the source."
    assert answer_core(recall) == "Two full rental periods long"
    assert answer_core("30 June; the notice ends on the last day of a period") == "30 June"
    assert answer_core("It ends on 30 June according to Section 2") == "It ends on 30 June"
    assert answer_core("7 June") == "7 June"
    assert answer_core("Because the tenant paid the arrears") == "Because the tenant paid the arrears"


def test_a_case_item_answer_is_cut_to_its_result():
    from autodata.nodes.items import to_item
    from autodata.rules.schemas import CaseItemOut

    parsed = CaseItemOut(
        context="A landlord holds a $100 deposit and returns it 20 days late; the tenant gave no address.",
        question="How much must the landlord pay the tenant?",
        solution="The delay was caused by the tenant, so no extra amount is due.",
        answer="$100, because the delay was caused by the tenant.",
        question_type="rule application",
    )
    item = to_item(parsed, "A landlord who returns the deposit late must pay an amount equal to the deposit.")
    assert item["answer"] == "$100" and item["solution"].startswith("The delay")
