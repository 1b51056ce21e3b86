"""Coded checks of the items whose answer a program computed (nodes/challenger.py: answer_by_program), with
the feedback the challenger gets from prompts/. The rules themselves are pure
(autodata/rules/program_values.py, autodata/rules/code_passages.py); this module only words their verdicts."""

from __future__ import annotations

from autodata.core.state import Item
from autodata.prompts.loader import load_prompt
from autodata.rules.code_passages import calls_any, passage_code_names
from autodata.rules.format_rules import RuleResult
from autodata.rules.program_values import prints_fixed_text, values_not_given


def _verdict(name: str, passed: bool, prompt: str, **values: object) -> RuleResult:
    return RuleResult(name, passed, "ok" if passed else load_prompt(prompt).render_text(**values))


def _ran_and_computed(item: Item) -> tuple[RuleResult, RuleResult]:
    """The program ran and printed its answer; what it printed is not one of its own texts."""
    error = item.get("program_error")
    fixed = not error and prints_fixed_text(item["program"], item["answer"])
    return (
        _verdict("program_runs", not error, "program_feedback", error=error),
        _verdict("program_computes", not fixed, "program_fixed_feedback"),
    )


def program_checks(item: Item) -> list[RuleResult]:
    """A case item's program ran, computed its answer, and used only values its context or question gives
    (autodata/rules/program_values.py)."""
    ran, computed = _ran_and_computed(item)
    missing = values_not_given(item["program"], f"{item['context']} {item['question']}")
    given = _verdict(
        "program_values_given", not missing, "program_values_feedback", values=", ".join(missing)
    )
    return [ran, given, computed]


def trace_checks(item: Item, window: str, document: str) -> list[RuleResult]:
    """A trace item's program ran, computed what it printed, and calls what its passage (or document)
    documents (autodata/rules/code_passages.py); its values need no check: the student sees the program."""
    ran, computed = _ran_and_computed(item)
    names = passage_code_names(window, document)
    calls = bool(calls_any(item["program"], names)) or not names
    called = _verdict("program_calls_passage", calls, "program_calls_feedback", names=", ".join(names))
    return [ran, called, computed]


def program_verdicts(item: Item, window: str, document: str) -> list[RuleResult]:
    """The program checks of ``item``: a trace item's, a case item's, or none without a program."""
    if "program" not in item:
        return []
    return trace_checks(item, window, document) if item.get("kind") == "trace" else program_checks(item)
