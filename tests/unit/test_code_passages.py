"""Passages that document code (autodata/rules/code_passages.py)."""

from __future__ import annotations

from autodata.rules.code_passages import callable_names, calls_any, without_comments


def test_callables_are_read_from_calls_and_backticked_names():
    passage = (
        "The acquire() method blocks if necessary. Use ``harmonic_mean`` for rates; "
        "threading.Semaphore(2) starts at two. Section 5(a) applies, and f(x) is a function."
    )
    assert callable_names(passage) == ["acquire", "Semaphore", "harmonic_mean"]


def test_prose_without_callables_names_none():
    assert callable_names("Notice given by the tenant must be at least one full rental period long.") == []
    assert callable_names("the Contribution(s) alone or by combination of their Contribution(s)") == []


def test_a_program_calls_the_passage_s_callables_by_name_or_method():
    program = "import threading\ns = threading.Semaphore(2)\ns.acquire()\nprint(s.acquire(blocking=False))"
    assert calls_any(program, ["acquire", "release"]) == ["acquire"]
    assert calls_any("print(1 + 1)", ["acquire"]) == []
    own = "def acquire(n):\n    return n - 1\nprint(acquire(3))"
    assert calls_any(own, ["acquire"]) == []


def test_comments_are_taken_out_of_what_the_student_sees():
    assert without_comments("# prints 3\nx = 3  \n\nprint(x)") == "x = 3\nprint(x)"
    # an inline comment may give the answer away too; a "#" inside a string is code
    assert without_comments('print(x)  # prints 5\nprint("#1")') == 'print(x)\nprint("#1")'
    assert without_comments("print(1  # not closed") == "print(1"  # a broken program still loses them


def test_several_printed_booleans_are_not_a_yes_no_answer():
    from autodata.rules.grounding import check_answer_kind

    question = "What does the Python program above print?"
    assert check_answer_kind("True True False", question, "verifiable").passed
    assert check_answer_kind("(False, 3)", question, "verifiable").passed
    assert not check_answer_kind("True", question, "verifiable").passed
    assert not check_answer_kind("Yes, because the notice is late", "Is it late?", "verifiable").passed


def test_a_method_is_found_in_the_class_the_document_names():
    import queue
    import statistics
    import threading

    from autodata.rules.code_passages import qualified_names

    modules = [queue, statistics, threading]
    document = "# Semaphores\nThis class implements semaphore objects. The acquire() method blocks."
    assert qualified_names(["acquire"], modules, document)[0] == "threading.Semaphore.acquire"
    assert qualified_names(["harmonic_mean"], modules, "Return the harmonic mean.") == [
        "statistics.harmonic_mean"
    ]
    assert (
        qualified_names(["task_done"], modules, "Queue objects: task_done() ...")[0]
        == "queue.Queue.task_done"
    )
    assert qualified_names(["frobnicate"], modules, "frobnicate() does things.") == []
