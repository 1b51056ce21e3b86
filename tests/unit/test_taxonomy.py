"""autodata taxonomy: gap-stratified discovery, consolidation, per-item assignment, counted failures."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from fakes import FakeRegistry

from autodata.cli import taxonomy as taxonomy_cli
from autodata.graphs.taxonomy import build_graph
from autodata.nodes.taxonomy import (
    TaxonomyContext,
    match_assignments,
    stratified_sample,
    to_entries,
)

TYPES = [
    {"name": "Procedural simulation", "definition": "Trace a process step by step.", "category": "reasoning"},
    {"name": "Definition recall", "definition": "Recall what a term means.", "category": "knowledge"},
    {"name": "Causal explanation", "definition": "Name the cause of an effect.", "category": "mixed"},
]


def records(n: int) -> list[dict]:
    out = []
    for i in range(n):
        kind = ("simulate", "define", "cause")[i % 3]
        out.append(
            {
                "id": f"item{i}",
                "question": f"Q{i}: {kind} question number {i}?",
                "question_type": kind,
                "weak_mean": 0.0,
                "strong_mean": round(i / n, 3),
                "gap": round(i / n, 3),
            }
        )
    return out


def write_run(tmp_path, recs) -> str:
    run = tmp_path / "run"
    run.mkdir()
    (run / "accepted.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return str(run)


def judge_reply(messages, *, bad_ids=(), skip_ids=()):
    """Answers discover / consolidate / assign prompts like a well-behaved model, except for the items
    whose ids are in ``bad_ids`` (an unknown type) or ``skip_ids`` (left out)."""
    text = "\n".join(str(m.content) for m in messages)
    if "discover what kinds of questions" in text:
        return {
            "types": [
                {"name": "step tracing", "definition": "Follow a procedure step by step."},
                {"name": "term meaning", "definition": "Say what a term means."},
                {"name": "why questions", "definition": "Explain why something happens."},
            ]
        }
    if "consolidate proposed question types" in text:
        return {"types": [*TYPES, {**TYPES[0], "name": "procedural  SIMULATION"}]}  # a duplicate name
    items = re.findall(r"^(\d+)\. Q(\d+): (\w+)", text.split("# Items", 1)[1], flags=re.MULTILINE)
    names = {
        "simulate": "Procedural simulation",
        "define": "definition recall",
        "cause": "Causal explanation",
    }
    out = []
    for number, qid, kind in items:
        if f"item{qid}" in skip_ids:
            continue
        name = "Temporal reasoning" if f"item{qid}" in bad_ids else names[kind]
        out.append({"item": int(number), "type": name})
    return {"assignments": out}


async def run_graph(recs, registry, **ctx):
    context = TaxonomyContext(models=registry, **ctx)
    return (await build_graph().ainvoke({"items": recs}, context=context))["taxonomy"]


def test_stratified_sample_covers_every_gap_quantile():
    entries = to_entries(records(100))
    sample = stratified_sample(entries, 20, strata=4, seed=1)
    assert len(sample) == 20 and len({e["id"] for e in sample}) == 20
    gaps = [e["gap"] for e in sample]
    assert gaps == sorted(gaps)
    for lo, hi in ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)):
        assert sum(lo <= g < hi for g in gaps) == 5
    assert stratified_sample(entries, 20, seed=1) == sample  # seeded
    assert len(stratified_sample(entries[:5], 20)) == 5  # fewer items than the sample: all of them


async def test_taxonomy_assigns_every_item_and_reports_the_distribution():
    recs = records(12)
    registry = FakeRegistry({"judge": [judge_reply]})
    tax = await run_graph(recs, registry, sample=6, discover_chunk=3, batch_size=5)
    prompts = registry.prompts("judge")
    assert sum("discover what kinds" in p for p in prompts) == 2  # 6 sampled items, chunks of 3
    assert sum("consolidate proposed" in p for p in prompts) == 1
    assert sum("classify question/answer items" in p for p in prompts) == 3  # 12 items, batches of 5
    assert [t["name"] for t in tax["types"]] == [t["name"] for t in TYPES]  # duplicate merged
    assert tax["items"] == 12 and tax["sample_size"] == 6 and tax["unassigned"] == 0
    assert {d["type"]: d["count"] for d in tax["distribution"]} == {
        "Procedural simulation": 4,
        "Definition recall": 4,
        "Causal explanation": 4,
    }
    assert tax["categories"] == {"reasoning": 4, "knowledge": 4, "mixed": 4, "(unassigned)": 0}
    by_id = {a["id"]: a["type"] for a in tax["assignments"]}
    assert by_id["item1"] == "Definition recall"  # case-insensitive name match, canonical name kept
    assert tax["parse_failures"]["total"] == 0
    assert tax["calls"]["judge"]["calls"] == 6
    assert len(tax["proposals"]) == 6


async def test_unknown_type_and_missing_items_are_counted_parse_failures():
    recs = records(9)
    registry = FakeRegistry(
        {"judge": [lambda m: judge_reply(m, bad_ids={"item0", "item4"}, skip_ids={"item8"})]}
    )
    tax = await run_graph(recs, registry, sample=9, batch_size=4)
    failures = tax["parse_failures"]
    assert failures["items"] == 3 and failures["by_phase"] == {"assign": 3}
    reasons = {f["id"]: f["reason"] for f in failures["details"]}
    assert reasons["item0"].startswith("unknown type 'Temporal reasoning'")
    assert reasons["item8"] == "missing from the reply"
    assert tax["unassigned"] == 3
    assert sum(d["count"] for d in tax["distribution"]) == 6
    assert {a["id"]: a["type"] for a in tax["assignments"]}["item4"] is None


async def test_failed_assignment_call_fails_its_whole_batch():
    recs = records(6)

    def reply(messages):
        text = "\n".join(str(m.content) for m in messages)
        if "Q0:" in text and "classify" in text:
            return "this is not json"
        return judge_reply(messages)

    registry = FakeRegistry({"judge": [reply]})
    tax = await run_graph(recs, registry, batch_size=3)
    assert tax["parse_failures"]["items"] == 3
    assert all(f["reason"].startswith("call failed") for f in tax["parse_failures"]["details"])
    assert tax["unassigned"] == 3


def test_match_assignments_rejects_duplicates_and_out_of_range():
    entries = to_entries(records(3))
    types = [dict(t) for t in TYPES]
    assignments, failures = match_assignments(
        entries,
        types,
        [(1, "Definition recall"), (1, "Causal explanation"), (2, "definition recall"), (7, "x")],
    )
    assert assignments == [{"id": "item1", "type": "Definition recall"}]
    assert {f["id"]: f["reason"] for f in failures} == {
        "item0": "assigned more than once",
        "item2": "missing from the reply",
    }


async def test_no_discovered_types_is_an_error_not_a_crash():
    registry = FakeRegistry({"judge": ["not json at all"]})
    tax = await run_graph(records(4), registry)
    assert tax["error"] and "no question types" in tax["error"]
    assert tax["parse_failures"]["by_phase"] == {"discover": 1}
    assert tax["unassigned"] == 4 and tax["distribution"] == []


async def test_empty_run():
    tax = await run_graph([], FakeRegistry({"judge": [judge_reply]}))
    assert tax["items"] == 0 and tax["distribution"] == [] and tax["error"] is None


def test_cli_writes_taxonomy_json(tmp_path, monkeypatch):
    run = write_run(tmp_path, records(7))
    registry = FakeRegistry({"judge": [judge_reply]})
    import autodata.cli.support

    monkeypatch.setattr(autodata.cli.support, "OpenAIModelRegistry", lambda config, **services: registry)
    registry.preflight = lambda: None
    parser = argparse.ArgumentParser()
    taxonomy_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["taxonomy", run, "--max-types", "2", "--sample", "4", "--profile", "openai"])
    assert taxonomy_cli.run(args) == 0
    tax = json.loads((tmp_path / "run" / "taxonomy.json").read_text())
    assert len(tax["types"]) == 2 and tax["max_types"] == 2
    assert tax["parse_failures"]["by_phase"]["consolidate"] == 1  # 3 types returned, more than 2
    # items of the dropped third type name an unknown type now: counted, not hidden
    assert tax["parse_failures"]["items"] == tax["unassigned"] == 2
    assert len(tax["assignments"]) == 7


def test_cli_rejects_a_directory_without_accepted_items(tmp_path):
    parser = argparse.ArgumentParser()
    taxonomy_cli.add_parser(parser.add_subparsers(dest="command"))
    assert taxonomy_cli.run(parser.parse_args(["taxonomy", str(tmp_path)])) == 2


def test_cli_end_to_end_on_the_fake_openai_server(tmp_path, capsys):
    from autodata.evals.fake_openai_server import FakeOpenAIServer, serve_in_thread

    run = write_run(tmp_path, records(10))
    config = str(Path(__file__).parents[1] / "fake_models.toml")
    parser = argparse.ArgumentParser()
    taxonomy_cli.add_parser(parser.add_subparsers(dest="command"))
    with serve_in_thread(FakeOpenAIServer()) as base_url:
        args = parser.parse_args(
            ["taxonomy", run, "--config", config, "--set", f"all.base_url={base_url}", "--batch-size", "4"]
        )
        assert taxonomy_cli.run(args) == 0
    tax = json.loads((tmp_path / "run" / "taxonomy.json").read_text())
    assert len(tax["types"]) == 3 and tax["parse_failures"]["total"] == 0
    assert sum(d["count"] for d in tax["distribution"]) == 10 and tax["unassigned"] == 0
    assert tax["calls"]["judge"]["calls"] == 1 + 1 + 3  # one discover chunk, consolidate, 3 batches
    assert "wrote" in capsys.readouterr().err
