"""The data sections of ``autodata report``: every accepted item in full, a sample of rejected rounds per
reason with their candidate items, and each unit's trajectory round by round
(:mod:`autodata.evals.trajectory`), with a filter by document and reason.

The filter is a few lines of inline JavaScript that set ``hidden`` on the elements carrying ``data-doc`` /
``data-reasons``; it reads its starting values from the address (``report.html#doc=PATH&reason=too_easy``).
Without JavaScript the filter bar stays hidden and everything is shown; the unit tables link to each
trajectory (``#r1-unit-ID``), so the page still reads as plain HTML. Nothing is loaded from anywhere.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any

from autodata.evals.trajectory import ACCEPTED, Round, Unit, scores_text

SAMPLES_PER_REASON = 3

CSS = """
[hidden] { display: none !important; }
.filters { position: sticky; top: 0; background: #f7fafc; border: 1px solid #cbd5e0; padding: .5em 1em;
           margin: 1em 0; z-index: 1; }
.filters label { margin-right: 1.5em; }
article, section.unit { border: 1px solid #e2e8f0; border-radius: 4px; padding: .3em 1em; margin: .8em 0; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: .4em 0; }
dl.fields dt { font-weight: bold; color: #4a5568; }
dl.fields dd { margin: 0; white-space: pre-wrap; }
ol.rounds > li { margin: .6em 0; padding-left: .3em; border-left: 3px solid #e2e8f0; }
.reason { font-weight: bold; }
.accepted { color: #276749; } .rejected { color: #c53030; } .uncounted { color: #b7791f; }
pre.feedback { white-space: pre-wrap; background: #f7fafc; padding: .5em; font-size: .85em; }
details > summary { cursor: pointer; color: #2b6cb0; }
table.units th, table.units td { text-align: left; }
"""

FILTER_JS = """
(function () {
  var bar = document.getElementById("filters");
  if (!bar) return;
  var doc = document.getElementById("filter-doc"), why = document.getElementById("filter-reason");
  function apply(save) {
    var d = doc.value, r = why.value, shown = 0;
    document.querySelectorAll("[data-doc]").forEach(function (e) {
      var reasons = " " + (e.getAttribute("data-reasons") || "") + " ";
      e.hidden = Boolean(
        (d && e.getAttribute("data-doc") !== d) || (r && reasons.indexOf(" " + r + " ") < 0));
      if (!e.hidden && e.classList.contains("unit")) shown++;
    });
    document.querySelectorAll(".reason-group").forEach(function (g) {
      g.hidden = !g.querySelector("article:not([hidden])");
    });
    document.getElementById("filter-count").textContent = shown + " unit(s) shown";
    if (save) {
      try { history.replaceState(null, "", "#" + new URLSearchParams({doc: d, reason: r})); } catch (e) {}
    }
  }
  var start = new URLSearchParams(location.hash.slice(1));
  if (start.has("doc")) doc.value = start.get("doc");
  if (start.has("reason")) why.value = start.get("reason");
  doc.onchange = why.onchange = function () { apply(true); };
  bar.hidden = false;
  apply(false);
})();
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _token(reason: str) -> str:
    """A reason as one word of ``data-reasons`` (reasons are snake_case; this only guards odd files)."""
    return "_".join(str(reason).split()) or "unknown"


def _span(unit: Unit) -> str:
    return "-".join(map(str, unit["span"])) or "-"


def _filter_attrs(document: str, reasons: list[str]) -> str:
    return f'data-doc="{_esc(document)}" data-reasons="{_esc(" ".join(map(_token, reasons)))}"'


def _fields(rows: list[tuple[str, str]]) -> str:
    """A definition list of the rows with a value (values are HTML already)."""
    cells = "".join(f"<dt>{_esc(label)}</dt><dd>{value}</dd>" for label, value in rows if value)
    return f'<dl class="fields">{cells}</dl>'


def _rubric(rubric: list[dict[str, Any]]) -> str:
    if not rubric:
        return ""
    rows = "".join(
        f"<li>({_esc(c.get('points', '?'))} pt) {_esc(c.get('description', ''))}</li>" for c in rubric
    )
    return f"<ol>{rows}</ol>"


def item_fields(item: dict[str, Any]) -> list[tuple[str, str]]:
    """An item's fields in reading order: what the solver saw, what it was asked, the reference."""
    evidence = "".join(f"<li>{_esc(e)}</li>" for e in item.get("evidence") or [])
    return [
        ("context", _esc(item.get("context") or "")),
        ("question", _esc(item.get("question") or "")),
        ("answer", _esc(item.get("answer") or "")),
        (
            "solution",
            f"<pre>{_esc(item['program'])}</pre>"
            if item.get("program")
            else _esc(item.get("solution") or ""),
        ),
        ("repaired", _esc("; ".join(item.get("repairs") or []))),
        ("rubric", _rubric(item.get("rubric") or [])),
        ("evidence", f"<ul>{evidence}</ul>" if evidence else ""),
        ("type", _esc(item.get("question_type") or "")),
        ("skills", _esc(", ".join(item.get("skills") or []))),
    ]


def _reason(r: Round) -> str:
    kind = ACCEPTED if r["reason"] == ACCEPTED else "rejected" if r["counted"] else "uncounted"
    return f'<span class="reason {kind}">{_esc(r["reason"])}</span>'


def _round_title(r: Round) -> str:
    attempt = "" if r["attempt"] is None else f" (attempt {r['attempt']})"
    return f"round {r['round']}{attempt} · {_reason(r)}"


def _verdicts(r: Round) -> str:
    return "<br>".join(
        f"candidate {v['index']}: {_esc(v['reason'])}"
        + (f": {_esc(v['feedback'])}" if v["feedback"] and v["feedback"] != r["detail"] else "")
        for v in r["verdicts"]
    )


def _candidates(r: Round, open_: bool) -> str:
    parts = []
    for v in r["verdicts"]:
        if v["item"] is None:
            continue
        question = _esc((v["item"].get("question") or "")[:120])
        summary = f"candidate {v['index']} ({_esc(v['reason'])}): {question}"
        parts.append(
            f"<details{' open' if open_ else ''}><summary>{summary}</summary>"
            f"{_fields(item_fields(v['item']))}</details>"
        )
    return "".join(parts)


def _feedback(r: Round) -> str:
    if not r["feedback_next"]:
        return ""
    return (
        f"<details><summary>feedback sent next ({len(r['feedback_next'])} characters)</summary>"
        f'<pre class="feedback">{_esc(r["feedback_next"])}</pre></details>'
    )


def round_body(r: Round, prefix: str, *, open_candidates: bool = False) -> str:
    item = r["accepted"]
    rows = [
        ("question", _esc(r["question"] or "(no item)")),
        ("verdicts", _verdicts(r)),
        ("scores", _esc(scores_text(r))),
        ("detail", _esc(r["detail"])),
    ]
    if item is not None:
        link = f'<a href="#{prefix}item-{_esc(item.get("id", ""))}">the item in full</a>'
        rows += [("answer", _esc(item.get("answer") or "")), ("accepted", link)]
    return _fields(rows) + _candidates(r, open_candidates) + _feedback(r)


def accepted_section(units: list[Unit], prefix: str) -> str:
    items = [(u, item) for u in units for item in u["accepted"]]
    parts = [f"<h3>Accepted items ({len(items)})</h3>"]
    if not items:
        parts.append('<p class="empty">no accepted items</p>')
    for n, (unit, item) in enumerate(items, 1):
        unit_link = f'<a href="#{prefix}unit-{unit["id"]}">{_esc(unit["name"])}</a>'
        head = (
            f"<h4>item {n} · {unit_link} · {_esc(item.get('mode', ''))} · {_esc(item.get('rounds', '?'))} "
            f"round(s)</h4>"
        )
        rows = [*item_fields(item), ("scores", _esc(scores_text(item))), ("id", _esc(item.get("id", "")))]
        parts.append(
            f'<article class="item" id="{prefix}item-{_esc(item.get("id", ""))}" '
            f"{_filter_attrs(unit['document'], unit['reasons'])}>{head}{_fields(rows)}</article>"
        )
    return "\n".join(parts)


def sample_rounds(rounds: list[tuple[Unit, Round]], k: int = SAMPLES_PER_REASON) -> list[tuple[Unit, Round]]:
    """Up to ``k`` of ``rounds``, one per unit first (in unit order), then the units' later rounds."""
    firsts, rest, seen = [], [], set()
    for unit, r in rounds:
        (rest if unit["id"] in seen else firsts).append((unit, r))
        seen.add(unit["id"])
    return (firsts + rest)[:k]


def rejected_section(units: list[Unit], prefix: str) -> str:
    by_reason: dict[str, list[tuple[Unit, Round]]] = {}
    for unit in units:
        for r in unit["rounds"]:
            if r["reason"] != ACCEPTED:
                by_reason.setdefault(r["reason"], []).append((unit, r))
    parts = ["<h3>Rejected rounds by reason</h3>"]
    if not by_reason:
        parts.append('<p class="note">no rejected rounds</p>')
    else:
        parts.append(
            f'<p class="note">up to {SAMPLES_PER_REASON} rounds per reason (from different units first), '
            "each with its candidate items in full</p>"
        )
    for reason, rounds in sorted(by_reason.items(), key=lambda pair: -len(pair[1])):
        chosen = sample_rounds(rounds)
        plural = "round" if len(rounds) == 1 else "rounds"
        parts.append(
            f'<div class="reason-group"><h4>{_esc(reason)}: {len(rounds)} {plural}, {len(chosen)} shown</h4>'
        )
        for unit, r in chosen:
            link = f'<a href="#{prefix}unit-{unit["id"]}">{_esc(unit["name"])}</a>'
            parts.append(
                f"<article {_filter_attrs(unit['document'], [reason])}><h5>{link} · {_round_title(r)}</h5>"
                f"{round_body(r, prefix, open_candidates=True)}</article>"
            )
        parts.append("</div>")
    return "\n".join(parts)


def units_table(units: list[Unit], prefix: str) -> str:
    head = "<tr><th>unit</th><th>span</th><th>outcome</th><th>rounds</th><th>reasons</th></tr>"
    rows = [
        f"<tr {_filter_attrs(u['document'], u['reasons'])}>"
        f'<td><a href="#{prefix}unit-{u["id"]}">{_esc(u["name"])}</a></td><td>{_span(u)}</td>'
        f"<td>{_esc(u['outcome'])}</td><td>{len(u['rounds'])}</td>"
        f"<td>{_esc(', '.join(u['reasons']))}</td></tr>"
        for u in units
    ]
    return f'<table class="units"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def unit_section(unit: Unit, prefix: str) -> str:
    rounds = "".join(
        f'<li data-reason="{_esc(_token(r["reason"]))}"><div>{_round_title(r)}</div>'
        f"{round_body(r, prefix)}</li>"
        for r in unit["rounds"]
    )
    head = (
        f"<h4>{_esc(unit['name'])} · unit {unit['id']} · span {_span(unit)} · {_esc(unit['outcome'])}, "
        f"{len(unit['rounds'])} round(s)</h4>"
    )
    return (
        f'<section class="unit" id="{prefix}unit-{unit["id"]}" '
        f"{_filter_attrs(unit['document'], unit['reasons'])}>"
        f'{head}<p class="note">{_esc(unit["source"])}</p><ol class="rounds">{rounds}</ol></section>'
    )


def trajectories_section(units: list[Unit], prefix: str) -> str:
    parts = [f"<h3>Trajectories ({len(units)} units)</h3>"]
    if units:
        parts.append(units_table(units, prefix))
    parts.extend(unit_section(u, prefix) for u in units)
    return "\n".join(parts)


def data_sections(units: list[Unit], prefix: str) -> str:
    """A run's accepted items, rejected samples and trajectories; ``prefix`` keeps its anchors unique."""
    sections = (accepted_section, rejected_section, trajectories_section)
    return "\n".join(section(units, prefix) for section in sections)


def _labels(documents: list[str]) -> dict[str, str]:
    """A document's file name, or its path where two documents share a file name."""
    names = Counter(Path(d).name for d in documents)
    return {d: Path(d).name if names[Path(d).name] == 1 and d else d or "(no source)" for d in documents}


def filter_bar(runs: list[list[Unit]]) -> str:
    """One filter for the whole page (the same document in several runs is shown side by side)."""
    units = [u for run in runs for u in run]
    labels = _labels(sorted({u["document"] for u in units}))
    reasons = Counter(_token(r["reason"]) for u in units for r in u["rounds"])
    documents = "".join(f'<option value="{_esc(d)}">{_esc(label)}</option>' for d, label in labels.items())
    why = "".join(f'<option value="{_esc(r)}">{_esc(r)} ({n})</option>' for r, n in reasons.most_common())
    return (
        '<nav class="filters" id="filters" hidden>'
        f'<label>document <select id="filter-doc"><option value="">all</option>{documents}</select></label>'
        f'<label>reason <select id="filter-reason"><option value="">all</option>{why}</select></label>'
        '<span id="filter-count" class="note"></span></nav>'
        '<noscript><p class="note">Without JavaScript the filters are off and every unit is shown; the '
        "unit tables link to each trajectory.</p></noscript>"
    )
