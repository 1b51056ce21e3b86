"""The real-document corpus and the agentic-vs-CoT comparison script (on the fake OpenAI server)."""

import json
import os
import time
from pathlib import Path

import pytest

from autodata.data.documents import load_documents
from autodata.evals import compare_methods, corpus
from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread

FAKE_CONFIG = str(Path(__file__).parents[1] / "fake_models.toml")


def test_corpus_has_four_real_documents_of_each_kind(tmp_path):
    manifest = corpus.build_corpus(tmp_path)
    assert [sum(e["kind"] == k for e in manifest) for k in corpus.KINDS] == [4, 4, 4]
    loaded = load_documents([str(tmp_path)])
    assert len(loaded.documents) == 12 and not loaded.skipped  # manifest.json is not read as a document
    for entry in manifest:
        text = (tmp_path / entry["path"]).read_text(encoding="utf-8")
        assert len(text.split()) >= 80 and entry["licence"] and entry["source"]
    saved = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert saved == manifest and len({e["sha256"] for e in saved}) == 12


def test_between_cuts_whole_lines_and_names_what_is_missing():
    text = "   1. One rule.\n   more of it.\n   2. Next.\n"
    assert corpus.between(text, "1. One", "2. Next", where="t") == "1. One rule.\nmore of it."
    with pytest.raises(corpus.CorpusError, match=r"'3\. Gone' not found"):
        corpus.between(text, "3. Gone", None, where="t")


def test_a_missing_licence_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "LICENSES_DIR", tmp_path / "nowhere")
    with pytest.raises(corpus.CorpusError, match=r"Apache-2\.0 is missing"):
        corpus.build_corpus(tmp_path / "out")


def test_compare_methods_runs_both_methods_and_re_solves(tmp_path, capsys):
    with serve_in_thread(FakeOpenAIServer()) as base_url:
        code = compare_methods.main(
            [
                "--out", str(tmp_path), "--modes", "verifiable", "--max-rounds", "1", "--samples", "1",
                "--eval-samples", "1", "--config", FAKE_CONFIG, "--set", f"all.base_url={base_url}",
            ]
        )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "documents: 12" in printed
    for run in ("cot-verifiable", "agentic-verifiable"):
        row = next(line for line in printed.splitlines() if line.startswith(f"| {run} |"))
        summary = json.loads((tmp_path / run / "summary.json").read_text())
        assert f"| {run} | {summary['documents']} | {summary['rounds']} |" in row
        if summary["accepted"]:
            metrics = json.loads((tmp_path / run / "evaluation.json").read_text())["metrics"]
            assert metrics["items"] == summary["accepted"]
    assert "| paper, CS, agentic |" in printed


def test_a_resumed_comparison_re_solves_only_runs_whose_items_changed(tmp_path):
    run = tmp_path / "agentic-verifiable"
    run.mkdir()
    assert not compare_methods.needs_evaluation(run)  # no accepted.jsonl
    (run / "accepted.jsonl").write_text("")
    assert not compare_methods.needs_evaluation(run)  # nothing accepted
    (run / "accepted.jsonl").write_text('{"id": "a"}\n')
    assert compare_methods.needs_evaluation(run)
    (run / "evaluation.json").write_text("{}")
    assert not compare_methods.needs_evaluation(run)
    os.utime(run / "accepted.jsonl", (time.time() + 5, time.time() + 5))  # a later resume accepted more
    assert compare_methods.needs_evaluation(run)
