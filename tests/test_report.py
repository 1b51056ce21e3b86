"""autodata report: one self-contained HTML file, rendered in headless Chromium without errors."""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from autodata import report_cli
from autodata.report import build_report, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install -y chromium)"
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
# what Chromium logs for page problems: JS errors, console output, failed loads
PAGE_PROBLEMS = re.compile(r"Uncaught|CONSOLE|SyntaxError|TypeError|ReferenceError|net::ERR_|Failed to load")


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_runs(tmp_path: Path) -> tuple[Path, Path]:
    """``full``: accepted items, rejections, a taxonomy and an evaluation; ``empty``: only rejections."""
    full = tmp_path / "agentic"
    full.mkdir()
    accepted = []
    for i in range(8):
        weak = [0.0, 0.25 * (i % 3)]
        strong = [1.0, 0.75]
        accepted.append(
            {
                "id": f"a{i}",
                "question": f"Question <{i}> about caches & eviction order number {i}?",
                "context": "A cache keeps recently used values.",
                "answer": "Key B is evicted.",
                "rubric": [{"id": 1, "description": "Names key B", "points": 3}],
                "mode": "rubric",
                "weak_scores": weak,
                "strong_scores": strong,
                "weak_mean": sum(weak) / 2,
                "strong_mean": sum(strong) / 2,
                "gap": sum(strong) / 2 - sum(weak) / 2,
                "rounds": 1 + i % 4,
            }
        )
    _jsonl(full / "accepted.jsonl", accepted)
    _jsonl(
        full / "rejected.jsonl",
        [
            {"id": f"r{i}", "reason": reason}
            for i, reason in enumerate(["too_easy"] * 5 + ["leakage", "format"])
        ],
    )
    (full / "taxonomy.json").write_text(
        json.dumps(
            {
                "items": 8,
                "types": [
                    {
                        "name": "Procedural simulation",
                        "definition": "Trace a process.",
                        "category": "reasoning",
                    },
                    {"name": "Definition recall", "definition": "Recall a term.", "category": "knowledge"},
                ],
                "distribution": [
                    {"type": "Procedural simulation", "category": "reasoning", "count": 5, "share": 0.625},
                    {"type": "Definition recall", "category": "knowledge", "count": 2, "share": 0.25},
                ],
                "unassigned": 1,
                "parse_failures": {"total": 1, "items": 1, "by_phase": {"assign": 1}, "details": []},
                "error": None,
            }
        )
    )
    (full / "evaluation.json").write_text(
        json.dumps(
            {
                "samples": 4,
                "metrics": {
                    "items": 8,
                    "scored_items": 8,
                    "weak_mean": 0.21,
                    "strong_mean": 0.81,
                    "gap": 0.6,
                    "gap_ci95": [0.5, 0.7],
                },
            }
        )
    )
    empty = tmp_path / "baseline"
    empty.mkdir()
    (empty / "accepted.jsonl").write_text("")
    _jsonl(
        empty / "rejected.jsonl", [{"id": "x", "reason": "too_easy"}, {"id": "y", "reason": "call_failed"}]
    )
    return full, empty


def test_report_is_self_contained_and_complete(tmp_path):
    full, empty = make_runs(tmp_path)
    page = build_report([full, empty])
    assert "<h2>Comparison</h2>" in page
    for heading in ("Run: agentic", "Run: baseline", "Scores", "Rounds", "Rejections", "Taxonomy"):
        assert heading in page
    assert "no accepted items" in page
    assert "evaluation.json (k=4)" in page and "accepted.jsonl (generation scores)" in page
    assert "[+0.500, +0.700]" in page  # the CI from evaluation.json
    # nothing is loaded from anywhere: no URLs, no scripts, no stylesheets
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert not re.search(r"https?://", page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    # comparison + (scores, gap, rounds, rejections, taxonomy) + rejections of the empty run
    assert len(images) == 7
    for data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")


def test_single_empty_run_says_so(tmp_path):
    run = tmp_path / "nothing"
    run.mkdir()
    (run / "accepted.jsonl").write_text("")
    page = build_report([run])
    assert "<h2>Metrics</h2>" in page and "no accepted items" in page and "no rejected rounds" in page
    assert "data:image/png" not in page


def test_cli_writes_the_file_and_rejects_non_runs(tmp_path, capsys):
    full, _ = make_runs(tmp_path)
    parser = argparse.ArgumentParser()
    report_cli.add_parser(parser.add_subparsers(dest="command"))
    assert report_cli.run(parser.parse_args(["report", str(full)])) == 0
    assert (full / "report.html").is_file()
    out = tmp_path / "sub" / "r.html"
    assert report_cli.run(parser.parse_args(["report", str(full), "--out", str(out)])) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert report_cli.run(parser.parse_args(["report", str(tmp_path / "missing")])) == 2
    assert "not a run directory" in capsys.readouterr().err


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_chromium
def test_report_renders_in_headless_chromium(tmp_path):
    full, empty = make_runs(tmp_path)
    path = write_report([full, empty], tmp_path / "report.html")
    url = path.resolve().as_uri()

    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>autodata report</h1>" in dom.stdout
    for heading in ("Comparison", "Run: agentic", "Run: baseline", "Taxonomy"):
        assert heading in dom.stdout
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', dom.stdout)) == 7
    problems = [line for line in dom.stderr.splitlines() if PAGE_PROBLEMS.search(line)]
    assert not problems, problems

    shot = tmp_path / "report.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
    problems = [line for line in result.stderr.splitlines() if PAGE_PROBLEMS.search(line)]
    assert not problems, problems
