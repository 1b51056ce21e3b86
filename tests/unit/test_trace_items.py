"""Trace items: a passage that documents code gets a program that calls it, and the question is what the
program prints (nodes/challenger.py: _trace_item; nodes/verifier.py: trace_checks), on scripted models."""

from __future__ import annotations

from fakes import FakeRegistry
from scripts import VERIFIER_PASS
from test_graph import run, scripts

DOC = (
    "Semaphores manage an internal counter. The acquire() method decrements the counter and returns True "
    "when it is larger than zero on entry; called with blocking=False on a counter of zero, it returns "
    "False at once."
)
PROGRAM = (
    "# the third acquire fails\nimport threading\ns = threading.Semaphore(2)\n"
    "print(s.acquire(blocking=False), s.acquire(blocking=False), s.acquire(blocking=False))"
)


async def test_a_code_passage_gets_a_program_whose_output_is_the_answer():
    registry = FakeRegistry(
        scripts(
            challenger=[{"program": PROGRAM, "question_type": "return value"}],
            verifier=[VERIFIER_PASS],
            weak_solver=["Final answer: True True True"],
            strong_solver=["Final answer: True True False"],
            judge=[{"verdict": "DIFFERENT"}],
        )
    )
    out = await run(registry, document=DOC, mode="verifiable", samples=2, max_rounds=1)
    assert out["status"] == "accepted"
    accepted = out["accepted"]
    assert accepted["answer"] == "True True False"
    assert accepted["question"].endswith(
        "s.acquire(blocking=False))\n\nWhat does the Python program above print?"
    )
    assert "the third acquire fails" not in accepted["question"]  # comments are not shown to the student
    assert accepted["context"] in DOC  # the passage alone
    assert "The program must call: acquire" in registry.prompts("challenger")[0]


async def test_a_program_that_does_not_call_the_documented_code_is_rejected():
    registry = FakeRegistry(
        scripts(challenger=[{"program": "x = [3, 1, 2]\nx.sort()\nprint(x)", "question_type": "sorting"}])
    )
    out = await run(registry, document=DOC, mode="verifiable", samples=2, max_rounds=1)
    record = out["rounds"][0]
    assert record["reason"] == "program" and "acquire" in record["detail"]
    assert not registry.prompts("weak_solver")


async def test_rubric_mode_keeps_case_items_for_code_passages():
    registry = FakeRegistry(scripts())
    await run(registry, document=DOC, mode="rubric", samples=2, max_rounds=1)
    assert "The program must call" not in registry.prompts("challenger")[0]


async def test_code_the_sandbox_cannot_run_gets_a_case_item():
    doc = "The frobnicate() method of a Widget returns twice the size it was built with, in millimetres."
    registry = FakeRegistry(scripts())
    await run(registry, document=doc, mode="verifiable", samples=2, max_rounds=1)
    prompt = registry.prompts("challenger")[0]
    assert "The program must call" not in prompt and "NEW concrete case" in prompt


async def test_a_passage_of_a_document_about_code_gets_a_trace_item_on_the_documents_callables():
    doc = (
        "# Semaphores\nThe acquire() method decrements the counter. "
        "A counter of zero makes the caller wait until another thread raises it again.\n\n"
        "Semaphores are often used to guard resources with limited capacity, for example a pool of database "
        "connections that only a fixed number of threads may hold at the same time."
    )
    registry = FakeRegistry(scripts(challenger=[{"program": PROGRAM, "question_type": "return value"}]))
    out = await run(registry, document=doc, mode="verifiable", samples=2, max_rounds=2)
    prompts = registry.prompts("challenger")
    assert all("The program must call: acquire" in p for p in prompts)
    assert "threading.Semaphore.acquire" in prompts[0]
    assert out["rounds"][0]["reason"] != "program"


async def test_a_program_that_prints_several_lines_is_rejected_and_two_programs_are_not_repeats():
    several = (
        "import threading\ns = threading.Semaphore(1)\nprint(s.acquire())\nprint(s.acquire(blocking=False))"
    )
    other = (
        "import threading\ns = threading.Semaphore(3)\nprint([s.acquire(blocking=False) for _ in range(4)])"
    )
    registry = FakeRegistry(
        scripts(
            challenger=[
                {"program": several, "question_type": "return value"},
                {"program": other, "question_type": "return value"},
            ],
            verifier=[VERIFIER_PASS],
            weak_solver=["Final answer: [True, True, True, True]"],
            strong_solver=["Final answer: [True, True, True, False]"],
            judge=[{"verdict": "DIFFERENT"}],
        )
    )
    out = await run(registry, document=DOC, mode="verifiable", samples=2, max_rounds=2)
    first, second = out["rounds"]
    assert first["reason"] == "program" and "2 lines" in first["detail"]
    assert second["reason"] == "accepted" and out["accepted"]["answer"] == "[True, True, True, False]"
