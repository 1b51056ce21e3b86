"""Background sentences of a withheld reason or consequence (autodata/rules/background.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from autodata.rules.background import MAX_BACKGROUND, Sentence, background, with_background
from autodata.rules.leakage import check_leakage

_PARAGRAPHS = [
    [
        "Inference servers batch requests to use the accelerator efficiently.",
        "Static batching waits until a fixed number of requests has arrived, which wastes time when traffic "
        "is light and delays every request in the batch until the longest one finishes.",
        "Continuous batching instead schedules at the granularity of one decoding step: after each step, "
        "finished sequences leave the batch and waiting requests join it immediately.",
    ],
    [
        "We measured both schemes on a server with a memory budget for 64 concurrent sequences.",
        "Under a steady load of short prompts, continuous batching raised throughput by a factor of 2.1 and "
        "cut the median latency by 40%.",
        "The gain was smallest when all requests had the same output length, because then sequences finish "
        "together and static batches lose little time to stragglers.",
    ],
    ["Paged attention needs a block table per sequence."],
]
BATCHING = "\n\n".join(" ".join(p) for p in _PARAGRAPHS)
WINDOW_TEXT = "Under a steady load"
RESULT = "sequences finish together and static batches lose little time to stragglers"
CONTEXT = (
    "Under a steady load of short prompts, continuous batching raised throughput by a factor of 2.1 and cut "
    "the median latency by 40%. The gain was smallest when all requests had the same output length."
)
QUESTION = "What explains the fact that the gain was smallest when all requests had the same output length?"


def _window() -> tuple[int, int]:
    return BATCHING.index(WINDOW_TEXT), BATCHING.index("\n\nPaged")


def test_the_sentences_a_reason_can_be_worked_out_from_are_found_outside_the_window():
    found = background(BATCHING, _window(), CONTEXT, QUESTION, RESULT)
    texts = [s.text for s in found]
    assert texts[0].startswith("Static batching waits until")
    assert any(t.startswith("Continuous batching instead schedules") for t in texts)
    assert all(WINDOW_TEXT not in t and "stragglers" not in t for t in texts)
    assert len(found) <= MAX_BACKGROUND


def test_background_comes_in_document_order_around_the_context():
    found = background(BATCHING, _window(), CONTEXT, QUESTION, RESULT)
    context = with_background(CONTEXT, found, _window())
    assert context.endswith(CONTEXT)
    assert context.index("Static batching") < context.index("Continuous batching instead")


def test_a_sentence_after_the_window_follows_the_context():
    window = (0, BATCHING.index("We measured"))
    after = "Paged attention needs a block table per sequence."
    found = [Sentence(BATCHING.index(after), after)]
    assert with_background("Inference servers batch.", found, window) == (f"Inference servers batch. {after}")


def test_nothing_related_gives_no_background():
    document = "Cats sleep a lot. Dogs bark at night.\n\nThe moon is bright, because the sun lights it."
    window = (document.index("The moon"), len(document))
    assert background(document, window, "The moon is bright.", "What explains it?", "the sun lights it") == []


def test_a_sentence_that_restates_the_result_is_never_background():
    document = (
        "The pipe froze because the heating failed overnight. Later we learned the heating failed overnight "
        "in every flat. The pipe froze, as the heating failed overnight."
    )
    window = (0, document.index("Later"))
    found = background(
        document, window, "The pipe froze.", "What explains the fact?", "the heating failed overnight"
    )
    assert found == []


_VOCABULARY = "static batch batches sequence sequences finish finished time stragglers memory block free gap"
_WORDS = st.sampled_from([*_VOCABULARY.split(), "server", "requests", "cache", "lose", "together", "little"])
_SENTENCE = st.lists(_WORDS, min_size=4, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")


@settings(max_examples=80, deadline=None)
@given(
    before=st.lists(_SENTENCE, max_size=5),
    after=st.lists(_SENTENCE, max_size=5),
    result=st.lists(_WORDS, min_size=3, max_size=8).map(" ".join),
)
def test_background_never_leaks_the_result_and_never_repeats_the_window(before, after, result):
    head = " ".join(before)
    passage = f"The gain was smallest, because {result}."
    document = " ".join(p for p in (head, passage, " ".join(after)) if p)
    start = len(head) + 1 if head else 0
    window = (start, start + len(passage))
    context, question = "The gain was smallest.", "What explains the fact that the gain was smallest?"
    found = background(document, window, context, question, result)
    assert len(found) <= MAX_BACKGROUND
    assert all(s.text in before or s.text in after for s in found)
    full = with_background(context, found, window)
    assert not check_leakage(result, full, question).leaked or check_leakage(result, context, question).leaked


def test_the_sentence_leading_up_to_the_passage_in_its_paragraph_is_background():
    document = (
        "Continuous batching lets sequences come and go. The key cost is memory fragmentation in the cache: "
        "sequences of different lengths come and go, leaving gaps. Paged attention stores the cache in "
        "fixed-size blocks that need not be contiguous, so a new sequence can use any free blocks. With "
        "paging, the server admitted 30% more concurrent sequences.\n\n"
        "A request names its sequence by number."
    )
    start = document.index("Paged attention")
    window = (start, document.index("\n\n"))
    context = (
        "Paged attention stores the cache in fixed-size blocks that need not be contiguous. With paging, the "
        "server admitted 30% more concurrent sequences."
    )
    question = (
        "What follows directly from the fact that paged attention stores the cache in fixed-size blocks?"
    )
    found = background(document, window, context, question, "a new sequence can use any free blocks")
    assert [s.text[:20] for s in found] == ["The key cost is memo"]  # not the sentences of other paragraphs
