"""Fault test: `autodata generate` killed with SIGKILL mid-run, then resumed, ends as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
FAKE_MODELS = ROOT / "tests" / "fake_models.toml"
QUIET_ENV = {
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TEST_TRACKING": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
}
DOCUMENTS = 8


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by the kill
    return out


def write_documents(folder: Path) -> Path:
    folder.mkdir()
    topics = [
        "caches",
        "tenancy notice",
        "queues",
        "leases",
        "hash maps",
        "rent periods",
        "stacks",
        "deadlines",
    ]
    for i, topic in enumerate(topics[:DOCUMENTS]):
        (folder / f"note{i}.md").write_text(
            f"# Note {i} on {topic}\n\nAn LRU cache of capacity two evicts the least recently used key when "
            f"it is full; note {i} works through {topic} step by step.\n",
            encoding="utf-8",
        )
    return folder


def command(docs: Path, out: Path, base_url: str) -> list[str]:
    # one document at a time: which of two near-duplicate questions is kept then does not depend on timing
    return [
        sys.executable,
        "-m",
        "autodata.cli",
        "generate",
        str(docs),
        "--out",
        str(out),
        "--config",
        str(FAKE_MODELS),
        "--set",
        f"all.base_url={base_url}",
        "--concurrency",
        "1",
        "--max-rounds",
        "2",
    ]


def run_to_completion(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **QUIET_ENV}, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_sigkill_mid_run_then_resume_matches_an_uninterrupted_run(tmp_path):
    docs = write_documents(tmp_path / "docs")
    killed_out, clean_out = tmp_path / "killed", tmp_path / "clean"
    server = FakeOpenAIServer(latency=0.05)
    with serve_in_thread(server) as base_url:
        proc = subprocess.Popen(
            command(docs, killed_out, base_url),
            cwd=ROOT,
            env={**os.environ, **QUIET_ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not read_jsonl(killed_out / "accepted.jsonl"):
                assert proc.poll() is None, "generate exited before the first accepted item"
                assert time.monotonic() < deadline, "no accepted item within 60 s"
                time.sleep(0.02)
            assert proc.poll() is None, "generate finished before it could be killed"
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert not (killed_out / "summary.json").exists()  # it really died mid-run
        interrupted = {a["id"] for a in read_jsonl(killed_out / "accepted.jsonl")}

        run_to_completion(command(docs, killed_out, base_url))  # the same command resumes
        sent_killed_and_resumed = server.stats()["requests"]
        run_to_completion(command(docs, clean_out, base_url))
        sent_clean = server.stats()["requests"] - sent_killed_and_resumed

    # no call answered before the kill is sent again (the response cache replays it): at most the requests
    # in flight when it died are repeated (one document at a time, at most k = 2 parallel requests)
    assert sent_clean <= sent_killed_and_resumed <= sent_clean + 2

    accepted = read_jsonl(killed_out / "accepted.jsonl")
    rejected = read_jsonl(killed_out / "rejected.jsonl")
    ids = Counter(a["id"] for a in accepted)
    assert all(n == 1 for n in ids.values()), ids  # no duplicates
    assert interrupted <= set(ids)
    assert len(Counter(r["id"] for r in rejected)) == len(rejected)
    clean_accepted = read_jsonl(clean_out / "accepted.jsonl")
    clean_rejected = read_jsonl(clean_out / "rejected.jsonl")
    assert set(ids) == {a["id"] for a in clean_accepted}
    assert {r["id"] for r in rejected} == {r["id"] for r in clean_rejected}

    summary = json.loads((killed_out / "summary.json").read_text())
    clean = json.loads((clean_out / "summary.json").read_text())
    assert summary["documents"] == DOCUMENTS == sum(summary["finished"].values())  # every doc accounted for
    assert summary["errors"] == [] and summary["stopped"] is None
    assert summary["finished"] == clean["finished"]
    assert (summary["accepted"], summary["duplicates"]) == (clean["accepted"], clean["duplicates"])
    assert summary["accepted"] == len(accepted) >= 1
    # every document left a trace: an accepted item, a duplicate or rejected rounds
    sources = {a["source"]["path"] for a in accepted} | {r["source"]["path"] for r in rejected}
    assert sources == {str(p) for p in docs.iterdir()}
