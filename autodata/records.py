"""Output records and the append-only JSONL writer (flushed and fsynced; never writes an id twice)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel


class Source(BaseModel):
    path: str
    span: list[int]


class AcceptedRecord(BaseModel):
    id: str
    source: Source
    mode: str
    preset: str
    question: str
    context: str
    answer: str
    rubric: list[dict[str, Any]]
    question_type: str
    skills: list[str]
    weak_scores: list[float]
    strong_scores: list[float]
    weak_mean: float
    strong_mean: float
    gap: float
    rounds: int
    variant: str
    models: dict[str, str]


class RejectedRecord(BaseModel):
    id: str
    source: Source
    round: int
    attempt: int
    counted: bool
    reason: str
    detail: str
    question: str | None
    weak_scores: list[float]
    strong_scores: list[float]
    weak_mean: float | None
    strong_mean: float | None
    gap: float | None
    screenings: list[dict[str, Any]]


class JsonlWriter:
    """Appends records to a JSONL file; ids already in the file are skipped (safe to call on resume)."""

    def __init__(self, path: Path):
        self.path = path
        self.ids: set[str] = set()
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        self.ids.add(json.loads(line)["id"])
                    except (json.JSONDecodeError, KeyError):
                        continue  # a torn last line from a killed process: ignored, rewritten below
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    def write(self, record: BaseModel) -> bool:
        data = record.model_dump(mode="json")
        if data["id"] in self.ids:
            return False
        line = json.dumps(data, ensure_ascii=False)
        with self.path.open("a+", encoding="utf-8") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(handle.tell() - 1)
                if handle.read(1) != "\n":
                    handle.write("\n")  # terminate a torn line so the new record stays parseable
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.ids.add(data["id"])
        return True

    def __len__(self) -> int:
        return len(self.ids)
