"""Source documents: find, read and validate them. Bad files are skipped with a reason, never fatal."""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
MAX_BYTES = 5_000_000
MODES = ("rubric", "verifiable")


@dataclass(frozen=True)
class Document:
    path: str
    text: str
    mode: str | None = None
    """Mode requested by the document's front matter (``mode: verifiable``), if any."""

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.path}\x00{self.text}".encode()).hexdigest()[:16]


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _front_matter(text: str) -> tuple[str, dict[str, str]]:
    if not text.startswith("---\n"):
        return text, {}
    end = text.find("\n---", 4)
    if end == -1:
        return text, {}
    meta = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
    return text[end + 4 :].lstrip("\n"), meta


def read_document(path: Path) -> Document | Skipped:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Skipped(str(path), f"file is too large ({size / 1e6:.1f} MB > {MAX_BYTES / 1e6:.0f} MB)")
        raw = path.read_bytes()
    except OSError as exc:
        return Skipped(str(path), f"cannot read: {exc.strerror or exc}")
    if b"\x00" in raw[:8192]:
        return Skipped(str(path), "binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Skipped(str(path), f"not UTF-8 text (byte {exc.start})")
    body, meta = _front_matter(text.lstrip("\ufeff"))
    if not body.strip():
        return Skipped(str(path), "empty document")
    mode = meta.get("mode")
    if mode is not None and mode not in MODES:
        return Skipped(str(path), f"front matter mode {mode!r} is not one of {MODES}")
    return Document(path=str(path), text=body.strip(), mode=mode)


def expand_paths(inputs: list[str]) -> tuple[list[Path], list[Skipped]]:
    files: list[Path] = []
    skipped: list[Skipped] = []
    for raw in inputs:
        matches = (
            [Path(p) for p in sorted(glob.glob(raw, recursive=True))]
            if any(c in raw for c in "*?[")
            else [Path(raw)]
        )
        if not matches:
            skipped.append(Skipped(raw, "no file matches this pattern"))
        for path in matches:
            if path.is_dir():
                files.extend(
                    sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
                )
            elif path.is_file():
                files.append(path)
            else:
                skipped.append(Skipped(str(path), "no such file or directory"))
    seen: set[Path] = set()
    unique = []
    for f in files:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique, skipped


def load_documents(inputs: list[str]) -> LoadResult:
    files, skipped = expand_paths(inputs)
    result = LoadResult(skipped=skipped)
    for path in files:
        doc = read_document(path)
        (result.documents if isinstance(doc, Document) else result.skipped).append(doc)
    return result
