"""Near-duplicate questions: one similarity (:func:`question_similarity`) for the whole project.

A unit's new question that repeats one of its earlier attempts (``repeat``, at 0.5) is rejected before any
solving; across a run, the index holds every accepted question of the run directory (rebuilt from
``accepted.jsonl`` on resume), so a new accepted item whose question near-duplicates an earlier one (at 0.8)
is diverted to ``rejected.jsonl`` (reason ``duplicate``); ``autodata evaluate`` counts duplicates the same
way. MinHash LSH (the ``datasketch`` package) over the question's shingles and content words only proposes
candidates; the decision is the exact similarity, so it does not depend on hashing luck. Without
``datasketch`` every accepted question is compared directly (fine for thousands of items).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from autodata.rules.leakage import content_tokens

DEFAULT_THRESHOLD = 0.8
SHINGLE_WORDS = 3
NUM_PERM = 128
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[str]:
    """Lower-cased word ``size``-grams; a text shorter than ``size`` words is one shingle of all its words."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


REPEAT_THRESHOLD = 0.5
"""Similarity from which a unit's new question repeats one of its earlier attempts (stricter than the run-wide
near-duplicate threshold: a paraphrase that swaps a word or two is still the same question)."""


def question_similarity(a: str, b: str) -> float:
    """The larger of the word 3-shingle Jaccard and the content-word Jaccard: shingles catch reordered copies,
    content words catch paraphrases that swap single words ("a key advantage" / "a significant advantage")."""
    return _similarity(_features(a, SHINGLE_WORDS), _features(b, SHINGLE_WORDS))


def repeat_of(
    question: str, earlier: list[tuple[int, str]], threshold: float = REPEAT_THRESHOLD
) -> tuple[int, float] | None:
    """The ``(round, similarity)`` of the most similar earlier question at or above ``threshold``, or None."""
    best: tuple[int, float] | None = None
    for round_no, old in earlier:
        score = question_similarity(question, old)
        if score >= threshold and (best is None or score > best[1]):
            best = (round_no, round(score, 3))
    return best


def _features(question: str, shingle_words: int) -> tuple[frozenset[str], frozenset[str]]:
    return shingles(question, shingle_words), frozenset(content_tokens(question))


def _similarity(a: tuple[frozenset[str], frozenset[str]], b: tuple[frozenset[str], frozenset[str]]) -> float:
    """:func:`question_similarity` of two questions' features."""
    words = jaccard(a[1], b[1]) if a[1] or b[1] else 0.0
    return max(jaccard(a[0], b[0]), words)


class DuplicateIndex:
    """Accepted questions by id; :meth:`check` names the accepted item a new question near-duplicates
    (:func:`question_similarity` at or above the threshold)."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, shingle_words: int = SHINGLE_WORDS):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.shingle_words = shingle_words
        self._sets: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._lsh: Any = None
        try:
            from datasketch import MinHashLSH
        except ImportError:  # exact comparison with every accepted question
            MinHashLSH = None
        if MinHashLSH is not None:
            # a lower LSH threshold than the decision's: fewer missed candidates, confirmed exactly below
            self._lsh = MinHashLSH(threshold=max(0.05, threshold * 0.7), num_perm=NUM_PERM)

    def __len__(self) -> int:
        return len(self._sets)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._sets

    def _minhash(self, features: tuple[frozenset[str], frozenset[str]]) -> Any:
        from datasketch import MinHash

        m = MinHash(num_perm=NUM_PERM, seed=1)
        tokens = sorted(features[0]) + [f"word:{w}" for w in sorted(features[1])]
        m.update_batch([t.encode("utf-8") for t in tokens])
        return m

    def _candidates(self, features: tuple[frozenset[str], frozenset[str]]) -> list[str]:
        if self._lsh is None or not (features[0] or features[1]):
            return list(self._sets)
        keys: list[str] = self._lsh.query(self._minhash(features))
        return keys

    def find(self, question: str) -> tuple[str, float] | None:
        """The most similar accepted item at or above the threshold: ``(id, similarity)``, or None."""
        new = _features(question, self.shingle_words)
        best: tuple[str, float] | None = None
        for item_id in sorted(self._candidates(new)):
            score = _similarity(new, self._sets[item_id])
            if score >= self.threshold and (best is None or score > best[1]):
                best = (item_id, score)
        return best

    def add(self, item_id: str, question: str) -> None:
        if item_id in self._sets:
            return
        features = _features(question, self.shingle_words)
        self._sets[item_id] = features
        if self._lsh is not None and (features[0] or features[1]):
            self._lsh.insert(item_id, self._minhash(features))

    def check(self, item_id: str, question: str) -> tuple[str, float] | None:
        """None (and the question joins the index) when it is new or already accepted; else the
        ``(id, similarity)`` of the accepted item it near-duplicates."""
        if item_id in self._sets:
            return None
        found = self.find(question)
        if found is None:
            self.add(item_id, question)
        return found

    @classmethod
    def from_jsonl(cls, path: str | Path, threshold: float = DEFAULT_THRESHOLD) -> DuplicateIndex:
        """The index of the accepted items already in ``path`` (a torn last line is ignored)."""
        index = cls(threshold)
        path = Path(path)
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                        index.add(record["id"], record["question"])
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue
        return index


def near_duplicates(questions: list[str], threshold: float = DEFAULT_THRESHOLD) -> list[int | None]:
    """For each question, the index of the earlier one it near-duplicates (as a run's accepted items are
    checked), or None."""
    index = DuplicateIndex(threshold)
    found = [index.check(str(i), question) for i, question in enumerate(questions)]
    return [None if hit is None else int(hit[0]) for hit in found]
