"""autodata report: one self-contained HTML file, rendered in headless Chromium without errors."""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest

pytest.importorskip("matplotlib")

from fake_run import ACCEPTED_QUESTION, ADVICE, FORMAT_QUESTION, QUALITY_QUESTION, TOO_EASY_QUESTION

from autodata.cli import report as report_cli
from autodata.evals.report import build_report, write_report
from autodata.evals.trajectory import read_trajectories

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
    # nothing is loaded from anywhere: no URLs, no script or stylesheet files (one inline script: the filter)
    assert page.count("<script>") == 1 and not re.search(r"<script[^>]*src", page) and "<link" not in page
    assert not re.search(r"(src|href)=\"(?!data:|#)", page)
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


def unit_html(page: str, prefix: str, unit_id: str) -> str:
    """The HTML of one unit's trajectory section in the page."""
    found = re.search(rf'<section class="unit" id="{prefix}unit-{unit_id}".*?</section>', page, re.S)
    assert found, f"no trajectory of unit {unit_id}"
    return found.group(0)


def rounds_html(unit: str) -> list[str]:
    """The HTML of each round of a unit's trajectory, in order."""
    return unit.split('<ol class="rounds">', 1)[1].split("<li ")[1:]


def test_the_data_accepted_items_rejected_samples_and_trajectories(fake_run):
    page = build_report([fake_run])
    cache, eviction = read_trajectories(fake_run)
    for heading in ("Accepted items (1)", "Rejected rounds by reason", "Trajectories (2 units)"):
        assert heading in page
    # the accepted item in full
    items = re.search(r'<article class="item".*?</article>', page, re.S).group(0)
    for text in (ACCEPTED_QUESTION, "Key B is evicted.", "A cache keeps recently used values", "Names key B"):
        assert text in items
    assert "weak 0.00, 0.00 (mean 0.00) · strong 1.00, 1.00 (mean 1.00) · gap +1.00" in items
    # a sample of rejected rounds per reason, with the candidate items in full
    samples = re.search(r"<h3>Rejected rounds by reason</h3>.*?<h3>", page, re.S).group(0)
    for reason, question in (("too_easy", TOO_EASY_QUESTION), ("format", FORMAT_QUESTION)):
        assert f"<h4>{reason}: 1 round, 1 shown</h4>" in samples and question in samples
    assert samples.count("<summary>candidate 0") == 3 and samples.count("Key B is evicted.") == 3
    # each unit's rounds in order, with the feedback sent next
    easy, accepted = rounds_html(unit_html(page, "r1-", cache["id"]))
    assert "round 1 (attempt 1)" in easy and ">too_easy</span>" in easy and TOO_EASY_QUESTION in easy
    assert "feedback sent next" in easy and ADVICE in easy and "TOO EASY" in easy
    assert "round 2" in accepted and ">accepted</span>" in accepted and ACCEPTED_QUESTION in accepted
    second = unit_html(page, "r1-", eviction["id"])
    assert FORMAT_QUESTION in second and QUALITY_QUESTION in second and "answerable by recall" in second
    assert f'data-doc="{eviction["document"]}" data-reasons="format quality"' in second
    # the filter controls: every document and reason of the page
    assert '<select id="filter-doc">' in page and '<select id="filter-reason">' in page
    for value in (cache["document"], eviction["document"], "too_easy", "accepted", "format", "quality"):
        assert f'<option value="{value}">' in page
    # what a browser without JavaScript shows: every unit and item, and no filter bar that does nothing
    page_elements = elements(page)
    assert "hidden" in page_elements.controls["filters"] and "<noscript>" in page
    # 1 item, 3 rejected samples, 2 rows of the units table, 2 trajectories
    assert len(page_elements.filtered) == 8 and not [e for e in page_elements.filtered if "hidden" in e]


