"""Output records and the append-only JSONL writer (flushed per record; never writes an id twice)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple, NotRequired, TypeVar

from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

M = TypeVar("M", bound=BaseModel)


class CallRecord(TypedDict):
    """One LLM call as a run accounts for it (written by autodata/llm/calls.py)."""

    role: str
    model: str
    ok: bool
    error: str | None
    input_tokens: int
    output_tokens: int
    seconds: float
    attempts: int
    cached: bool
    cost_usd: float
    """From the role's price table (``price_per_million_input/output``); 0 for a cached replay."""
    truncated: NotRequired[bool]
    """The reply stopped at the token limit (``finish_reason`` ``length``)."""


class Source(BaseModel):
    path: str
    span: list[int]


class AcceptedItem(BaseModel):
    """An accepted item as the graph's decide node writes it into the unit's state (nodes/decide.py)."""

    id: str
    source: Source
    mode: str
    preset: str
    question: str
    context: str
    answer: str
    rubric: list[dict[str, Any]]
    evidence: list[str] = []
    """The source sentences the item rests on (checked in code to be in the source)."""
    solution: str = ""
    """The challenger's worked solution from the context to the answer (a reference solution for SFT)."""
    repairs: list[str] = []
    """What code corrected in the challenger's item before screening it (e.g. a miscomputed last step)."""
    question_type: str
    skills: list[str]
    weak_scores: list[float]
    strong_scores: list[float]
    weak_mean: float
    strong_mean: float
    gap: float
    rounds: int
    variant: str


class AcceptedRecord(AcceptedItem):
    """A line of accepted.jsonl: the accepted item and the model that played each role."""

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
    """Each candidate of the round: its index, reason, feedback and the item itself (None when the call
    failed), so every rejected question can be read in full."""
    duplicate_of: str | None = None
    """With reason ``duplicate``: the id of the accepted item this one near-duplicates."""
    feedback_next: str | None = None
    """The orchestrator's feedback sent into the unit's next round (what that round's challenger read);
    None when no round followed, and in runs written before it was recorded."""


ACCEPTED_FILE = "accepted.jsonl"
REJECTED_FILE = "rejected.jsonl"


class Read(NamedTuple):
    records: list[Any]
    invalid: int
    """Lines that are not a JSON object (or not a valid record), e.g. the torn last line of a killed run."""
    duplicates: int
    """Records whose id came earlier in the file (skipped)."""


def read_records(path: Path, model: type[M] | None = None) -> Read:
    """The records of a run's JSONL file, in file order, each id once: dicts, or ``model`` instances
    when given. A missing file has none. The one reader of ``accepted.jsonl`` and ``rejected.jsonl``."""
    records: list[Any] = []
    seen: set[Any] = set()
    invalid = duplicates = 0
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    for line in lines:
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            record = model.model_validate(data) if model is not None else data
        except (ValueError, ValidationError):  # JSONDecodeError is a ValueError
            invalid += 1
            continue
        if data.get("id") is not None and data["id"] in seen:
            duplicates += 1
            continue
        seen.add(data.get("id"))
        records.append(record)
    return Read(records, invalid, duplicates)


def read_accepted(run_dir: str | Path, model: type[BaseModel] | None = AcceptedRecord) -> Read:
    """A run directory's accepted items (or those of the file given itself), as ``model`` instances or,
    with ``model=None``, dicts. Raises FileNotFoundError when there is no such file."""
    path = Path(run_dir)
    path = path / ACCEPTED_FILE if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no accepted.jsonl (not a run directory?)")
    return read_records(path, model)


class JsonlWriter:
    """Appends records to a JSONL file; ids already in the file are skipped (safe to call on resume).

    Safe for several processes appending to one file: each write holds an exclusive ``flock`` and first
    reads the lines other processes appended since this writer last looked.

    A record is flushed to the OS at once (it survives the process being killed) but not fsynced: an fsync
    per record blocked the run's event loop for milliseconds each time, and a record an OS crash loses is
    written again when the run resumes, from its unit's checkpoint (the runner writes every finished
    unit's records, skipping ids already in the file; checkpoints and the response cache are SQLite WAL
    with ``synchronous=NORMAL``, the same durability)."""

    def __init__(self, path: Path, on_read: Callable[[dict[str, Any]], None] | None = None):
        """``on_read`` sees every record of the file that this writer did not write itself (what is there
        at start, then what other processes append), e.g. to keep a near-duplicate index global."""
        self.path = path
        self.on_read = on_read
        self.ids: set[str] = set()
        self._offset = 0  # bytes of the file already read into self.ids
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        with path.open("rb") as handle:
            self._catch_up(handle)

    def _catch_up(self, handle: IO[bytes]) -> None:
        handle.seek(self._offset)
        for raw in handle:
            if not raw.endswith(b"\n"):
                break  # a torn last line from a killed process: ignored, terminated before the next write
            self._offset += len(raw)
            try:
                data = json.loads(raw)
                self.ids.add(data["id"])
                if self.on_read is not None:
                    self.on_read(data)
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
                continue

    def write(self, record: BaseModel, veto: Callable[[], object] | None = None) -> bool:
        """Append ``record`` unless its id is already in the file (False). ``veto`` is asked under the
        lock, once the file is caught up with every process's records: a truthy answer refuses the record
        (False, nothing written)."""
        data = record.model_dump(mode="json")
        if data["id"] in self.ids:
            return False
        line = (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
        with self.path.open("a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._catch_up(handle)  # what other processes wrote meanwhile
                if data["id"] in self.ids or (veto is not None and veto()):
                    return False
                end = handle.seek(0, os.SEEK_END)
                if end > 0:
                    handle.seek(end - 1)
                    if handle.read(1) != b"\n":
                        line = b"\n" + line  # terminate a torn line so the new record stays parseable
                handle.write(line)
                handle.flush()
                self._offset = end + len(line)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        self.ids.add(data["id"])
        return True

    def __len__(self) -> int:
        return len(self.ids)
