"""autodata export DIR --to langsmith NAME, offline: no key -> clear error; a fake client gets examples."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import pytest

from autodata.cli import export as export_cli
from autodata.data import langsmith_export
from autodata.data.export import ExportError


def record(i: int, mode: str = "rubric") -> dict:
    return {
        "id": f"item{i}",
        "source": {"path": f"doc{i}.md", "span": [0, 10]},
        "mode": mode,
        "preset": mode,
        "question": f"Question {i}?",
        "context": f"Context {i}.",
        "answer": f"Answer {i}.",
        "rubric": [{"id": 1, "description": "names the answer", "points": 3}] if mode == "rubric" else [],
        "question_type": "derivation",
        "skills": ["a", "b"],
        "weak_scores": [0.0],
        "strong_scores": [1.0],
        "weak_mean": 0.0,
        "strong_mean": 1.0,
        "gap": 1.0,
        "rounds": 2,
        "variant": "seed",
        "models": {"judge": "fake"},
    }


class FakeClient:
    def __init__(self, existing=()):
        self.existing = set(existing)
        self.datasets: list[dict] = []
        self.examples: list[dict] = []

    def has_dataset(self, *, dataset_name):
        return dataset_name in self.existing

    def create_dataset(self, name, *, description=None):
        self.datasets.append({"name": name, "description": description})
        return SimpleNamespace(id="ds-1", name=name)

    def create_examples(self, *, dataset_id, examples):
        assert dataset_id == "ds-1"
        self.examples += examples


@pytest.fixture
def run_dir(tmp_path):
    rows = [record(0), record(1, "verifiable"), record(0)]  # a duplicate id
    (tmp_path / "accepted.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"torn')
    return tmp_path


def parse(*argv):
    parser = argparse.ArgumentParser()
    export_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["export", *argv])


def test_without_api_key_is_a_clear_one_line_error(run_dir, monkeypatch, capsys):
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.setattr(langsmith_export, "make_client", lambda: pytest.fail("no client without a key"))
    assert export_cli.run(parse(str(run_dir), "--to", "langsmith", "my-data")) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: --to langsmith needs LANGSMITH_API_KEY set (a LangSmith API key)"


def test_uploads_examples_with_a_fake_client(run_dir, monkeypatch, capsys):
    client = FakeClient()
    monkeypatch.setenv("LANGSMITH_API_KEY", "test-key")
    monkeypatch.setattr(langsmith_export, "make_client", lambda: client)
    assert export_cli.run(parse(str(run_dir), "--to", "langsmith", "my-data")) == 0
    out = capsys.readouterr().out
    assert "uploaded 2 item(s) to LangSmith dataset my-data (ds-1)" in out
    assert "skipped 1 invalid line(s), 1 duplicate id(s)" in out
    assert [d["name"] for d in client.datasets] == ["my-data"]
    assert [e["inputs"] for e in client.examples] == [
        {"context": "Context 0.", "question": "Question 0?"},
        {"context": "Context 1.", "question": "Question 1?"},
    ]
    assert client.examples[0]["outputs"] == {
        "answer": "Answer 0.",
        "rubric": [{"id": 1, "description": "names the answer", "points": 3}],
    }
    assert client.examples[1]["outputs"] == {"answer": "Answer 1.", "rubric": []}
    assert (
        client.examples[0]["metadata"]["id"] == "item0"
        and client.examples[1]["metadata"]["mode"] == "verifiable"
    )


def test_existing_dataset_and_unknown_target_are_errors(run_dir, monkeypatch, capsys):
    monkeypatch.setenv("LANGSMITH_API_KEY", "test-key")
    client = FakeClient(existing={"taken"})
    monkeypatch.setattr(langsmith_export, "make_client", lambda: client)
    assert export_cli.run(parse(str(run_dir), "--to", "langsmith", "taken")) == 2
    assert "already exists" in capsys.readouterr().err and not client.examples
    assert export_cli.run(parse(str(run_dir), "--to", "s3", "x")) == 2
    assert "unknown upload target 's3'" in capsys.readouterr().err


def test_empty_run_uploads_nothing(tmp_path, monkeypatch, capsys):
    (tmp_path / "accepted.jsonl").write_text("")
    client = FakeClient()
    with pytest.raises(ExportError, match="no accepted items"):
        langsmith_export.upload(tmp_path, "x", client=client)
    assert not client.datasets
