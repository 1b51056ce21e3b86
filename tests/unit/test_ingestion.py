"""Ingestion: PDF, HTML, JSONL, sectioning with spans, bad inputs skipped with reasons."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from autodata.data import documents as documents_module
from autodata.data.documents import Document, load_documents, split_sections


def make_pdf(path: Path, lines: list[str]) -> None:
    """A one-page PDF with a text layer, written by hand (pypdf reads it back)."""
    text_ops = " ".join(f"({line}) Tj 0 -20 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text_ops} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def by_name(result):
    return {
        Path(s.path.split("#")[0]).name + ("#" + s.path.split("#")[1] if "#" in s.path else ""): s.reason
        for s in result.skipped
    }


def test_pdf_text_is_extracted_and_a_corrupt_pdf_is_skipped(tmp_path):
    make_pdf(tmp_path / "paper.pdf", ["An LRU cache evicts the least recently used key.", "Second line."])
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage")
    (tmp_path / "fake.pdf").write_bytes(b"just some text, not a pdf")
    result = load_documents([str(tmp_path)])
    assert [Path(d.path).name for d in result.documents] == ["paper.pdf"]
    doc = result.documents[0]
    assert "least recently used key" in doc.text and doc.span == (0, len(doc.text))
    reasons = by_name(result)
    assert (
        reasons["corrupt.pdf"].startswith("unreadable PDF") or "no extractable text" in reasons["corrupt.pdf"]
    )
    assert reasons["fake.pdf"] == "unreadable PDF: no %PDF header"


def test_html_becomes_markdown_without_scripts(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>t</title><style>p{}</style></head><body><nav>menu</nav>"
        "<h1>Caches</h1><p>An <b>LRU</b> cache evicts old keys.</p><script>alert(1)</script>"
        "<ul><li>one</li><li>two</li></ul></body></html>"
    )
    (tmp_path / "blank.htm").write_text("<html><body><script>x()</script></body></html>")
    result = load_documents([str(tmp_path)])
    (doc,) = result.documents
    assert doc.text.startswith("# Caches") and "**LRU** cache evicts" in doc.text and "- two" in doc.text
    assert "alert" not in doc.text and "menu" not in doc.text and "p{}" not in doc.text
    assert "empty document" in by_name(result)["blank.htm"]


def test_jsonl_lines_are_documents_with_a_configurable_field(tmp_path):
    lines = [
        json.dumps({"text": "First document about caches.", "mode": "verifiable"}),
        "",
        "{not json",
        json.dumps({"body": "no text field"}),
        json.dumps({"text": "   "}),
        json.dumps({"text": "Second document.", "body": "other"}),
    ]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    result = load_documents([str(tmp_path / "corpus.jsonl")])
    assert [d.path.rsplit("/", 1)[-1] for d in result.documents] == ["corpus.jsonl#L1", "corpus.jsonl#L6"]
    assert result.documents[0].mode == "verifiable" and result.documents[1].mode is None
    reasons = by_name(result)
    assert "invalid JSON" in reasons["corpus.jsonl#L3"]
    assert reasons["corpus.jsonl#L4"] == "no string field 'text'"
    assert reasons["corpus.jsonl#L5"] == "empty document"
    other = load_documents([str(tmp_path / "corpus.jsonl")], jsonl_field="body")
    assert [d.text for d in other.documents] == ["no text field", "other"]


def test_long_documents_become_sections_whose_spans_map_back(tmp_path):
    paragraphs = [f"Paragraph {i} " + "word " * 40 for i in range(30)]
    body = "# Title\n\n" + "\n\n".join(paragraphs[:15]) + "\n\n## Part two\n\n" + "\n\n".join(paragraphs[15:])
    source = "---\nmode: verifiable\n---\n" + body + "\n"
    (tmp_path / "long.md").write_text(source)
    result = load_documents([str(tmp_path / "long.md")], section_chars=2000, section_overlap=200)
    docs = result.documents
    assert len(docs) > 3 and all(d.mode == "verifiable" for d in docs)
    assert [d.path.rsplit("#", 1)[1] for d in docs] == [f"s{k}" for k in range(1, len(docs) + 1)]
    for d in docs:
        start, end = d.span
        assert source[start:end] == d.text and len(d.text) <= 2000
    assert docs[0].span[0] == source.index("# Title")
    assert docs[-1].span[1] == len(source.rstrip())
    assert any(d.text.startswith("## Part two") for d in docs)  # cut on the heading
    for prev, nxt in itertools.pairwise(docs):
        assert nxt.span[0] < prev.span[1] or nxt.text.startswith("## ")  # overlap, except at a heading
        assert nxt.span[0] > prev.span[0]
    assert len({d.id for d in docs}) == len(docs)
    whole = load_documents([str(tmp_path / "long.md")], section_chars=None).documents
    assert len(whole) == 1 and whole[0].text == body.strip()


@pytest.mark.parametrize("overlap", [0, 50])
def test_split_sections_covers_text_without_gaps(overlap):
    text = ("alpha beta gamma delta " * 50 + "\n\n") * 8 + "x" * 900  # ends with an unbreakable run
    spans = split_sections(text, 500, overlap)
    assert all(0 < b - a <= 500 for a, b in spans)
    covered = set()
    for a, b in spans:
        covered.update(range(a, b))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


def test_short_documents_keep_their_path_text_and_id(tmp_path):
    (tmp_path / "note.md").write_text("\ufeffShort note.\n")
    (doc,) = load_documents([str(tmp_path)]).documents
    assert doc.path.endswith("note.md") and doc.text == "Short note." and doc.span == (1, 12)
    assert doc.id == Document(path=doc.path, text="Short note.").id


def test_bad_files_are_skipped_with_reasons(tmp_path, monkeypatch):
    (tmp_path / "big.md").write_text("x" * 200)
    (tmp_path / "empty.html").write_text("")
    (tmp_path / "bin.jsonl").write_bytes(b"\x00\x01{}")
    (tmp_path / "latin.html").write_bytes("<p>caf\xe9</p>".encode("latin-1"))
    monkeypatch.setattr(documents_module, "MAX_BYTES", 100)
    result = load_documents([str(tmp_path)])
    assert result.documents == []
    reasons = by_name(result)
    assert reasons["big.md"].startswith("file is too large")
    assert reasons["empty.html"] == "empty document"
    assert "binary" in reasons["bin.jsonl"]
    assert "not UTF-8" in reasons["latin.html"]
    assert documents_module.MAX_BYTES == 100 and "50 MB" not in reasons["big.md"]
