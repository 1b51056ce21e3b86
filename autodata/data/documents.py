"""Source documents: find, read and validate them; PDF, HTML and JSONL ingestion; long documents split into
sections with their character spans. Bad files are skipped with a reason, never fatal."""

from __future__ import annotations

import glob
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autodata.core.context import MODES, Mode, is_mode

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
PDF_SUFFIXES = {".pdf"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUFFIXES = TEXT_SUFFIXES | PDF_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MAX_BYTES = 50_000_000
SECTION_CHARS = 6000
"""Default section size: the same as ``RunContext.max_source_chars``, so no section is truncated later."""
SECTION_OVERLAP = 300
MAX_LINE_SKIPS = 20
"""Bad lines of one JSONL file reported one by one; the rest are reported as one entry."""


@dataclass(frozen=True)
class Document:
    path: str
    text: str
    mode: Mode | None = None
    """Mode requested by the document's front matter (``mode: verifiable``), if any."""
    span: tuple[int, int] | None = None
    """Character offsets ``[start, end)`` of ``text`` in the source's full text: the decoded file (text
    files), the extracted text (PDF, HTML) or the line's text field (JSONL). ``None``: the whole text."""

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


def _front_matter(text: str) -> tuple[str, dict[str, str], int]:
    """(body, metadata, offset of the body in ``text``)."""
    if not text.startswith("---\n"):
        return text, {}, 0
    end = text.find("\n---", 4)
    if end == -1:
        return text, {}, 0
    meta = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
    rest = text[end + 4 :]
    body = rest.lstrip("\n")
    return body, meta, end + 4 + len(rest) - len(body)


def _stripped_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` narrowed to exclude leading and trailing whitespace."""
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    return start + lead, max(start + lead, end - trail)


_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


def _break_point(text: str, start: int, limit: int) -> tuple[int, bool]:
    """Where to end a section that starts at ``start`` and may not pass ``limit``: before the last
    markdown heading, else after the last paragraph break, line break, space; else at ``limit``.
    The flag tells a cut before a heading (the next section then starts there, without overlap)."""
    low = start + (limit - start) // 4  # never cut a section shorter than a quarter of the size
    headings = [m.start() for m in _HEADING.finditer(text, low, limit + 1) if m.start() > low]
    if headings:
        return headings[-1], True
    paragraphs = [m.end() for m in _PARAGRAPH.finditer(text, low, limit) if m.end() > low]
    if paragraphs:
        return paragraphs[-1], False
    for sep in ("\n", " "):
        cut = text.rfind(sep, low, limit)
        if cut > low:
            return cut + 1, False
    return limit, False


def split_sections(text: str, max_chars: int, overlap: int = 0) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of ``text`` covering it in sections of at most ``max_chars`` characters,
    cut on markdown headings or paragraphs where possible. Consecutive sections share about ``overlap``
    characters (starting on a word boundary), except after a cut before a heading. Whitespace at a
    section's ends is left out of its span."""
    if max_chars <= 0:
        raise ValueError("section size must be positive")
    overlap = max(0, min(overlap, max_chars // 2))
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        end, at_heading = (
            (n, False) if n - start <= max_chars else _break_point(text, start, start + max_chars)
        )
        a, b = _stripped_span(text, start, end)
        if b > a:
            spans.append((a, b))
        if end >= n:
            break
        nxt = end if at_heading else end - overlap
        if overlap and not at_heading:
            space = text.find(" ", nxt, end)
            nxt = space + 1 if space != -1 else nxt
        start = max(nxt, start + 1)
    return spans


def _sections(
    path: str, text: str, offset: int, mode: Mode | None, max_chars: int | None, overlap: int
) -> list[Document]:
    """``text`` (found at ``offset`` of the source's full text) as one Document or several sections."""
    if not max_chars or len(text) <= max_chars:
        return [Document(path=path, text=text, mode=mode, span=(offset, offset + len(text)))]
    return [
        Document(path=f"{path}#s{k}", text=text[a:b], mode=mode, span=(offset + a, offset + b))
        for k, (a, b) in enumerate(split_sections(text, max_chars, overlap), start=1)
    ]


def _read_bytes(path: Path) -> bytes | Skipped:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Skipped(str(path), f"file is too large ({size / 1e6:.1f} MB > {MAX_BYTES / 1e6:.0f} MB)")
        return path.read_bytes()
    except OSError as exc:
        return Skipped(str(path), f"cannot read: {exc.strerror or exc}")


def _decode(path: Path, raw: bytes) -> str | Skipped:
    if b"\x00" in raw[:8192]:
        return Skipped(str(path), "binary file (contains NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Skipped(str(path), f"not UTF-8 text (byte {exc.start})")


def _text_documents(path: Path, raw: bytes, max_chars: int | None, overlap: int) -> list[Document] | Skipped:
    text = _decode(path, raw)
    if isinstance(text, Skipped):
        return text
    bom = 1 if text.startswith("\ufeff") else 0
    body, meta, offset = _front_matter(text[bom:])
    a, b = _stripped_span(body, 0, len(body))
    if a == b:
        return Skipped(str(path), "empty document")
    mode = meta.get("mode")
    if mode is not None and not is_mode(mode):
        return Skipped(str(path), f"front matter mode {mode!r} is not one of {MODES}")
    return _sections(str(path), body[a:b], bom + offset + a, mode, max_chars, overlap)


def pdf_text(raw: bytes) -> str:
    """Text of every page of a PDF, pages separated by a blank line (raises on an unreadable PDF)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(raw))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("encrypted PDF")
    return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()


def _pdf_documents(path: Path, raw: bytes, max_chars: int | None, overlap: int) -> list[Document] | Skipped:
    if not raw.lstrip()[:5].startswith(b"%PDF"):
        return Skipped(str(path), "unreadable PDF: no %PDF header")
    try:
        text = pdf_text(raw)
    except ImportError:
        return Skipped(str(path), "PDF support needs the pypdf package: pip install pypdf")
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        return Skipped(str(path), f"unreadable PDF: {type(exc).__name__}: {str(exc)[:160]}")
    if not text.strip():
        return Skipped(str(path), "PDF has no extractable text (a scan without a text layer?)")
    return _sections(str(path), text, 0, None, max_chars, overlap)


def html_text(html: str) -> str:
    """HTML as markdown (headings, lists, links' text), without scripts, styles and page chrome."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "nav", "footer", "svg", "iframe"]):
        tag.decompose()
    root = soup.body or soup
    text = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(root)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _html_documents(path: Path, raw: bytes, max_chars: int | None, overlap: int) -> list[Document] | Skipped:
    html = _decode(path, raw)
    if isinstance(html, Skipped):
        return html
    try:
        text = html_text(html)
    except ImportError:
        return Skipped(str(path), "HTML support needs markdownify: pip install markdownify")
    if not text.strip():
        return Skipped(str(path), "empty document (no text in the HTML)")
    return _sections(str(path), text, 0, None, max_chars, overlap)


def _jsonl_documents(
    path: Path, raw: bytes, max_chars: int | None, overlap: int, field_name: str
) -> tuple[list[Document], list[Skipped]]:
    text = _decode(path, raw)
    if isinstance(text, Skipped):
        return [], [text]
    documents: list[Document] = []
    bad: list[Skipped] = []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}#L{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(Skipped(where, f"invalid JSON ({exc.msg})"))
            continue
        value = row.get(field_name) if isinstance(row, dict) else None
        if not isinstance(value, str):
            bad.append(Skipped(where, f"no string field {field_name!r}"))
            continue
        a, b = _stripped_span(value, 0, len(value))
        if a == b:
            bad.append(Skipped(where, "empty document"))
            continue
        requested = row.get("mode")
        mode = requested if is_mode(requested) else None
        documents.extend(_sections(where, value[a:b], a, mode, max_chars, overlap))
    if not documents and not bad:
        return [], [Skipped(str(path), "empty document")]
    if len(bad) > MAX_LINE_SKIPS:
        rest = len(bad) - MAX_LINE_SKIPS
        bad = [*bad[:MAX_LINE_SKIPS], Skipped(str(path), f"{rest} more bad line(s) skipped")]
    return documents, bad


def read_documents(
    path: Path,
    *,
    section_chars: int | None = SECTION_CHARS,
    section_overlap: int = SECTION_OVERLAP,
    jsonl_field: str = "text",
) -> tuple[list[Document], list[Skipped]]:
    """Every document in one file (sections of a long one, lines of a JSONL file), and what was skipped."""
    raw = _read_bytes(path)
    if isinstance(raw, Skipped):
        return [], [raw]
    if not raw.strip():
        return [], [Skipped(str(path), "empty document")]
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return _jsonl_documents(path, raw, section_chars, section_overlap, jsonl_field)
    reader = (
        _pdf_documents
        if suffix in PDF_SUFFIXES
        else _html_documents
        if suffix in HTML_SUFFIXES
        else _text_documents
    )
    out = reader(path, raw, section_chars, section_overlap)
    return ([], [out]) if isinstance(out, Skipped) else (out, [])


def read_document(path: Path) -> Document | Skipped:
    """One text file as one Document (no sectioning); kept for callers of the single-document API."""
    docs, skipped = read_documents(path, section_chars=None)
    if skipped:
        return skipped[0]
    return docs[0]


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
                    sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
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


def load_documents(
    inputs: list[str],
    *,
    section_chars: int | None = SECTION_CHARS,
    section_overlap: int = SECTION_OVERLAP,
    jsonl_field: str = "text",
) -> LoadResult:
    """Documents from files, directories (``.txt .md .markdown .rst .pdf .html .htm .jsonl`` in them) and
    glob patterns. Documents longer than ``section_chars`` (``None``: never) become sections overlapping
    by ``section_overlap`` characters; ``jsonl_field`` names the text field of JSONL lines."""
    files, skipped = expand_paths(inputs)
    result = LoadResult(skipped=skipped)
    for path in files:
        docs, bad = read_documents(
            path, section_chars=section_chars, section_overlap=section_overlap, jsonl_field=jsonl_field
        )
        result.documents.extend(docs)
        result.skipped.extend(bad)
    return result
