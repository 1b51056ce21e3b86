"""Meta-optimisation (outer loop) with scripted fake models, including ``analyzer`` and ``editor``."""

from __future__ import annotations

import json
import random

import pytest
from fakes import FakeRegistry
from hypothesis import given
from hypothesis import strategies as st
from scripts import EVIDENCE, RIGHT, VERIFIER_PASS, WRONG, item, rubric_judge

import autodata.nodes.meta_nodes as meta_nodes
from autodata.cli.optimize import optimize
from autodata.core.context import RunContext
from autodata.core.meta_state import MetaContext
from autodata.data.documents import Document
from autodata.graphs.meta_optimize import graph as studio_graph
from autodata.nodes.meta_guardrails import (
    GuardrailError,
    apply_part_edit,
    check_edit,
    find_duplicate,
    prompt_parts,
    required_placeholders,
)
from autodata.nodes.meta_store import package_prompts, read_iterations
from autodata.rules.selection import boltzmann_pick

SEED_PROMPTS = package_prompts()
BETTER = "\nAlways ask about a longer access sequence so that a shallow reader gets it wrong; MAGIC-HARD.\n"
WORSE = "\nPrefer questions whose answer is stated in one sentence of the source; SPOIL-EASY marker.\n"
HARD_Q = "Which key does a full LRU cache of size two evict when it sees A, B, A, C?"
EASY_Q = "Which key does a size-one cache evict when it sees A then B?"


def with_marker(marker: str) -> str:
    system, user = SEED_PROMPTS["challenger"].split("=== user ===", 1)
    return system.rstrip() + marker + "=== user ===" + user


def challenger(default_hard: bool):
    """Hard items when the challenger prompt says MAGIC-HARD (or by default), easy ones on SPOIL-EASY."""

    def reply(messages):
        text = "\n".join(str(m.content) for m in messages)
        hard = "MAGIC-HARD" in text or (default_hard and "SPOIL-EASY" not in text)
        return item(question=HARD_Q if hard else EASY_Q)

    return reply


def weak(messages):
    return RIGHT if "size-one" in str(messages[-1].content) else WRONG


def edit_reply(prompt: str, new_text: str) -> dict:
    return {"prompt": prompt, "new_text": new_text, "rationale": "because"}


def registry(editor: list, default_hard: bool = False) -> FakeRegistry:
    return FakeRegistry(
        {
            "challenger": [challenger(default_hard)],
            "verifier": [VERIFIER_PASS],
            "weak_solver": [weak],
            "strong_solver": [RIGHT],
            "judge": [rubric_judge()],
            "orchestrator": ["advice"],
            "analyzer": ["Items are too easy: the weak solver answers them. Ask for longer sequences."],
            "editor": editor,
        }
    )


def docs(prefix: str, n: int) -> list[Document]:
    return [
        Document(path=f"{prefix}{i}.md", text=f"{prefix} document {i} about LRU caches. {EVIDENCE}")
        for i in range(n)
    ]


def context(tmp_path, models, **over) -> MetaContext:
    inner = RunContext(models=models, samples=1, max_rounds=1, advice=False)
    values = {"iterations": 1, "minibatch": 1, "concurrency": 2, **over}
    return MetaContext(
        out_dir=str(tmp_path / "opt"), train=docs("train", 2), val=docs("val", 2), inner=inner, **values
    )


async def test_better_child_is_accepted_and_saved_as_best(tmp_path):
    models = registry([edit_reply("challenger", with_marker(BETTER))])
    state = await optimize(context(tmp_path, models))
    out = tmp_path / "opt"
    (row,) = read_iterations(out)
    assert row["outcome"] == "accepted" and row["parent"] == "seed" and row["child"] == "it001"
    assert row["parent_pass_rate"] == 0.0 and row["child_pass_rate"] == 1.0
    assert state["variants"]["it001"]["status"] == "accepted"
    assert (out / "best" / "VARIANT").read_text().strip() == "it001"
    assert "MAGIC-HARD" in (out / "best" / "challenger.md").read_text()
    meta = json.loads((out / "variants" / "it001" / "meta.json").read_text())
    assert meta["parent"] == "seed" and meta["changed_prompt"] == "challenger"
    assert "+" in meta["diff"] and "MAGIC-HARD" in meta["diff"] and meta["analysis"].startswith("Items are")
    assert meta["cost"]["calls"] > 0 and meta["val_pass_rates"] == [1.0]
    assert "| 1 | seed | it001 | challenger | accepted |" in (out / "report.md").read_text()
    # the analyzer read the trajectories (rejection reasons and scores)
    assert "too_easy" in models.prompts("analyzer")[0]
    assert "MAGIC-HARD" not in models.prompts("editor")[0]  # the editor saw the parent's prompts


