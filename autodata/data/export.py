"""Export accepted items for training: a clean JSONL copy, a Hugging Face dataset, SFT chats, GRPO prompts.

Every format writes ``<split>.jsonl`` (plus, except ``jsonl``, a ``datasets`` ``save_to_disk`` copy under
``hf/`` and parquet files under ``data/``) and a dataset card ``README.md``. The ``grpo`` format is what
TRL's ``GRPOTrainer`` takes as is: a ``prompt`` column of chat messages; every other column (``answer``,
``rubric``, ``mode``, ...) reaches the reward functions (:mod:`autodata.data.rewards`) as a keyword argument.

The optional train/test split keeps every item of one source file (all its sections) on the same side,
so no document leaks from train into test; it falls back to an item-level split when there are too few
source files to honour the requested size.
"""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autodata.core.records import AcceptedRecord, read_accepted

FORMATS = ("jsonl", "hf", "sft", "grpo")


class ExportError(ValueError):
    """A bad export request (missing input, bad split size, missing optional dependency)."""


@dataclass
class ExportResult:
    out_dir: Path
    format: str
    splits: dict[str, int]
    files: list[Path] = field(default_factory=list)
    invalid_lines: int = 0
    duplicates: int = 0
    split_note: str = ""


def load_accepted(run_dir: str | Path) -> tuple[list[AcceptedRecord], int, int]:
    """Accepted records of a run (``accepted.jsonl``): (records, invalid lines, duplicate ids)."""
    try:
        return read_accepted(run_dir)
    except FileNotFoundError:
        raise ExportError(f"no accepted.jsonl in {run_dir}") from None


# ---------------------------------------------------------------------------------------------- rows


def solver_messages(record: AcceptedRecord) -> list[dict[str, str]]:
    """The solver prompt the generator used (system + user with context and question), as chat dicts."""
    from autodata.prompts.loader import load_prompt

    roles = {"system": "system", "human": "user", "ai": "assistant"}
    messages = load_prompt("solver").render(context=record.context, question=record.question)
    return [{"role": roles.get(m.type, m.type), "content": str(m.content)} for m in messages]


def assistant_answer(record: AcceptedRecord) -> str:
    """SFT target: the reference answer, in the ``Final answer:`` form the solver prompt asks for."""
    answer = record.answer.strip()
    if record.mode == "verifiable" and "final answer" not in answer.lower():
        return f"Final answer: {answer}"
    return answer


def _rubric(record: AcceptedRecord) -> list[dict[str, Any]]:
    return [
        {
            "id": int(c.get("id", i + 1)),
            "description": str(c.get("description", "")),
            "points": int(c["points"]),
        }
        for i, c in enumerate(record.rubric)
    ]


def flat_row(record: AcceptedRecord) -> dict[str, Any]:
    """A record with ``source`` and ``models`` flattened to columns with one fixed type each."""
    data = record.model_dump(mode="json")
    source = data.pop("source")
    models = data.pop("models")
    return {
        **data,
        "rubric": _rubric(record),
        "source_path": source["path"],
        "source_span": list(source["span"]),
        "models": json.dumps(models, sort_keys=True),
    }


def sft_row(record: AcceptedRecord) -> dict[str, Any]:
    return {
        "messages": [*solver_messages(record), {"role": "assistant", "content": assistant_answer(record)}],
        "id": record.id,
        "mode": record.mode,
        "source_path": record.source.path,
    }


def grpo_row(record: AcceptedRecord) -> dict[str, Any]:
    return {
        "prompt": solver_messages(record),
        "answer": record.answer,
        "rubric": _rubric(record),
        "mode": record.mode,
        "id": record.id,
        "question": record.question,
        "question_type": record.question_type,
        "skills": list(record.skills),
        "source_path": record.source.path,
        "strong_mean": record.strong_mean,
        "weak_mean": record.weak_mean,
        "gap": record.gap,
    }


ROW_BUILDERS = {
    "jsonl": lambda r: r.model_dump(mode="json"),
    "hf": flat_row,
    "sft": sft_row,
    "grpo": grpo_row,
}


