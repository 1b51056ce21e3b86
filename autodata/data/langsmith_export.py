"""``autodata export DIR --to langsmith NAME``: upload a run's accepted items as a LangSmith dataset.

One example per accepted item: inputs ``{context, question}``, outputs ``{answer, rubric}``, metadata with
the item's id, type, skills, mode, scores and source. Needs ``LANGSMITH_API_KEY``; the client is built
lazily (``make_client``), so tests hand in a fake one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autodata.core.records import AcceptedRecord
from autodata.data.export import ExportError, _rubric, load_accepted

API_KEY_ENV = "LANGSMITH_API_KEY"
BATCH = 100


@dataclass
class UploadResult:
    dataset: str
    dataset_id: str
    examples: int
    invalid_lines: int
    duplicates: int


def make_client() -> Any:
    from langsmith import Client

    return Client()


def example(record: AcceptedRecord) -> dict[str, Any]:
    return {
        "inputs": {"context": record.context, "question": record.question},
        "outputs": {"answer": record.answer, "rubric": _rubric(record)},
        "metadata": {
            "id": record.id,
            "mode": record.mode,
            "question_type": record.question_type,
            "skills": list(record.skills),
            "weak_mean": record.weak_mean,
            "strong_mean": record.strong_mean,
            "gap": record.gap,
            "rounds": record.rounds,
            "source": record.source.path,
            "variant": record.variant,
        },
    }


def upload(run_dir: str | Path, name: str, client: Any = None) -> UploadResult:
    """Create dataset ``name`` and add every accepted item; an existing dataset of that name is an error
    (so a second upload never duplicates examples)."""
    if client is None:
        if not os.environ.get(API_KEY_ENV):
            raise ExportError(f"--to langsmith needs {API_KEY_ENV} set (a LangSmith API key)")
        client = make_client()
    records, invalid, duplicates = load_accepted(run_dir)
    if not records:
        raise ExportError(f"no accepted items in {run_dir}; nothing to upload")
    if client.has_dataset(dataset_name=name):
        raise ExportError(f"LangSmith dataset {name!r} already exists; choose another name")
    dataset = client.create_dataset(
        name, description=f"autodata: {len(records)} accepted item(s) from {Path(run_dir).resolve().name}"
    )
    examples = [example(r) for r in records]
    for start in range(0, len(examples), BATCH):
        client.create_examples(dataset_id=dataset.id, examples=examples[start : start + BATCH])
    return UploadResult(name, str(dataset.id), len(examples), invalid, duplicates)
