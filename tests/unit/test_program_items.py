"""Verifiable case items whose answer is what the challenger's program prints (nodes/challenger.py:
answer_by_program; nodes/verifier.py: program_checks), through the whole graph on scripted models."""

from __future__ import annotations

from fakes import FakeRegistry
from scripts import EVIDENCE, VERIFIER_FAIL, item
from test_graph import run, scripts

QUESTION = "A full cache of size two sees A, B, A, C: how many keys does it evict in all?"
LRU = (
    'room, order, evicted = 2, [], 0\nfor key in ["A", "B", "A", "C"]:\n    if key in order:\n'
    "        order.remove(key)\n    elif len(order) == room:\n        least = order.pop(0)\n"
    "        evicted += 1\n    order.append(key)\n"
)
"""Simulates the scripted passage's rule (the least recently used key goes) on the question's keys."""


def program_item(program: str, answer: str = "one key", question: str = QUESTION, **over):
    return item(question=question, answer=answer, program=program, rubric=[], **over)


async def test_the_program_prints_the_reference_answer_and_the_verifier_cannot_overrule_it():
    program = f'# "{EVIDENCE}"\n{LRU}print(f"{{evicted}} key")'
    registry = FakeRegistry(
        scripts(
            challenger=[program_item(program, answer="7 keys")],
            verifier=[VERIFIER_FAIL | {"self_contained": "YES", "answer_correct": "NO"}],
            weak_solver=["Final answer: 2 keys"],
            strong_solver=["Final answer: 1 key"],
            judge=[{"verdict": "DIFFERENT"}],
        )
    )
    out = await run(registry, mode="verifiable", samples=2, max_rounds=1)
    assert out["status"] == "accepted"
    accepted = out["accepted"]
    assert accepted["answer"] == "1 key"  # the program's line, not the "7 keys" the model wrote
    assert accepted["solution"] == program


async def test_a_program_that_fails_is_rejected_before_any_solver_with_its_error_in_the_feedback():
    failing = program_item(f'# "{EVIDENCE}"\nprint(1 / 0)')
    refused = program_item("import os\nprint(2)")
    registry = FakeRegistry(scripts(challenger=[failing, refused]))
    out = await run(registry, mode="verifiable", samples=2, max_rounds=2)
    reasons = [r["reason"] for r in out["rounds"]]
    assert reasons == ["program", "program"]
    assert not registry.prompts("weak_solver") and not registry.prompts("verifier")
    round_two = registry.prompts("challenger")[1]
    assert "ZeroDivisionError" in round_two  # the feedback names what went wrong
    assert "imports 'os'" in out["rounds"][1]["detail"]


async def test_a_program_with_values_the_case_does_not_give_is_rejected():
    program = f'# "{EVIDENCE}"\nsizes = [85, 90, 78]\nprint(f"{{len(sizes) - 1}} keys")'
    registry = FakeRegistry(scripts(challenger=[program_item(program)]))
    out = await run(registry, mode="verifiable", samples=2, max_rounds=1)
    record = out["rounds"][0]
    assert record["reason"] == "program"
    assert "85, 90, 78" in record["detail"]
    assert not registry.prompts("weak_solver")


def test_a_program_escaped_twice_gets_its_line_breaks_back():
    from autodata.nodes.items import unescaped_program

    twice = '# \\"rule\\"\\nx = 3\\nprint(f\\"{x} days\\")'
    assert unescaped_program(twice) == '# "rule"\nx = 3\nprint(f"{x} days")'
    once = 'x = 3\nprint("a\\nb")'
    assert unescaped_program(once) == once


async def test_a_program_that_prints_a_fixed_text_is_rejected():
    program = f'# "{EVIDENCE}"\nif 4 > 2:\n    print("Key B is evicted")'
    registry = FakeRegistry(scripts(challenger=[program_item(program)]))
    out = await run(registry, mode="verifiable", samples=2, max_rounds=1)
    record = out["rounds"][0]
    assert record["reason"] == "program" and "fixed text" in record["detail"]


def test_a_programs_comment_quoting_the_passage_is_no_use_of_it():
    from autodata.rules.cases import check_case_uses_passage, worked_solution

    passage = "In the event of termination, licences validly granted before termination shall survive."
    case = "John's agreement is valid until June 30, 2025."
    question = "How many days after June 30, 2025 is July 20, 2025?"
    quoting = (
        '# "licences validly granted before termination shall survive"\nfrom datetime import date\n'
        'print(f"{(date(2025, 7, 20) - date(2025, 6, 30)).days} days")'
    )
    assert not check_case_uses_passage(worked_solution({"program": quoting}), case, question, passage).passed
    using = (
        "from datetime import date\ngranted = date(2025, 6, 30)\nsurvive = granted < date(2025, 7, 20)\n"
        'print(f"licence survives: {survive}")'
    )
    assert check_case_uses_passage(worked_solution({"program": using}), case, question, passage).passed


async def test_a_value_the_question_states_is_given():
    program = f'rule = "{EVIDENCE}"\n{LRU}print(f"{{evicted * 35}} keys")'
    question = "A full cache of size two sees A, B, A, C, 35 times over: how many evictions is that?"
    registry = FakeRegistry(
        scripts(
            challenger=[program_item(program, question=question)],
            weak_solver=["Final answer: 2 keys"],
            strong_solver=["Final answer: 35 keys"],
            judge=[{"verdict": "DIFFERENT"}],
        )
    )
    out = await run(registry, mode="verifiable", samples=2, max_rounds=1)
    assert out["status"] == "accepted" and out["accepted"]["answer"] == "35 keys"


def test_the_report_shows_a_program_item_s_program_as_code():
    from autodata.evals.report_units import item_fields

    fields = dict(item_fields({"question": "q?", "answer": "1 key", "program": "x = 1 < 2\nprint(x)"}))
    assert fields["solution"] == "<pre>x = 1 &lt; 2\nprint(x)</pre>"


async def test_a_program_that_prints_an_object_s_address_gives_no_answer():
    # measured: print(itertools.chain(...)) gave "<itertools.chain object at 0x7f9bf5f36ef0>", a different
    # answer on every run
    from autodata.nodes.items import answer_by_program

    printed = await answer_by_program(program_item("import itertools\nprint(itertools.chain([1], [2]))"))
    assert "address" in printed["program_error"]
    plain = await answer_by_program(program_item("print(list(range(3)))"))
    assert plain["answer"] == "[0, 1, 2]" and not plain.get("program_error")


async def test_a_program_that_calls_a_standard_function_without_its_import_runs_with_it():
    program = f'# "{EVIDENCE}"\n{LRU}print(f"{{ceil(evicted)}} key")'
    registry = FakeRegistry(scripts(challenger=[program_item(program)]))
    out = await run(registry, mode="verifiable", samples=2, max_rounds=1)
    record = out["rounds"][0]
    assert "NameError" not in (record.get("detail") or "")
    assert registry.prompts("weak_solver"), record  # it ran, so the item went on to the solvers
