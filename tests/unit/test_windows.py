"""Source windows: paragraph-aligned, covering the text, moving on every round."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from autodata.rules.windows import reflow, source_windows, window_for

paragraph = st.text(alphabet="abcdefgh .", min_size=1, max_size=400).filter(lambda p: p.strip())


@given(st.lists(paragraph, min_size=1, max_size=30), st.integers(min_value=200, max_value=3000))
def test_windows_cover_the_text_in_order_and_respect_the_size(paragraphs, size):
    text = "\n\n".join(paragraphs)
    windows = source_windows(text, size)
    assert windows[0][0] == 0 or not text[: windows[0][0]].strip()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(windows))
    covered = "".join(text[s:e] for s, e in windows)
    assert "".join(covered.split()) == "".join(text.split())  # nothing but whitespace is left out
    assert all(e - s <= size * 1.25 + 1 for s, e in windows)


def test_short_text_is_one_window_and_rounds_rotate():
    assert source_windows("short text", 100) == [[0, 10]]
    windows = [[0, 10], [10, 20], [20, 30]]
    assert [window_for(windows, r) for r in (1, 2, 3, 4)] == [[0, 10], [10, 20], [20, 30], [0, 10]]
    assert window_for(windows, 1, index=1) == [10, 20]  # parallel candidates of a round differ too


def test_with_several_candidates_a_round_starts_past_every_window_of_the_round_before():
    windows = [[0, 10], [10, 20], [20, 30], [30, 40], [40, 50]]
    round_one = [window_for(windows, 1, i, per_round=2) for i in (0, 1)]
    round_two = [window_for(windows, 2, i, per_round=2) for i in (0, 1)]
    assert round_one == [[0, 10], [10, 20]] and round_two == [[20, 30], [30, 40]]


def test_reflow_joins_wrapped_prose_and_keeps_lists_and_headings():
    text = "# Title\nA sentence that wraps\nonto a line.\n\n- item one\n- item two\nSection 2. Next\nline."
    joined = "# Title\nA sentence that wraps onto a line.\n\n- item one\n- item two\nSection 2. Next line."
    assert reflow(text) == joined