async def test_an_edit_of_one_numbered_part_changes_that_part_only(tmp_path):
    """Small editors cannot write a whole prompt file back as JSON: they name a part and rewrite it."""
    first = prompt_parts(SEED_PROMPTS["challenger"])[0]
    new_part = first.strip() + " Ask about a longer access sequence; MAGIC-HARD."
    models = registry([{"prompt": "challenger", "part": 1, "new_text": new_part, "rationale": "harder"}])
    await optimize(context(tmp_path, models))
    (row,) = read_iterations(tmp_path / "opt")
    assert row["outcome"] == "accepted" and row["child_pass_rate"] == 1.0
    child = (tmp_path / "opt" / "variants" / "it001" / "challenger.md").read_text()
    assert child == SEED_PROMPTS["challenger"].replace(first.strip(), new_part, 1)
    assert "[1] " + first.splitlines()[0] in models.prompts("editor")[0]  # the parts it chose from


async def test_an_edit_of_a_part_that_does_not_exist_is_invalid(tmp_path):
    models = registry([{"prompt": "brief", "part": 99, "new_text": "Be hard.", "rationale": ""}])
    await optimize(context(tmp_path, models))
    (row,) = read_iterations(tmp_path / "opt")
    assert row["outcome"] == "invalid" and "not 99" in row["detail"] and row["child_pass_rate"] is None


@given(st.text(alphabet=st.sampled_from("ab:#$-= \n"), max_size=80))
def test_prompt_parts_join_back_to_the_file(text):
    parts = prompt_parts(text)
    assert "".join(parts) == text
    assert all(part.strip() for part in parts[1:])  # blank lines belong to the part before them


def test_a_part_edit_keeps_the_layout_around_the_part():
    text = "Intro line\ncontinued.\n\n- rule one\n- rule two\n=== user ===\n$history\n"
    assert prompt_parts(text) == [
        "Intro line\ncontinued.\n\n",
        "- rule one\n",
        "- rule two\n",
        "=== user ===\n",
        "$history\n",
    ]
    assert apply_part_edit("orchestrator", text, 1, "[1] Shorter intro.\n") == text.replace(
        "Intro line\ncontinued.", "Shorter intro."
    )
    assert apply_part_edit("orchestrator", text, 3, "") == text.replace("- rule two\n", "")
    assert apply_part_edit("orchestrator", text, 2, "All new.\n=== user ===\n$history") == (
        "All new.\n=== user ===\n$history"
    )
    # part 0: what the embedded editor wrote when it meant to add a rule (measured)
    assert apply_part_edit("orchestrator", text, 0, "## Also\n- be concrete\n") == text.replace(
        "- rule two\n", "- rule two\n## Also\n- be concrete\n"
    )
    with pytest.raises(GuardrailError, match="parts 1-5, not 6"):
        apply_part_edit("orchestrator", text, 6, "x")


async def test_worse_child_is_rejected(tmp_path):
    models = registry([edit_reply("challenger", with_marker(WORSE))], default_hard=True)
    state = await optimize(context(tmp_path, models))
    (row,) = read_iterations(tmp_path / "opt")
    assert row["outcome"] == "rejected"
    assert row["parent_pass_rate"] == 1.0 and row["child_pass_rate"] == 0.0
    assert state["variants"]["it001"]["status"] == "rejected"
    assert (tmp_path / "opt" / "best" / "VARIANT").read_text().strip() == "seed"


async def test_edit_to_a_solver_prompt_is_refused_and_not_evaluated(tmp_path):
    models = registry([edit_reply("solver", "Answer badly.\n=== user ===\n$context\n$question")] * 2)
    await optimize(context(tmp_path, models, iterations=2))
    first, second = read_iterations(tmp_path / "opt")
    assert first["outcome"] == "invalid" and "may not be edited" in first["detail"]
    assert first["child_pass_rate"] is None
    # the seed, never measured yet, is evaluated once anyway: the report has a baseline
    assert first["parent_pass_rate"] == 0.0 and first["seed_pass_rate"] == 0.0
    assert second["outcome"] == "invalid" and second["parent_pass_rate"] is None
    # two minibatch rollouts (1 document each) + one validation run of the seed (2 documents)
    assert len(models.prompts("weak_solver")) == 4
    assert "| 1 | seed | it001 | solver | invalid |" in (tmp_path / "opt" / "report.md").read_text()


async def test_duplicate_variant_is_skipped(tmp_path):
    same = SEED_PROMPTS["challenger"].replace(". ", ".   ").replace("\n", "  \n")  # whitespace only
    models = registry([edit_reply("challenger", same)])
    await optimize(context(tmp_path, models))
    (row,) = read_iterations(tmp_path / "opt")
    assert row["outcome"] == "duplicate" and "seed" in row["detail"]
    assert len(models.prompts("weak_solver")) == 1 + 2  # rollout + the seed's one validation run


async def test_budget_stops_the_loop(tmp_path):
    models = registry([edit_reply("challenger", with_marker(BETTER))])
    state = await optimize(context(tmp_path, models, iterations=5, budget=1))
    assert state["iteration"] == 1 and len(read_iterations(tmp_path / "opt")) == 1


