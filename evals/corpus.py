"""A corpus of real documents for measuring the method: 12 texts of three kinds (maths, CS, legal) that nobody
on the project wrote, cut from files a machine of ours already has, so nothing is downloaded or copied into
the repository.

- maths: notes on statistics from the docstrings of Python's ``statistics`` module (PSF licence);
- CS: Python's notes on heaps (``heapq.__about__``), semaphores, queues and condition variables (PSF licence);
- legal: clauses of the Apache 2.0, GPL 3 and MPL 2.0 licences (Debian's ``/usr/share/common-licenses``; each
  licence allows verbatim copies of itself) and the PSF licence agreement (Python's ``LICENSE.txt``).

The texts come from the Python that runs this and from Debian's base-files, so ``manifest.json`` records each
document's source, licence, size and sha256 beside the documents: figures are tied to the exact texts.

    python -m autodata.evals.corpus OUT_DIR
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import inspect
import json
import queue
import statistics
import sysconfig
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LICENSES_DIR = Path("/usr/share/common-licenses")
KINDS = ("maths", "cs", "legal")


class CorpusError(RuntimeError):
    """A source text is missing or no longer has the part a document is cut from."""


@dataclass(frozen=True)
class CorpusDoc:
    name: str
    kind: str
    title: str
    source: str
    licence: str
    text: Callable[[], str]


def _docstrings(*objects: object) -> Callable[[], str]:
    """The dedented docstrings of ``objects``, one paragraph group each."""

    def text() -> str:
        parts = [inspect.getdoc(o) for o in objects]
        if not all(parts):
            missing = [
                getattr(o, "__qualname__", repr(o)) for o, p in zip(objects, parts, strict=True) if not p
            ]
            raise CorpusError(f"no docstring on {', '.join(missing)} in this Python")
        return "\n\n".join(p for p in parts if p)

    return text


def between(text: str, start: str, end: str | None, *, where: str) -> str:
    """``text`` from the line holding ``start`` up to (not including) the line holding ``end`` (or the end of
    ``text``), each line stripped of its indentation."""
    begin = text.find(start)
    if begin < 0:
        raise CorpusError(f"{where}: {start!r} not found")
    begin = text.rfind("\n", 0, begin) + 1
    stop = len(text) if end is None else text.find(end, begin + len(start))
    if stop < 0:
        raise CorpusError(f"{where}: {end!r} not found after {start!r}")
    stop = len(text) if end is None else text.rfind("\n", 0, stop) + 1
    return "\n".join(line.strip() for line in text[begin:stop].splitlines()).strip()


def _licence_part(filename: str, start: str, end: str | None) -> Callable[[], str]:
    def text() -> str:
        path = LICENSES_DIR / filename
        if not path.is_file():
            raise CorpusError(f"{path} is missing (Debian's base-files package ships it)")
        return between(path.read_text(encoding="utf-8"), start, end, where=str(path))

    return text


def _python_licence() -> str:
    path = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if not path.is_file():
        raise CorpusError(f"{path} is missing (Python's licence is installed beside its standard library)")
    return between(
        path.read_text(encoding="utf-8"),
        "1. This LICENSE AGREEMENT is between the Python Software Foundation",
        "BEOPEN.COM LICENSE AGREEMENT",
        where=str(path),
    )


def _heap_notes() -> str:
    """The first part of François Pinard's explanation of heaps (tournaments, priority queues), before its
    long passage on sorting runs on tape."""
    return between(
        heapq.__about__, "Heaps are arrays", "In a word, heaps are useful", where="heapq.__about__"
    )


PSF = "Python Software Foundation License (Python standard library)"
DOCUMENTS: tuple[CorpusDoc, ...] = (
    CorpusDoc(
        "statistics_means",
        "maths",
        "Harmonic and geometric means",
        "Python statistics.harmonic_mean, statistics.geometric_mean",
        PSF,
        _docstrings(statistics.harmonic_mean, statistics.geometric_mean),
    ),
    CorpusDoc(
        "statistics_variance",
        "maths",
        "Sample and population variance",
        "Python statistics.variance, statistics.pvariance",
        PSF,
        _docstrings(statistics.variance, statistics.pvariance),
    ),
    CorpusDoc(
        "statistics_grouped_median",
        "maths",
        "The median of grouped data, and quantiles",
        "Python statistics.median_grouped, statistics.quantiles",
        PSF,
        _docstrings(statistics.median_grouped, statistics.quantiles),
    ),
    CorpusDoc(
        "statistics_regression",
        "maths",
        "Simple linear regression and correlation",
        "Python statistics.linear_regression, statistics.correlation",
        PSF,
        _docstrings(statistics.linear_regression, statistics.correlation),
    ),
    CorpusDoc("heaps", "cs", "Heap queues", "Python heapq.__about__ (by François Pinard)", PSF, _heap_notes),
    CorpusDoc(
        "semaphores",
        "cs",
        "Semaphores",
        "Python threading.Semaphore, Semaphore.acquire, Semaphore.release, BoundedSemaphore",
        PSF,
        _docstrings(
            threading.Semaphore,
            threading.Semaphore.acquire,
            threading.Semaphore.release,
            threading.BoundedSemaphore,
        ),
    ),
    CorpusDoc(
        "queues",
        "cs",
        "A bounded queue for threads",
        "Python queue.Queue.put, get, task_done, join",
        PSF,
        _docstrings(queue.Queue.put, queue.Queue.get, queue.Queue.task_done, queue.Queue.join),
    ),
    CorpusDoc(
        "condition_variables",
        "cs",
        "Condition variables and events",
        "Python threading.Condition.wait, Condition.wait_for, Condition.notify, Event.wait",
        PSF,
        _docstrings(
            threading.Condition.wait,
            threading.Condition.wait_for,
            threading.Condition.notify,
            threading.Event.wait,
        ),
    ),
    CorpusDoc(
        "apache_grants",
        "legal",
        "Apache License 2.0, sections 2-4",
        "/usr/share/common-licenses/Apache-2.0",
        "Apache License 2.0 (verbatim copies allowed)",
        _licence_part("Apache-2.0", "2. Grant of Copyright License.", "5. Submission of Contributions."),
    ),
    CorpusDoc(
        "gpl3_termination",
        "legal",
        "GNU GPL version 3, sections 8-10",
        "/usr/share/common-licenses/GPL-3",
        "GNU GPL v3 (verbatim copies allowed)",
        _licence_part("GPL-3", "8. Termination.", "11. Patents."),
    ),
    CorpusDoc(
        "mpl2_responsibilities",
        "legal",
        "Mozilla Public License 2.0, sections 3 and 5",
        "/usr/share/common-licenses/MPL-2.0",
        "Mozilla Public License 2.0 (verbatim copies allowed)",
        lambda: "\n\n".join(
            [
                _licence_part("MPL-2.0", "3. Responsibilities", "3.3. Distribution of a Larger Work")(),
                _licence_part("MPL-2.0", "5. Termination", "6. Disclaimer of Warranty")(),
            ]
        ),
    ),
    CorpusDoc(
        "psf_agreement",
        "legal",
        "PSF License Agreement for Python",
        "Python's LICENSE.txt",
        PSF,
        _python_licence,
    ),
)


def build_corpus(out_dir: str | Path, kinds: tuple[str, ...] = KINDS) -> list[dict]:
    """Writes ``out_dir/<kind>/<name>.md`` for every document of ``kinds`` and ``out_dir/manifest.json``
    (not a document: the loader reads .md, .txt, .rst, .html, .pdf and .jsonl); returns the manifest."""
    out = Path(out_dir)
    manifest = []
    for doc in DOCUMENTS:
        if doc.kind not in kinds:
            continue
        body = doc.text().strip()
        if len(body.split()) < 80:
            raise CorpusError(f"{doc.name}: only {len(body.split())} words from {doc.source}")
        content = f"# {doc.title}\n\n{body}\n"
        path = out / doc.kind / f"{doc.name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        manifest.append(
            {
                "name": doc.name,
                "kind": doc.kind,
                "path": str(path.relative_to(out)),
                "source": doc.source,
                "licence": doc.licence,
                "chars": len(content),
                "sha256": hashlib.sha256(content.encode("utf-8")).hexdigest(),
            }
        )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autodata.evals.corpus", description=__doc__)
    parser.add_argument("out", help="directory to write the documents and manifest.json into")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    args = parser.parse_args(argv)
    try:
        manifest = build_corpus(args.out, tuple(args.kinds))
    except CorpusError as exc:
        print(f"error: {exc}")
        return 2
    for entry in manifest:
        print(f"{entry['kind']:6} {entry['chars']:6} chars  {entry['path']}  ({entry['source']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