# -------------------------------------------------------------------------------------------- splits


def _document(record: AcceptedRecord) -> str:
    return record.source.path.split("#", 1)[0]


def split_records(
    records: list[AcceptedRecord], test_size: float, seed: int
) -> tuple[dict[str, list[AcceptedRecord]], str]:
    """Train/test split; ``test_size`` is a fraction in (0, 1) or a count >= 1. Deterministic per seed."""
    if not test_size:
        return {"train": list(records)}, ""
    n = len(records)
    if test_size < 0 or (test_size >= 1 and test_size != int(test_size)):
        raise ExportError(f"--test-size must be a fraction in (0, 1) or a whole count, not {test_size}")
    target = round(n * test_size) if test_size < 1 else int(test_size)
    target = max(1, target)
    if n < 2 or target >= n:
        raise ExportError(f"cannot split {n} item(s) into train and a test set of {target}")
    rng = random.Random(seed)
    groups: dict[str, list[AcceptedRecord]] = {}
    for record in records:
        groups.setdefault(_document(record), []).append(record)
    keys = sorted(groups)
    rng.shuffle(keys)
    test: list[AcceptedRecord] = []
    for key in keys:
        if len(test) >= target:
            break
        if len(test) + len(groups[key]) <= target or not test:
            test.extend(groups[key])
    note = "grouped by source file (no file in both splits)"
    if len(test) >= n or abs(len(test) - target) > max(1, target // 2):
        shuffled = list(records)
        rng.shuffle(shuffled)
        test = shuffled[:target]
        note = "item-level (too few source files for a grouped split)"
    test_ids = {r.id for r in test}
    return {
        "train": [r for r in records if r.id not in test_ids],
        "test": [r for r in records if r.id in test_ids],
    }, note


# ------------------------------------------------------------------------------------------- writing


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_hf(out: Path, split_rows: dict[str, list[dict[str, Any]]]) -> list[Path]:
    try:
        from datasets import Dataset, DatasetDict
        from datasets.utils.logging import disable_progress_bar
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ExportError("this format needs the `datasets` package: pip install datasets") from exc
    disable_progress_bar()
    dd = DatasetDict({name: Dataset.from_list(rows) for name, rows in split_rows.items()})
    files = []
    (out / "data").mkdir(exist_ok=True)
    for name, ds in dd.items():
        path = out / "data" / f"{name}-00000-of-00001.parquet"
        ds.to_parquet(str(path))
        files.append(path)
    dd.save_to_disk(str(out / "hf"))
    files.append(out / "hf")
    return files


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"mean {statistics.fmean(values):.3f}, median {statistics.median(values):.3f}, "
        f"min {min(values):.3f}, max {max(values):.3f}"
    )


def _table(counter: Counter) -> str:
    if not counter:
        return "(none)\n"
    lines = ["| value | items |", "|---|---|"]
    lines += [f"| {str(k).replace('|', '/')} | {v} |" for k, v in counter.most_common()]
    return "\n".join(lines) + "\n"