async def test_interrupted_run_resumes_without_repeating_work(tmp_path, monkeypatch):
    edits = [
        edit_reply("challenger", with_marker(BETTER)),
        edit_reply("brief", SEED_PROMPTS["brief"] + WORSE),
    ]
    real = meta_nodes.write_best
    calls = {"n": 0}

    def crash_on_second(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("process died here")
        return real(*args)

    monkeypatch.setattr(meta_nodes, "write_best", crash_on_second)
    first = registry(edits)
    with pytest.raises(RuntimeError):
        await optimize(context(tmp_path, first, iterations=2))
    assert len(read_iterations(tmp_path / "opt")) == 1
    assert len(first.prompts("editor")) == 2  # iteration 2 got as far as its record step

    monkeypatch.setattr(meta_nodes, "write_best", real)
    with pytest.raises(Exception, match="--resume"):
        await optimize(context(tmp_path, registry(edits), iterations=2))
    resumed = registry(edits)
    state = await optimize(context(tmp_path, resumed, iterations=2), resume=True)
    rows = read_iterations(tmp_path / "opt")
    assert [r["iteration"] for r in rows] == [1, 2]
    assert all(m.seen == [] for m in resumed.models.values())  # finished steps are not paid for again
    assert state["iteration"] == 2 and rows[1]["parent"] in ("seed", "it001")

    # a finished run extends to more iterations with --resume
    more = registry([edit_reply("orchestrator", SEED_PROMPTS["orchestrator"] + WORSE)])
    state = await optimize(context(tmp_path, more, iterations=3), resume=True)
    assert [r["iteration"] for r in read_iterations(tmp_path / "opt")] == [1, 2, 3]
    assert len(more.prompts("editor")) == 1


# --- guardrails and selection (pure functions) -------------------------------------------------------


def test_only_editable_prompts_may_be_edited():
    for protected in ("solver", "judge_rubric", "judge_equivalence", "verifier", "acceptance", "samples"):
        with pytest.raises(GuardrailError, match="may not be edited"):
            check_edit(protected, "anything $context")
    check_edit("challenger", with_marker(BETTER))


def test_edited_template_keeps_the_placeholders_the_code_fills():
    assert required_placeholders("orchestrator") == {"history"}
    check_edit("orchestrator", "Be concrete.\n=== user ===\n$history")
    with pytest.raises(GuardrailError, match="dropped placeholder"):
        check_edit("orchestrator", "Be concrete.\n=== user ===\nno history here")
    with pytest.raises(GuardrailError, match="does not fill"):
        check_edit("orchestrator", "Be concrete.\n=== user ===\n$history $weak_scores")
    with pytest.raises(GuardrailError, match="invalid placeholder"):
        check_edit("orchestrator", "Costs $5.\n=== user ===\n$history")
    check_edit("orchestrator", "Costs $$5.\n=== user ===\n$history")
    with pytest.raises(GuardrailError, match="empty"):
        check_edit("brief", "   ")


def test_duplicates_by_hash_and_by_similarity():
    seed = dict(SEED_PROMPTS)
    assert find_duplicate({**seed, "brief": seed["brief"].upper() + "  "}, [("seed", seed)]) == ("seed", 1.0)
    near = {**seed, "challenger": seed["challenger"].replace("ONE", "one single", 1)}
    assert find_duplicate(near, [("seed", seed)])[0] == "seed"
    assert find_duplicate({**seed, "challenger": with_marker(BETTER)}, [("seed", seed)]) is None


def test_boltzmann_sampling_prefers_high_scores_and_is_seeded():
    picks = [boltzmann_pick(["a", "b"], [0.1, 0.4], 0.1, random.Random(i)) for i in range(200)]
    assert picks.count("b") > 180
    again = [boltzmann_pick(["a", "b"], [0.1, 0.4], 0.1, random.Random(i)) for i in range(200)]
    assert picks == again
    assert boltzmann_pick(["a", "b"], [0.3, 0.2], 0, random.Random(0)) == "a"


def test_studio_graph_has_parallel_evaluation():
    text = studio_graph.get_graph().draw_mermaid()
    for node in ("select_parent", "rollout", "analyze", "edit", "guard", "evaluate", "record", "report"):
        assert f"\t{node}(" in text
    assert "guard -.-> evaluate" in text and "record -.-> select_parent" in text


def test_cli_parser_and_plot(tmp_path):
    import argparse

    from autodata.cli.optimize import add_parser, run

    sub = argparse.ArgumentParser(prog="autodata").add_subparsers(dest="command")
    add_parser(sub)
    args = sub.choices["optimize"].parse_args(
        ["--train", "a.md", "--val", "b.md", "--iterations", "3", "--out", str(tmp_path), "--budget", "50"]
    )
    assert args.handler is run and args.iterations == 3 and args.budget == 50 and args.temperature == 0.1
    assert run(args) == 2  # no readable documents: a clean input error before any work


def test_meta_registry_maps_analyzer_and_editor_on_a_real_registry():
    from autodata.core.config import load_models_config
    from autodata.llm.models import MetaRegistry, OpenAIModelRegistry

    config = load_models_config("openai", overrides=["all.max_parallel=2"], environ={})
    registry = MetaRegistry(OpenAIModelRegistry(config))
    assert registry.settings("analyzer").model == config.role("orchestrator").model
    assert registry.limiter("editor") is registry.limiter("orchestrator") is not None
