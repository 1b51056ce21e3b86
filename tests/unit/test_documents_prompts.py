import asyncio
import json

import pytest
from fakes import FakeRegistry
from scripts import RIGHT, items
from test_graph import run, scripts

from autodata.data.documents import load_documents
from autodata.llm.parsing import parse_structured
from autodata.local.sandbox import run_program
from autodata.nodes.challenger import case_schema
from autodata.prompts.loader import PromptError, load_examples, load_prompt


def test_bad_inputs_are_skipped_with_reasons(tmp_path):
    (tmp_path / "good.md").write_text("---\nmode: verifiable\n---\n# Note\nSome text.\n")
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    result = load_documents([str(tmp_path), str(tmp_path / "missing.md")])
    assert [d.mode for d in result.documents] == ["verifiable"]
    assert result.documents[0].text.startswith("# Note")
    reasons = {p.split("/")[-1]: r for p, r in ((s.path, s.reason) for s in result.skipped)}
    assert reasons["empty.txt"] == "empty document"
    assert "binary" in reasons["binary.txt"]
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "no such file" in reasons["missing.md"]


def test_solver_and_judge_prompts_cannot_be_replaced_by_a_variant(tmp_path):
    (tmp_path / "solver.md").write_text("Answer badly on purpose.\n=== user ===\n$question")
    (tmp_path / "challenger.md").write_text("variant challenger\n=== user ===\n$document")
    assert "badly" not in load_prompt("solver", tmp_path).render_text(context="c", question="q")
    assert load_prompt("challenger", tmp_path).render_text(document="d").startswith("variant challenger")


def test_missing_placeholder_is_a_clear_error():
    with pytest.raises(PromptError, match=r"\$question"):
        load_prompt("solver").render(context="c")


def test_the_challenger_is_told_the_limits_the_code_enforces():
    from autodata.core.context import RunContext
    from autodata.nodes.challenger import item_prompt_values, item_schema
    from autodata.prompts.loader import load_prompt
    from autodata.rules.format_rules import CASE_WORDS, MAX_ANSWER_WORDS, RUBRIC_MAX, RUBRIC_MIN

    for mode in ("rubric", "verifiable"):
        ctx = RunContext(mode=mode)
        text = load_prompt("challenger").render_text(
            source="s",
            document="d",
            feedback="",
            angle="a",
            **item_prompt_values(ctx),
        )
        assert f"at most {MAX_ANSWER_WORDS[mode]} words" in text
        assert f"at most {CASE_WORDS} words" in text
        assert ("rubric" in text) == (mode == "rubric")
        if mode == "rubric":
            assert f"{RUBRIC_MIN}-{RUBRIC_MAX} criteria" in text
            schema = item_schema(mode).model_json_schema()["properties"]["rubric"]
            assert (schema["minItems"], schema["maxItems"]) == (RUBRIC_MIN, RUBRIC_MAX)


def test_every_editable_prompt_the_meta_optimizer_may_change_takes_effect():
    from autodata.prompts.loader import OPTIMISED, load_prompt

    # the brief reaches the challenger through $brief, the feedback through the feedback node
    placeholders = load_prompt("challenger").system.template + load_prompt("challenger").user.template
    assert "brief" in OPTIMISED and "$brief" in placeholders


def test_every_worked_case_example_is_an_item_its_schema_accepts():
    examples = load_examples("example_case_rubric")
    assert len(examples) >= 3
    for example in examples:
        passage, reply = example.splitlines()
        assert passage.startswith('PASSAGE: "')
        parsed = parse_structured(json.loads(reply), case_schema("rubric"))
        assert parsed.answer.split()[0] in parsed.solution  # the answer is what the solution reaches


def test_every_worked_program_example_runs_and_quotes_its_passage():
    examples = load_examples("example_program_verifiable")
    assert len(examples) >= 3
    for example in examples:
        passage, reply = example.splitlines()
        parsed = parse_structured(json.loads(reply), case_schema("verifiable"))
        run = asyncio.run(run_program(parsed.program))
        assert run.output and run.error is None, run.error
        quoted = parsed.program.splitlines()[0].strip('# "')
        assert quoted in passage  # the first line quotes the passage's rule in its own words


async def test_the_case_example_changes_from_round_to_round():
    rule = (
        "A tenant must give at least one full rental period of notice, and the notice must end on the last "
        "day of a period."
    )
    registry = FakeRegistry(scripts(challenger=items(3), weak_solver=[RIGHT]))
    await run(registry, document=rule, max_rounds=3)
    examples = load_examples("example_case_rubric")
    shown = [[e for e in examples if e in p] for p in registry.prompts("challenger")]
    assert shown == [[examples[0]], [examples[1]], [examples[2]]]


def test_a_variants_example_with_blank_lines_inside_stays_one_example(tmp_path):
    (tmp_path / "example_case_verifiable.md").write_text(
        'PASSAGE: "one"\n{"a": 1}\n\nA note on the first.\n\nPASSAGE: "two"\n{"a": 2}\n'
    )
    first, second = load_examples("example_case_verifiable", tmp_path)
    assert first == 'PASSAGE: "one"\n{"a": 1}\n\nA note on the first.' and second.startswith('PASSAGE: "two"')
    (tmp_path / "example_case_verifiable.md").write_text("Plain text\n\nwithout labels\n")
    assert load_examples("example_case_verifiable", tmp_path) == ["Plain text\n\nwithout labels"]