def dataset_card(
    run_dir: Path,
    fmt: str,
    records: list[AcceptedRecord],
    splits: dict[str, list[AcceptedRecord]],
    *,
    command: str,
    invalid: int,
    duplicates: int,
    split_note: str,
) -> str:
    hf = fmt != "jsonl"
    front = ["---", "language:", "- en", "pretty_name: autodata export", "tags:", "- synthetic", "- autodata"]
    if hf:
        front += ["configs:", "- config_name: default", "  data_files:"]
        for name in splits:
            front += [f"  - split: {name}", f"    path: data/{name}-*.parquet"]
    front.append("---")
    models: dict[str, Counter] = {}
    for r in records:
        for role, model in r.models.items():
            models.setdefault(role, Counter())[model] += 1
    summary_path = run_dir / "summary.json"
    run_summary: dict[str, Any] = {}
    if summary_path.is_file():
        try:
            run_summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            run_summary = {}
    columns = {
        "jsonl": "the accepted records as written by `autodata generate` (see the project README)",
        "hf": "accepted records flattened: `source_path`, `source_span`, `models` (JSON string), rest as is",
        "sft": "`messages` (system, user with context and question, assistant with the reference answer)",
        "grpo": "`prompt` (system + user chat messages) for TRL's GRPOTrainer; `answer`, `rubric`, `mode`, "
        "... reach reward functions (`autodata.data.rewards`) as keyword arguments",
    }[fmt]
    body = [
        "# autodata export",
        "",
        f"Hard-but-solvable QA items generated by autodata (Agentic Self-Instruct), format `{fmt}`.",
        "",
        "## Counts",
        "",
        f"- items: {len(records)}",
        *[f"- {name}: {len(rows)}" for name, rows in splits.items()],
        f"- split: {split_note or 'none'}",
        f"- skipped lines of accepted.jsonl: {invalid} invalid, {duplicates} duplicate ids",
        "",
        "## Modes",
        "",
        _table(Counter(r.mode for r in records)),
        "## Question types",
        "",
        _table(Counter(r.question_type for r in records)),
        "## Scores",
        "",
        f"- strong solver mean: {_stats([r.strong_mean for r in records])}",
        f"- weak solver mean: {_stats([r.weak_mean for r in records])}",
        f"- gap: {_stats([r.gap for r in records])}",
        f"- rounds: {_stats([float(r.rounds) for r in records])}",
        "",
        "## Provenance",
        "",
        f"- run directory: `{run_dir}`",
        f"- source files: {len({_document(r) for r in records})}",
        f"- presets: {', '.join(sorted({r.preset for r in records})) or '-'}",
        f"- prompt variants: {', '.join(sorted({r.variant for r in records})) or '-'}",
        *[f"- {role}: {', '.join(f'`{m}`' for m in counter)}" for role, counter in sorted(models.items())],
    ]
    if run_summary:
        body.append(
            f"- run: {run_summary.get('documents', '?')} documents, {run_summary.get('rounds', '?')} counted "
            f"rounds, rejections {json.dumps(run_summary.get('rejections', {}))}"
        )
    body += [
        f"- exported: {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "",
        "## Columns",
        "",
        columns,
        "",
        "## Command",
        "",
        "```bash",
        command,
        "```",
        "",
    ]
    return "\n".join(front) + "\n\n" + "\n".join(body)


def export(
    run_dir: str | Path,
    fmt: str,
    out: str | Path | None = None,
    *,
    test_size: float = 0.0,
    seed: int = 0,
    command: str = "",
) -> ExportResult:
    """Export ``run_dir``'s accepted items in ``fmt``; returns what was written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    run_dir = Path(run_dir)
    records, invalid, duplicates = load_accepted(run_dir)
    if not records:
        raise ExportError(f"no accepted items in {run_dir / 'accepted.jsonl'}")
    splits, note = split_records(records, test_size, seed)
    out_dir = Path(out) if out else run_dir / f"export-{fmt}"
    out_dir.mkdir(parents=True, exist_ok=True)
    build = ROW_BUILDERS[fmt]
    split_rows = {name: [build(r) for r in rows] for name, rows in splits.items()}
    files = []
    for name, rows in split_rows.items():
        path = out_dir / f"{name}.jsonl"
        _write_jsonl(path, rows)
        files.append(path)
    if fmt != "jsonl":
        files += _write_hf(out_dir, split_rows)
    card = out_dir / "README.md"
    card.write_text(
        dataset_card(
            run_dir,
            fmt,
            records,
            splits,
            command=command or f"autodata export {run_dir} --format {fmt}",
            invalid=invalid,
            duplicates=duplicates,
            split_note=note,
        ),
        encoding="utf-8",
    )
    files.append(card)
    return ExportResult(
        out_dir=out_dir,
        format=fmt,
        splits={k: len(v) for k, v in splits.items()},
        files=files,
        invalid_lines=invalid,
        duplicates=duplicates,
        split_note=note,
    )
