"""Source windows: the part of a unit's text each challenger round is pointed at.

Small models write about the first thing they read; pointing every round at another region of the source
(and the same window to the challenger, the evidence check and the verifier) makes rounds differ and keeps
prompts short. Windows are paragraph-aligned spans ``[start, end)`` of the unit's text. Pure, no I/O.
"""

from __future__ import annotations

import re

from autodata.rules.withheld import SENTENCE_BREAK, works_something_out

DEFAULT_WINDOW_CHARS = 1200
_PARAGRAPH = re.compile(r"\n\s*\n")


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _PARAGRAPH.finditer(text):
        if text[start : match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def source_windows(text: str, size: int = DEFAULT_WINDOW_CHARS) -> list[list[int]]:
    """Consecutive paragraph-aligned windows of about ``size`` characters covering ``text`` (one window when
    the text is short; a paragraph longer than ``size`` is cut at the last sentence end before the limit)."""
    if len(text) <= size:
        return [[0, len(text)]]
    windows: list[list[int]] = []
    start: int | None = None
    end = 0  # read only while start is set
    for p_start, p_end in _paragraph_spans(text):
        while p_end - p_start > size:  # an over-long paragraph: cut at a sentence end
            cut = text.rfind(". ", p_start, p_start + size)
            cut = cut + 1 if cut > p_start else p_start + size
            if start is not None:
                windows.append([start, end])
                start = None
            windows.append([p_start, cut])
            p_start = cut
        if start is None:
            start, end = p_start, p_end
        elif p_end - start <= size:
            end = p_end
        else:
            windows.append([start, end])
            start, end = p_start, p_end
    if start is not None:
        windows.append([start, end])
    # a scrap of a last window joins its neighbour when they fit together
    last = windows[-1][1] - windows[-1][0] if windows else 0
    if len(windows) > 1 and last < size // 4 and windows[-1][1] - windows[-2][0] <= size * 1.25:
        windows[-2:] = [[windows[-2][0], windows[-1][1]]]
    return windows


def turn_of(round_no: int, index: int = 0, per_round: int = 1) -> int:
    """Which entry of a rotation (windows, worked examples, angles) candidate ``index`` of ``round_no``
    (1-based) gets when a round writes ``per_round`` candidates: every candidate of every round moves on, so
    no round starts where a candidate of the round before already was (measured with 2 candidates: round 2's
    first took round 1's second passage and asked its question again)."""
    return (round_no - 1) * max(1, per_round) + index


def window_for(windows: list[list[int]], round_no: int, index: int = 0, per_round: int = 1) -> list[int]:
    """The window of ``round_no`` (1-based) for candidate ``index``: each round and candidate moves on."""
    return windows[turn_of(round_no, index, per_round) % len(windows)]


_BLOCK_LINE = re.compile(r"^\s*([-*+>|#]|\d+[.)]\s|```)")


def reflow(text: str) -> str:
    """Hard-wrapped prose joined into one line per paragraph (lists, headings, tables and code keep their
    lines): a small model then copies whole sentences as evidence instead of line fragments."""
    out: list[str] = []
    for line in text.splitlines():
        joinable = out and out[-1].strip() and line.strip() and not _BLOCK_LINE.match(line)
        if joinable and not _BLOCK_LINE.match(out[-1]) and not out[-1].lstrip().startswith("#"):
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


DEFAULT_FOCUS_CHARS = 600
FOCUS_SENTENCES = 2
FOCUS_MIN_WORDS = 12
_FRAGMENT_WORDS = 4
"""A "sentence" shorter than this ("Section 3.", "Theorem 2.") is a label: it joins the sentence after it."""
_CUES = re.compile(
    r"\b(must|shall|may not|if|unless|where|within|at least|at most|when|only|except|until|before|after|"
    r"equals?|gives?|defined|called|means|returns?|implies|therefore|because|so that|per|each|every)\b|"
    r"[=<>^+*/]|\d+",
    re.IGNORECASE,
)
"""What a rule, a definition or a quantitative fact is made of: the passages a question can make a solver
apply to a new case."""


def sentence_spans(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, paragraph)`` of each sentence of the prose (headings, tables, code left out)."""
    spans: list[tuple[int, int, int]] = []
    in_code = False
    for number, (p_start, p_end) in enumerate(_paragraph_spans(text)):
        block = text[p_start:p_end]
        fenced = in_code or "```" in block
        in_code ^= block.count("```") % 2 == 1
        if fenced or block.lstrip().startswith(("#", "|", "---", ">>>")):  # ">>>": an interactive session
            continue
        start = p_start
        pending: int | None = None
        for match in [*SENTENCE_BREAK.finditer(block), None]:
            end = p_start + (match.start() if match else len(block.rstrip()))
            if len(text[start:end].split()) < _FRAGMENT_WORDS and match is not None:
                pending = start if pending is None else pending
            else:
                spans.append((start if pending is None else pending, end, number))
                pending = None
            if match is not None:
                start = p_start + match.end()
    return spans


def passage_sentences(passage: str) -> list[str]:
    """The sentences of a focus passage, whitespace-normalised, a label kept on its sentence ("Section 4. A
    landlord must ...")."""
    sentences = [" ".join(passage[s:e].split()) for s, e, _ in sentence_spans(passage)]
    return sentences or ([" ".join(passage.split())] if passage.strip() else [])


def _cue_score(passage: str) -> float:
    """Cues per word, damped for short passages: a rule with the sentence that qualifies it beats a
    lone clause."""
    return len(_CUES.findall(passage)) / (len(passage.split()) + 20)


def focus_windows(
    text: str, max_chars: int = DEFAULT_FOCUS_CHARS, max_sentences: int = FOCUS_SENTENCES
) -> list[list[int]]:
    """Short passages of ``text`` for the challenger, one per round: runs of up to ``max_sentences``
    consecutive sentences of one paragraph (at most ``max_chars``, unless one sentence is longer), that do
    not overlap: first the passages that work something out (autodata/rules/withheld.py), then those densest
    in rules, definitions and figures (then in source order).

    A small model writes a better item from two sentences it can read closely than from a page: it
    confuses parties and rules it read in passing. Text without sentences is one window, as before."""
    sentences = sentence_spans(text)
    groups: list[tuple[int, int]] = []
    for i, (start, end, paragraph) in enumerate(sentences):
        for j in range(i, min(i + max_sentences, len(sentences))):
            if sentences[j][2] != paragraph or (j > i and sentences[j][1] - start > max_chars):
                break
            end = sentences[j][1]
            if len(text[start:end].split()) >= FOCUS_MIN_WORDS or j == len(sentences) - 1:
                groups.append((start, end))
    ranked = sorted(
        set(groups),
        key=lambda g: (
            not works_something_out(text[g[0] : g[1]]),  # its own result makes the most reliable item
            -round(_cue_score(text[g[0] : g[1]]), 3),
            g[0],
            -g[1],
        ),
    )
    chosen: list[list[int]] = []
    for start, end in ranked:
        if all(end <= a or start >= b for a, b in chosen):
            chosen.append([start, end])
    return chosen or source_windows(text, max_chars)
