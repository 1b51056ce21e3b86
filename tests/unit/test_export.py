"""Export of accepted items: jsonl, hf (save_to_disk + parquet), sft chats, grpo prompts; card and split."""

from __future__ import annotations

import argparse
import json

import pytest
from fakes import record

from autodata.cli import export as export_cli
from autodata.core.records import AcceptedRecord
from autodata.data.export import ExportError, export, split_records


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = [record(i, "verifiable") for i in range(3)]
    rows += [record(10 + i, "rubric", path=f"docs/long.pdf#s{i + 1}") for i in range(3)]
    lines = [json.dumps(r) for r in rows] + [json.dumps(rows[0]), '{"id": "torn", "sour']
    (run / "accepted.jsonl").write_text("\n".join(lines) + "\n")
    (run / "summary.json").write_text(
        json.dumps({"documents": 9, "rounds": 14, "rejections": {"too_easy": 3}})
    )
    return run


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_jsonl_is_a_clean_copy_with_a_card(run_dir):
    result = export(run_dir, "jsonl")
    assert result.out_dir == run_dir / "export-jsonl"
    rows = read(result.out_dir / "train.jsonl")
    assert len(rows) == 6 and result.invalid_lines == 1 and result.duplicates == 1
    AcceptedRecord.model_validate(rows[0])
    card = (result.out_dir / "README.md").read_text()
    assert "items: 6" in card and "| verifiable | 3 |" in card and "| rubric | 3 |" in card
    assert "gap: mean 0.750" in card and "`fake-judge`" in card and "1 invalid, 1 duplicate" in card
    assert "autodata export" in card and "too_easy" in card
    assert not (result.out_dir / "hf").exists()


def test_hf_writes_save_to_disk_and_parquet(run_dir, tmp_path):
    from datasets import load_dataset, load_from_disk

    out = tmp_path / "hf"
    export(run_dir, "hf", out)
    dd = load_from_disk(str(out / "hf"))
    assert dd["train"].num_rows == 6
    row = dd["train"][0]
    assert row["source_path"] == "docs/doc0.md" and row["source_span"] == [0, 100]
    assert json.loads(row["models"])["judge"] == "fake-judge"
    parquet = load_dataset("parquet", data_files=str(out / "data" / "train-*.parquet"), split="train")
    assert parquet.num_rows == 6 and set(parquet.column_names) == set(dd["train"].column_names)
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "path: data/train-*.parquet" in card


def test_sft_messages(run_dir, tmp_path):
    from datasets import load_from_disk

    export(run_dir, "sft", tmp_path / "sft")
    ds = load_from_disk(str(tmp_path / "sft" / "hf"))["train"]
    by_mode = {r["mode"]: r["messages"] for r in reversed(list(ds))}
    msgs = by_mode["verifiable"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
    assert "Context 0" in msgs[1]["content"] and "Question 0?" in msgs[1]["content"]
    assert msgs[2]["content"] == "Final answer: 12"
    assert by_mode["rubric"][2]["content"].startswith("Key B is evicted")


def test_grpo_dataset_has_trl_columns(run_dir, tmp_path):
    from datasets import load_from_disk

    export(run_dir, "grpo", tmp_path / "grpo")
    ds = load_from_disk(str(tmp_path / "grpo" / "hf"))["train"]
    assert {"prompt", "answer", "rubric", "mode", "question", "id"} <= set(ds.column_names)
    assert "completion" not in ds.column_names  # TRL strips it from the reward kwargs
    row = ds[3]
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]  # conversational, no assistant turn
    assert row["rubric"][1] == {"id": 2, "description": "Claims A is evicted", "points": -2}
    assert ds[0]["rubric"] == [] and ds[0]["answer"] == "12"


def test_split_is_deterministic_and_grouped_by_source_file(run_dir, tmp_path):
    a = export(run_dir, "jsonl", tmp_path / "a", test_size=0.5, seed=3)
    export(run_dir, "jsonl", tmp_path / "b", test_size=0.5, seed=3)
    assert a.splits["train"] + a.splits["test"] == 6 and a.splits["test"] >= 1
    assert read(tmp_path / "a" / "test.jsonl") == read(tmp_path / "b" / "test.jsonl")
    train_files = {r["source"]["path"].split("#")[0] for r in read(tmp_path / "a" / "train.jsonl")}
    test_files = {r["source"]["path"].split("#")[0] for r in read(tmp_path / "a" / "test.jsonl")}
    assert not train_files & test_files
    assert "test: " in (tmp_path / "a" / "README.md").read_text()


def test_split_falls_back_to_items_when_there_is_one_source_file():
    records = [AcceptedRecord.model_validate(record(i, path=f"one.pdf#s{i}")) for i in range(5)]
    splits, note = split_records(records, 2, seed=0)
    assert len(splits["test"]) == 2 and len(splits["train"]) == 3 and "item-level" in note


def test_bad_requests_are_clear_errors(tmp_path, run_dir):
    with pytest.raises(ExportError, match=r"no accepted\.jsonl"):
        export(tmp_path / "nothing", "jsonl")
    with pytest.raises(ExportError, match="test-size"):
        export(run_dir, "jsonl", test_size=1.5)
    with pytest.raises(ExportError, match="cannot split"):
        export(run_dir, "jsonl", test_size=6)


def test_cli_module(run_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="autodata")
    export_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["export", str(run_dir), "--format", "grpo", "--out", str(tmp_path / "o"), "--test-size", "0.3"]
    )
    assert export_cli.run(args) == 0
    assert "exported train" in capsys.readouterr().out
    card = (tmp_path / "o" / "README.md").read_text()
    assert f"autodata export {run_dir} --format grpo --out {tmp_path / 'o'} --test-size 0.3 --seed 0" in card
    bad = parser.parse_args(["export", str(tmp_path / "missing")])
    assert export_cli.run(bad) == 2
    assert "no accepted.jsonl" in capsys.readouterr().err


def test_one_reader_of_run_files_skips_torn_lines_other_values_and_repeated_ids(tmp_path):
    from autodata.core.records import read_accepted, read_records

    path = tmp_path / "accepted.jsonl"
    good = {"id": "a", "question": "Q?"}
    lines = [json.dumps(good), "[1, 2]", json.dumps({**good, "question": "again"}), "", '{"id": "b", "que']
    path.write_text("\n".join(lines), encoding="utf-8")
    assert read_records(path) == ([good], 2, 1)
    assert read_records(tmp_path / "missing.jsonl") == ([], 0, 0)
    validated = read_accepted(tmp_path)  # as AcceptedRecord, which these dicts are not
    assert validated.records == [] and validated.invalid == 4
    assert read_accepted(tmp_path, model=None).records == [good]
    with pytest.raises(FileNotFoundError, match=r"no accepted\.jsonl"):
        read_accepted(tmp_path / "elsewhere")