def test_at_most_three_rejected_rounds_per_reason_and_old_runs_render(tmp_path):
    run = tmp_path / "old"
    run.mkdir()
    (run / "accepted.jsonl").write_text("")
    # as runs wrote them before feedback_next and the candidates' items were recorded
    rows = [
        {"id": f"d{i}-a1", "source": {"path": f"doc{i}.md", "span": [0, 9]}, "round": 1, "attempt": 1,
         "reason": "too_easy", "detail": "weak mean 1.00", "question": f"Question number {i}?",
         "weak_scores": [1.0], "strong_scores": [],
         "screenings": [{"index": 0, "reason": "passed", "feedback": ""}]}
        for i in range(5)
    ]  # fmt: skip
    _jsonl(run / "rejected.jsonl", rows)
    page = build_report([run])
    assert "<h4>too_easy: 5 rounds, 3 shown</h4>" in page
    samples = re.search(r"<h3>Rejected rounds by reason</h3>.*?<h3>", page, re.S).group(0)
    assert sum(f"Question number {i}?" in samples for i in range(5)) == 3
    assert all(f"Question number {i}?" in page for i in range(5))  # every trajectory is there
    assert "feedback sent next" not in page


class Elements(HTMLParser):
    """The attributes of every element with a ``data-doc``, and of the filter controls."""

    def __init__(self):
        super().__init__()
        self.filtered: list[dict] = []
        self.controls: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "data-doc" in attributes:
            self.filtered.append({"tag": tag, **attributes})
        if attributes.get("id") in ("filters", "filter-doc", "filter-reason"):
            self.controls[attributes["id"]] = attributes


def elements(dom: str) -> Elements:
    parser = Elements()
    parser.feed(dom)
    return parser


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_chromium
def test_report_renders_in_headless_chromium(tmp_path, fake_run):
    full, empty = make_runs(tmp_path)
    path = write_report([full, empty, fake_run], tmp_path / "report.html")
    url = path.resolve().as_uri()
    cache, eviction = read_trajectories(fake_run)

    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>autodata report</h1>" in dom.stdout
    for heading in ("Comparison", "Run: agentic", "Run: baseline", "Run: run", "Taxonomy", "Trajectories"):
        assert heading in dom.stdout
    # the 7 plots of the two hand-written runs, and the fake run's scores, gaps, rounds and rejections
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', dom.stdout)) == 11
    problems = [line for line in dom.stderr.splitlines() if PAGE_PROBLEMS.search(line)]
    assert not problems, problems
    # a given unit's trajectory is in the rendered page: its questions and reasons, in order
    easy, accepted = rounds_html(unit_html(dom.stdout, "r3-", cache["id"]))
    assert TOO_EASY_QUESTION in easy and ">too_easy</span>" in easy and ADVICE in easy
    assert ACCEPTED_QUESTION in accepted and ">accepted</span>" in accepted
    # the filter controls exist and the script showed them; with no filter nothing is hidden
    page = elements(dom.stdout)
    assert set(page.controls) == {"filters", "filter-doc", "filter-reason"}
    assert "hidden" not in page.controls["filters"]
    assert page.filtered and not [e for e in page.filtered if "hidden" in e]

    # a filter in the address (#doc=...&reason=...): only that document's units and items stay
    fragment = urlencode({"doc": cache["document"], "reason": "too_easy"})
    filtered = _chromium(tmp_path, "--dump-dom", f"{url}#{fragment}")
    assert filtered.returncode == 0, filtered.stderr[-2000:]
    shown = [e for e in elements(filtered.stdout).filtered if "hidden" not in e]
    assert shown and {e["data-doc"] for e in shown} == {cache["document"]}
    assert all("too_easy" in e["data-reasons"].split() for e in shown)
    assert unit_html(filtered.stdout, "r3-", eviction["id"]).split(">", 1)[0].endswith('hidden=""')
    assert "1 unit(s) shown" in filtered.stdout

    shot = tmp_path / "report.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
    problems = [line for line in result.stderr.splitlines() if PAGE_PROBLEMS.search(line)]
    assert not problems, problems
