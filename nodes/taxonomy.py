"""Two-phase taxonomy of a finished run's accepted items (README.md, "Evaluating and comparing").

    load -> discover (one call per chunk of a gap-stratified sample, in parallel via Send)
         -> consolidate (at most ``max_types`` non-overlapping types, each reasoning/knowledge/mixed)
         -> assign (every item to exactly one type, batches in parallel via Send) -> summarize

Every call goes to one role model (the judge's unless configured otherwise). Failures are never hidden:
a failed call, a reply that names an unknown type, skips an item or names it twice is counted per item in
``failures`` and reported in the result; those items stay unassigned.
"""

from __future__ import annotations

import operator
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, TypeVar

from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypedDict

from autodata.core.records import CallRecord, read_accepted
from autodata.llm.accounting import summarize_calls
from autodata.llm.calls import call_structured
from autodata.llm.models import registry_of
from autodata.nodes.common import runtime_context
from autodata.prompts.loader import load_prompt
from autodata.rules.schemas import ConsolidateOut, DiscoverOut, assign_schema

CATEGORIES = ("reasoning", "knowledge", "mixed")
UNASSIGNED = "(unassigned)"
QUESTION_CHARS = 400


@dataclass
class TaxonomyContext:
    max_types: int = 11
    """At most this many question types after consolidation."""
    sample: int = 40
    """Items in the discovery sample (stratified by challenge score: strong - weak gap quantiles)."""
    strata: int = 4
    """Gap quantile bins the sample is drawn from."""
    discover_chunk: int = 20
    """Sampled items shown per discovery call (the chunks are discovered in parallel)."""
    batch_size: int = 8
    """Items per assignment call (the batches are assigned in parallel)."""
    role: str = "judge"
    """The role whose model does the annotation."""
    seed: int = 0
    profile: str = "local"
    config_path: str | None = None
    overrides: tuple[str, ...] = ()
    models: SkipJsonSchema[Any] = None
    """A ModelRegistry. None: ``registry_of`` builds one from ``profile`` / ``config_path`` / ``overrides``
    on first use (tests inject fakes here)."""


class TaxItem(TypedDict):
    id: str
    question: str
    question_type: str
    gap: float | None


class TaxType(TypedDict):
    name: str
    definition: str
    category: str


class Failure(TypedDict):
    phase: str
    id: str | None
    reason: str


class Assignment(TypedDict):
    id: str
    type: str


class TaxonomyInput(TypedDict):
    run_dir: NotRequired[str]
    items: NotRequired[list[dict[str, Any]]]
    """Accepted records; when absent they are read from ``run_dir/accepted.jsonl``."""


class TaxonomyState(TypedDict):
    run_dir: NotRequired[str]
    items: NotRequired[list[dict[str, Any]]]
    entries: NotRequired[list[TaxItem]]
    sample_ids: NotRequired[list[str]]
    proposals: Annotated[list[dict[str, str]], operator.add]
    types: NotRequired[list[TaxType]]
    assignments: Annotated[list[Assignment], operator.add]
    failures: Annotated[list[Failure], operator.add]
    calls: Annotated[list[CallRecord], operator.add]
    error: NotRequired[str | None]
    taxonomy: NotRequired[dict[str, Any]]


class ChunkState(TypedDict):
    chunk: list[TaxItem]
    max_types: int


class BatchState(TypedDict):
    batch: list[TaxItem]
    types: list[TaxType]


def tax_context(runtime: Runtime[TaxonomyContext] | None) -> TaxonomyContext:
    return runtime_context(runtime, TaxonomyContext)


# ---------------------------------------------------------------------------------------------- helpers


def _gap(record: dict[str, Any]) -> float | None:
    if isinstance(record.get("gap"), int | float):
        return float(record["gap"])
    weak, strong = record.get("weak_mean"), record.get("strong_mean")
    if isinstance(weak, int | float) and isinstance(strong, int | float):
        return float(strong) - float(weak)
    return None


def to_entries(records: list[dict[str, Any]]) -> list[TaxItem]:
    entries = []
    for i, r in enumerate(records):
        entries.append(
            TaxItem(
                id=str(r.get("id") or f"item{i}"),
                question=str(r.get("question", "")),
                question_type=str(r.get("question_type", "")),
                gap=_gap(r),
            )
        )
    return entries


