"""autodata evaluate: fresh re-solving of accepted items, the metrics, the side-by-side report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fakes import FakeRegistry
from rich.console import Console
from scripts import RIGHT, WRONG, item, rubric_judge

from autodata.cli import evaluate as evaluate_cli
from autodata.evals import langsmith_evaluators as ls
from autodata.evals.evaluate import bootstrap_ci, duplicate_of, evaluate_runs, render_table
from autodata.evals.fake_openai_server import serve_in_thread

LEAKY_ANSWER = "Key B is evicted because A was used more recently than B."
Q1 = "Which key does a full LRU cache of size two evict when it sees A, B, A, C?"
Q2 = "Which key does a full LRU cache of size 2 evict when it sees A, B, A, C?"  # near-duplicate of Q1
Q3 = "Which entry leaves a two-slot cache first when it sees A, B, A, C?"
FAKE_CONFIG = str(Path(__file__).parents[1] / "fake_models.toml")


def record(i: int, **over) -> dict:
    data = item(**over)
    return {
        "id": f"item{i}",
        "source": {"path": f"doc{i}.md", "span": [0, 10]},
        "mode": "rubric",
        "preset": "rubric",
        **data,
        "rubric": [{"id": n + 1, **c} for n, c in enumerate(data["rubric"])],
        "weak_scores": [0.0],
        "strong_scores": [1.0],
        "weak_mean": 0.0,
        "strong_mean": 1.0,
        "gap": 1.0,
        "rounds": 1,
        "variant": "seed",
        "models": {},
    }


def make_run(path: Path, records: list[dict], calls: int = 30, tokens: int = 3000) -> Path:
    path.mkdir(parents=True)
    (path / "accepted.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = {
        "calls": {"challenger": {"calls": calls, "failed": 0, "input_tokens": tokens, "output_tokens": 0}}
    }
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def hand_made(tmp_path: Path) -> Path:
    return make_run(
        tmp_path / "agentic",
        [
            record(1, question=Q1),
            record(2, question=Q2),
            record(3, question=Q3, answer=LEAKY_ANSWER, context=item()["context"] + " " + LEAKY_ANSWER),
        ],
    )


def weak(messages):
    """Right only on the item that says 'size two' (so per-item gaps are 0, 1, 1)."""
    return RIGHT if "size two" in str(messages[-1].content) else WRONG


def registry():
    return FakeRegistry({"weak_solver": [weak], "strong_solver": [RIGHT], "judge": [rubric_judge()]})


async def test_metrics_on_a_hand_made_run(tmp_path):
    run = hand_made(tmp_path)
    models = registry()
    (report,) = await evaluate_runs([run], models, samples=2, seed=7)
    m = report["metrics"]
    assert m["items"] == 3 and m["scored_items"] == 3
    assert m["weak_mean"] == 0.3333 and m["strong_mean"] == 1.0 and m["gap"] == 0.6667
    lo, hi = m["gap_ci95"]
    assert 0.0 <= lo <= m["gap"] <= hi <= 1.0 and lo < hi
    w_lo, w_hi = m["weak_ci95"]  # weak means per item 0, 1, 0 (the 'size two' item is right)
    assert 0.0 <= w_lo <= m["weak_mean"] <= w_hi <= 1.0 and w_lo < w_hi
    assert m["strong_ci95"] == [1.0, 1.0]  # every strong answer is right
    assert m["strong_beats_weak"] == 0.6667
    assert m["leakage_rate"] == 0.3333  # item 3 copies its answer into the context
    assert m["format_compliance"] == 1.0
    assert m["duplicate_rate"] == 0.3333  # item 2 near-duplicates item 1
    assert m["calls_per_item"] == 10.0 and m["tokens_per_item"] == 1000.0
    # fresh, independent solving: k weak and k strong answers per item, each graded
    assert len(models.prompts("weak_solver")) == 6 and len(models.prompts("strong_solver")) == 6
    assert m["eval_calls_per_item"] == 8.0
    saved = json.loads((run / "evaluation.json").read_text())
    assert saved["metrics"] == m and saved["seed"] == 7
    by_id = {i["id"]: i for i in saved["items"]}
    assert by_id["item2"]["duplicate_of"] == "item1" and by_id["item3"]["leaked"]
    # seeded: the same seed gives the same interval
    (again,) = await evaluate_runs([run], registry(), samples=2, seed=7)
    assert again["metrics"]["gap_ci95"] == m["gap_ci95"]


def test_bootstrap_and_duplicates_are_pure():
    values = [0.0, 0.5, 1.0, 1.0, 0.25]
    lo, hi = bootstrap_ci(values, seed=1)
    assert lo <= sum(values) / len(values) <= hi
    assert bootstrap_ci([0.4, 0.4], seed=1) == (0.4, 0.4) and bootstrap_ci([]) is None
    assert duplicate_of(["What is X?", "what is x", "Something else entirely?"]) == [None, 0, None]


async def test_side_by_side_for_two_runs(tmp_path):
    first = hand_made(tmp_path)
    second = make_run(tmp_path / "baseline", [record(9, question=Q1)], calls=4, tokens=800)
    reports = await evaluate_runs([first, second], registry(), samples=2)
    assert [r["metrics"]["items"] for r in reports] == [3, 1]
    assert reports[1]["metrics"]["gap"] == 0.0 and reports[1]["metrics"]["duplicate_rate"] == 0.0
    console = Console(record=True, width=160)
    console.print(render_table(reports))
    text = console.export_text()
    assert "agentic" in text and "baseline" in text and "gap 95% CI" in text
    line = next(row for row in text.splitlines() if "LLM calls / item (generation)" in row)
    assert "10.0" in line and "4.0" in line
    assert (second / "evaluation.json").is_file()


def test_langsmith_evaluators_are_plain_functions():
    class Run:
        def __init__(self):
            self.outputs = {"accepted": {**record(1), "weak_scores": [0.0, 0.5], "strong_scores": [1.0, 1.0]}}

    assert ls.gap(Run(), None) == {"key": "gap", "score": 0.75}
    assert ls.strong_beats_weak(Run(), None)["score"] == 1.0
    assert ls.no_leakage(Run(), None)["score"] == 1.0 and ls.format_compliance(Run(), None)["score"] == 1.0
    leaky = {"outputs": record(3, answer=LEAKY_ANSWER, context=item()["context"] + " " + LEAKY_ANSWER)}
    assert ls.no_leakage(leaky, None) == {"key": "no_leakage", "score": 0.0}
    runs = [{"outputs": {"question": q}} for q in (Q1, Q2, Q3)]
    assert ls.duplicate_rate_summary(runs, None) == {"key": "duplicate_rate", "score": 0.3333}


def test_cli_module_against_the_fake_server(tmp_path, capsys):
    run = make_run(tmp_path / "run", [record(1)])
    parser = argparse.ArgumentParser()
    evaluate_cli.add_parser(parser.add_subparsers(dest="command"))
    with serve_in_thread() as base_url:
        args = parser.parse_args(
            [
                "evaluate",
                str(run),
                "--samples",
                "2",
                "--config",
                FAKE_CONFIG,
                "--set",
                f"all.base_url={base_url}",
            ]
        )
        assert args.handler is evaluate_cli.run
        assert evaluate_cli.run(args) == 0
    metrics = json.loads((run / "evaluation.json").read_text())["metrics"]
    assert metrics["items"] == 1 and metrics["scored_items"] == 1 and metrics["strong_mean"] is not None
    assert evaluate_cli.run(parser.parse_args(["evaluate", str(tmp_path / "missing")])) == 2
