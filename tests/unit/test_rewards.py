"""Reward functions, called the way TRL's GRPOTrainer calls them (columns as keyword lists)."""

from __future__ import annotations

import inspect

from fakes import FakeRegistry

from autodata.data.rewards import RubricReward, VerifiableReward, completion_text, verifiable_reward
from autodata.rules.equivalence import code_verdict

RUBRIC = [
    {"id": 1, "description": "Names key B as the evicted key", "points": 3},
    {"id": 2, "description": "Explains that A was used more recently", "points": 1},
    {"id": 3, "description": "Claims A is evicted", "points": -2},
]
PROMPT = [{"role": "system", "content": "Solve."}, {"role": "user", "content": "# Question\nWhich key?"}]
ROWS = [
    {
        "prompt": PROMPT,
        "answer": "12",
        "rubric": [],
        "mode": "verifiable",
        "question": "How many?",
        "id": "v",
    },
    {
        "prompt": PROMPT,
        "answer": "Key B.",
        "rubric": RUBRIC,
        "mode": "rubric",
        "question": "Which key?",
        "id": "r",
    },
]


def trl_call(func, rows, completions):
    """What GRPOTrainer._calculate_rewards does: every non-prompt column becomes a list kwarg."""
    keys = [k for k in rows[0] if k not in ("prompt", "completion", "completion_ids")]
    kwargs = {k: [row[k] for row in rows] for k in keys}
    kwargs.update(trainer_state=None, log_extra=lambda *a, **k: None, log_metric=lambda *a, **k: None)
    return func(
        prompts=[row["prompt"] for row in rows],
        completions=completions,
        completion_ids=[[1, 2]] * len(rows),
        **kwargs,
    )


def chat(text):
    return [{"role": "assistant", "content": text}]


def test_completion_text_accepts_strings_and_messages():
    assert completion_text("x") == "x"
    assert completion_text(chat("y")) == "y"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "z"}]}]) == "z"


def test_verifiable_reward_with_trl_convention():
    rows = [ROWS[0]] * 4 + [ROWS[1]]
    completions = [
        chat("6 + 6.\nFinal answer: 12"),
        chat("Final answer: $\\frac{24}{2}$"),
        chat("I think it is 13.\nFinal answer: 13"),
        "plain string completion\n\\boxed{12}",
        chat("Final answer: B"),
    ]
    assert trl_call(verifiable_reward, rows, completions) == [1.0, 1.0, 0.0, 1.0, None]


def test_undecidable_answers_score_zero_or_go_to_the_judge():
    row = {**ROWS[0], "answer": "the Treaty of Rome"}
    completion = chat("Final answer: the treaty signed in Rome in 1957")
    assert code_verdict(row["answer"], "the treaty signed in Rome in 1957", row["question"]) is None
    assert trl_call(verifiable_reward, [row], [completion]) == [0.0]
    registry = FakeRegistry({"judge": [{"verdict": "EQUIVALENT"}]})
    reward = VerifiableReward(registry)
    assert trl_call(reward, [row, ROWS[0]], [completion, chat("Final answer: 12")]) == [1.0, 1.0]
    assert len(registry.models["judge"].seen) == 1  # only the undecidable one reached the judge
    assert "signed in Rome in 1957" in registry.prompts("judge")[0]


def test_failed_judge_falls_back_to_undecided():
    registry = FakeRegistry({"judge": ["not json"]})
    row = {**ROWS[0], "answer": "the Treaty of Rome"}
    assert trl_call(VerifiableReward(registry), [row], [chat("Final answer: the treaty of 1957")]) == [0.0]


def test_reward_decides_in_code_what_the_generator_decides_in_code():
    """An answer in none of a reference's key words earns nothing, though the judge would have passed it: the
    1.5B judge called this 135M answer equivalent (docs/RESULTS.md), and the generator never asks it."""
    row = {**ROWS[0], "answer": "a new sequence can use any free blocks", "question": "What follows?"}
    rambling = "to optimize the use of CPU resources by limiting access to shared data structures"
    registry = FakeRegistry({"judge": [{"verdict": "EQUIVALENT"}]})
    assert trl_call(VerifiableReward(registry), [row], [chat(f"Final answer: {rambling}")]) == [0.0]
    assert registry.prompts("judge") == []


def grader(messages):
    text = str(messages[-1].content).split("# Answer to grade", 1)[-1]
    good = "key B" in text
    return {
        "scores": [
            {"criterion_id": 1, "verdict": "met" if good else "unmet"},
            {"criterion_id": 2, "verdict": "partial" if good else "unmet"},
            {"criterion_id": 3, "verdict": "unmet" if good else "met"},
        ],
        "failure_modes": "",
    }


def test_rubric_reward_scores_through_the_judge_and_recomputes_the_score():
    registry = FakeRegistry({"judge": [grader]})
    reward = RubricReward(registry)
    rows = [ROWS[1], ROWS[1], ROWS[0]]
    completions = [chat("It evicts key B."), "It evicts key A.", chat("Final answer: 12")]
    scores = trl_call(reward, rows, completions)
    assert scores == [round((3 + 0.5) / 4, 4), 0.0, None]  # 0.875; the penalty clamps the other at 0
    prompts = registry.prompts("judge")
    assert len(prompts) == 2 and "(-2 points) Claims A is evicted" in prompts[0]
    assert "Key B." in prompts[0]  # the reference answer column reaches the judge
    assert reward.__name__ == "rubric_reward"  # TRL logs rewards under the callable's name
    assert not inspect.iscoroutinefunction(reward.__call__)  # TRL runs it as a sync reward function


async def test_rubric_reward_inside_a_running_event_loop_and_json_rubrics():
    import json

    registry = FakeRegistry({"judge": [grader]})
    row = {**ROWS[1], "rubric": json.dumps(RUBRIC)}
    assert trl_call(RubricReward(registry), [row], [chat("key B")]) == [0.875]
    assert await RubricReward(registry).ascore(
        [PROMPT], [chat("key B")], **{k: [v] for k, v in row.items()}
    ) == [0.875]


def test_rubric_reward_judge_failure_counts():
    registry = FakeRegistry({"judge": ["nonsense"]})
    reward = RubricReward(registry, failed=None)
    assert trl_call(reward, [ROWS[1]], [chat("key B")]) == [None] and reward.failures == 1


def test_rewards_over_an_exported_grpo_dataset(tmp_path):
    import json

    from datasets import load_from_disk

    from autodata.data.export import export

    run = tmp_path / "run"
    run.mkdir()
    from fakes import record

    (run / "accepted.jsonl").write_text(
        json.dumps(record(1, "verifiable")) + "\n" + json.dumps(record(2)) + "\n"
    )
    export(run, "grpo", tmp_path / "g")
    rows = list(load_from_disk(str(tmp_path / "g" / "hf"))["train"])
    completions = [chat("Final answer: 12"), chat("It evicts key B since A was used more recently.")]
    assert trl_call(verifiable_reward, rows, completions) == [1.0, None]
    reward = RubricReward(FakeRegistry({"judge": [grader]}))
    assert trl_call(reward, rows, completions) == [None, 0.6667]  # (3 - 2 * 0.5) / 3