def stratified_sample(entries: list[TaxItem], size: int, strata: int = 4, seed: int = 0) -> list[TaxItem]:
    """``size`` items drawn evenly from ``strata`` gap-quantile bins (seeded; all items if fewer).

    Items without a gap form their own bin. The sample is returned from easy (small gap) to hard."""
    if size <= 0 or len(entries) <= size:
        return sorted(entries, key=lambda e: (e["gap"] is None, e["gap"] or 0.0))
    rng = random.Random(seed)
    scored = sorted((e for e in entries if e["gap"] is not None), key=lambda e: e["gap"] or 0.0)
    bins: list[list[TaxItem]] = []
    n_bins = max(1, min(strata, len(scored)))
    for i in range(n_bins):
        lo, hi = len(scored) * i // n_bins, len(scored) * (i + 1) // n_bins
        bins.append(scored[lo:hi])
    unscored = [e for e in entries if e["gap"] is None]
    if unscored:
        bins.append(unscored)
    for b in bins:
        rng.shuffle(b)
    picked: list[TaxItem] = []
    while len(picked) < size:  # round-robin over the bins keeps every stratum represented
        for b in bins:
            if b and len(picked) < size:
                picked.append(b.pop())
    return sorted(picked, key=lambda e: (e["gap"] is None, e["gap"] or 0.0))


def _line(number: int, entry: TaxItem, with_gap: bool) -> str:
    question = " ".join(entry["question"].split())[:QUESTION_CHARS]
    label = f" [labelled: {entry['question_type']}]" if entry["question_type"] else ""
    gap = f" (gap {entry['gap']:+.2f})" if with_gap and entry["gap"] is not None else ""
    return f"{number}. {question}{label}{gap}"


