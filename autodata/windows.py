"""Source windows: the part of a unit's text each challenger round is pointed at.

Small models write about the first thing they read; pointing every round at another region of the source
(and the same window to the challenger, the evidence check and the verifier) makes rounds differ and keeps
prompts short. Windows are paragraph-aligned spans ``[start, end)`` of the unit's text. Pure, no I/O.
"""

from __future__ import annotations

import re

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
    start = end = None
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


def window_for(windows: list[list[int]], round_no: int, index: int = 0) -> list[int]:
    """The window of ``round_no`` (1-based) for candidate ``index``: each round and candidate moves on."""
    return windows[(round_no - 1 + index) % len(windows)]


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