def normalize_name(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", name.lower()).split())


T = TypeVar("T")


def _chunks(values: list[T], size: int) -> list[list[T]]:
    size = max(1, size)
    return [values[i : i + size] for i in range(0, len(values), size)]


def _metadata(phase: str, **extra: Any) -> dict[str, Any]:
    return {"analysis": "taxonomy", "phase": phase, **extra}


# ---------------------------------------------------------------------------------------------- nodes


def load(state: TaxonomyState, runtime: Runtime[TaxonomyContext]) -> dict[str, Any]:
    ctx = tax_context(runtime)
    records = state.get("items")
    if records is None:
        if not state.get("run_dir"):
            return {"error": "give run_dir or items", "entries": [], "sample_ids": []}
        try:
            records = read_accepted(state["run_dir"], model=None).records
        except OSError as exc:
            return {"error": str(exc), "entries": [], "sample_ids": []}
    entries = to_entries(records)
    sample = stratified_sample(entries, ctx.sample, ctx.strata, ctx.seed)
    return {"entries": entries, "sample_ids": [e["id"] for e in sample], "error": None}


def route_discover(state: TaxonomyState, runtime: Runtime[TaxonomyContext]) -> list[Send] | str:
    ctx = tax_context(runtime)
    if state.get("error") or not state.get("entries"):
        return "summarize"
    by_id = {e["id"]: e for e in state["entries"]}
    sample = [by_id[i] for i in state["sample_ids"]]
    return [
        Send("discover", ChunkState(chunk=chunk, max_types=ctx.max_types))
        for chunk in _chunks(sample, ctx.discover_chunk)
    ]


async def discover(state: ChunkState, runtime: Runtime[TaxonomyContext]) -> dict[str, Any]:
    ctx = tax_context(runtime)
    chunk = state["chunk"]
    messages = load_prompt("taxonomy_discover").render(
        max_proposals=max(3, min(15, state["max_types"])),
        count=len(chunk),
        items="\n".join(_line(n, e, with_gap=True) for n, e in enumerate(chunk, 1)),
    )
    out, record = await call_structured(
        registry_of(ctx), ctx.role, messages, DiscoverOut, metadata=_metadata("discover")
    )
    if out is None:
        failures = [Failure(phase="discover", id=None, reason=record["error"] or "call failed")]
        return {"calls": [record], "failures": failures}
    proposals = [{"name": t.name, "definition": t.definition} for t in out.types if t.name]
    return {"calls": [record], "proposals": proposals}


async def consolidate(state: TaxonomyState, runtime: Runtime[TaxonomyContext]) -> dict[str, Any]:
    ctx = tax_context(runtime)
    proposals = state.get("proposals") or []
    if not proposals:
        return {"types": [], "error": "no question types were discovered (every discovery call failed)"}
    messages = load_prompt("taxonomy_consolidate").render(
        max_types=ctx.max_types,
        count=len(proposals),
        proposals="\n".join(f"- {p['name']}: {p['definition']}" for p in proposals),
    )
    out, record = await call_structured(
        registry_of(ctx), ctx.role, messages, ConsolidateOut, metadata=_metadata("consolidate")
    )
    if out is None:
        reason = record["error"] or "call failed"
        return {
            "calls": [record],
            "types": [],
            "failures": [Failure(phase="consolidate", id=None, reason=reason)],
            "error": f"consolidation failed: {reason}",
        }
    types: list[TaxType] = []
    seen: set[str] = set()
    failures = []
    for t in out.types:
        key = normalize_name(t.name)
        if not key or key in seen or key == normalize_name(UNASSIGNED):
            continue
        seen.add(key)
        types.append(TaxType(name=t.name, definition=t.definition, category=t.category))
    if len(types) > ctx.max_types:
        failures.append(
            Failure(
                phase="consolidate",
                id=None,
                reason=f"{len(types)} types returned, more than {ctx.max_types}; kept the first "
                f"{ctx.max_types}",
            )
        )
        types = types[: ctx.max_types]
    return {"calls": [record], "types": types, "failures": failures}


def route_assign(state: TaxonomyState, runtime: Runtime[TaxonomyContext]) -> list[Send] | str:
    ctx = tax_context(runtime)
    if not state.get("types"):
        return "summarize"
    return [
        Send("assign", BatchState(batch=batch, types=state["types"]))
        for batch in _chunks(state["entries"], ctx.batch_size)
    ]


def match_assignments(
    batch: list[TaxItem], types: list[TaxType], replies: list[tuple[int, str]]
) -> tuple[list[Assignment], list[Failure]]:
    """Map ``(item number, type name)`` replies back to items; everything else is a per-item failure."""
    names = {normalize_name(t["name"]): t["name"] for t in types}
    chosen: dict[int, str] = {}
    problems: dict[int, str] = {}
    for number, name in replies:
        if not 1 <= number <= len(batch):
            continue  # an item number that does not exist: nothing to attribute it to
        if number in chosen or number in problems:
            chosen.pop(number, None)
            problems[number] = "assigned more than once"
            continue
        canonical = names.get(normalize_name(name))
        if canonical is None:
            problems[number] = f"unknown type {name[:80]!r}"
        else:
            chosen[number] = canonical
    assignments, failures = [], []
    for number, entry in enumerate(batch, 1):
        if number in chosen:
            assignments.append(Assignment(id=entry["id"], type=chosen[number]))
        else:
            reason = problems.get(number, "missing from the reply")
            failures.append(Failure(phase="assign", id=entry["id"], reason=reason))
    return assignments, failures


async def assign(state: BatchState, runtime: Runtime[TaxonomyContext]) -> dict[str, Any]:
    ctx = tax_context(runtime)
    batch, types = state["batch"], state["types"]
    messages = load_prompt("taxonomy_assign").render(
        types="\n".join(f"- {t['name']} ({t['category']}): {t['definition']}" for t in types),
        items="\n".join(_line(n, e, with_gap=False) for n, e in enumerate(batch, 1)),
        count=len(batch),
        numbers=f"1-{len(batch)}" if len(batch) > 1 else "1",
    )
    schema = assign_schema([t["name"] for t in types])
    out, record = await call_structured(
        registry_of(ctx), ctx.role, messages, schema, metadata=_metadata("assign", items=len(batch))
    )
    if out is None:
        reason = f"call failed: {record['error']}"
        return {
            "calls": [record],
            "failures": [Failure(phase="assign", id=e["id"], reason=reason) for e in batch],
        }
    assignments, failures = match_assignments(batch, types, [(a.item, a.type) for a in out.assignments])
    return {"calls": [record], "assignments": assignments, "failures": failures}


def build_taxonomy(state: TaxonomyState, ctx: TaxonomyContext) -> dict[str, Any]:
    entries = state.get("entries") or []
    types = state.get("types") or []
    assigned = {a["id"]: a["type"] for a in state.get("assignments") or []}
    category = {t["name"]: t["category"] for t in types}
    counts = Counter(assigned.get(e["id"], UNASSIGNED) for e in entries)
    n = len(entries)
    distribution = [
        {
            "type": t["name"],
            "category": t["category"],
            "count": counts.get(t["name"], 0),
            "share": round(counts.get(t["name"], 0) / n, 4) if n else None,
        }
        for t in types
    ]
    by_category: Counter[str] = Counter()
    for e in entries:
        by_category[category.get(assigned.get(e["id"], ""), UNASSIGNED)] += 1
    failures = state.get("failures") or []
    item_failures = [f for f in failures if f["phase"] == "assign"]
    calls = state.get("calls") or []
    return {
        "items": n,
        "sample_size": len(state.get("sample_ids") or []),
        "max_types": ctx.max_types,
        "role": ctx.role,
        "error": state.get("error"),
        "types": types,
        "assignments": [
            {
                "id": e["id"],
                "type": assigned.get(e["id"]),
                "category": category.get(assigned.get(e["id"], "")),
            }
            for e in entries
        ],
        "distribution": distribution,
        "unassigned": counts.get(UNASSIGNED, 0),
        "categories": {c: by_category.get(c, 0) for c in (*CATEGORIES, UNASSIGNED)},
        "parse_failures": {
            "total": len(failures),
            "items": len(item_failures),
            "by_phase": dict(Counter(f["phase"] for f in failures)),
            "details": failures,
        },
        "proposals": state.get("proposals") or [],
        "calls": summarize_calls(calls),
    }


def summarize(state: TaxonomyState, runtime: Runtime[TaxonomyContext]) -> dict[str, Any]:
    return {"taxonomy": build_taxonomy(state, tax_context(runtime))}
