"""``autodata report DIR...``: one self-contained HTML page about one or more finished runs.

Per run: weak vs strong score distributions, the gap distribution, rounds per accepted item, rejection
reasons (``rejected.jsonl``) and the taxonomy distribution (``taxonomy.json`` from ``autodata taxonomy``,
when present). With several runs, a side-by-side comparison table and chart: metrics from
``evaluation.json`` (``autodata evaluate``) when a run has one, otherwise computed from ``accepted.jsonl``
(the generation-time scores). Then the data itself (:mod:`autodata.evals.report_units`): every accepted item
in full, a sample of rejected rounds per reason, each unit's trajectory, and a filter by document and reason.
Plots are matplotlib PNGs embedded as base64; the page loads nothing from anywhere (no external URLs, CSS
or JS; one inline script runs the filter, and without it everything is shown), so it can be mailed or
archived as a single file.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autodata.core.numbers import mean
from autodata.core.records import ACCEPTED_FILE, REJECTED_FILE, read_records
from autodata.evals.evaluate import EVALUATION_FILE, ROWS, _cell, generation_cost, summarize_items

TAXONOMY_FILE = "taxonomy.json"
REPORT_FILE = "report.html"
WEAK, STRONG, GAP, OTHER = "#d9822b", "#2b6cb0", "#6b46c1", "#718096"
CATEGORY_COLOURS = {"reasoning": "#2b6cb0", "knowledge": "#d9822b", "mixed": "#38a169"}

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #1a202c; padding: 0 1em; }
h1 { border-bottom: 2px solid #2b6cb0; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #cbd5e0; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #cbd5e0; padding: .3em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #edf2f7; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
figure img { max-width: 520px; border: 1px solid #e2e8f0; }
figcaption { font-size: .85em; color: #4a5568; }
.empty { color: #c53030; font-weight: bold; }
.note { color: #4a5568; font-size: .9em; }
"""


class ReportError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------- data


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None
    return value if isinstance(value, dict) else None


def load_run(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir)
    if not (path / ACCEPTED_FILE).is_file() and not (path / REJECTED_FILE).is_file():
        raise ReportError(f"not a run directory (no accepted.jsonl or rejected.jsonl): {run_dir}")
    return {
        "dir": path,
        "name": path.resolve().name or str(path),
        "accepted": read_records(path / ACCEPTED_FILE).records,
        "rejected": read_records(path / REJECTED_FILE).records,
        "evaluation": _read_json(path / EVALUATION_FILE),
        "taxonomy": _read_json(path / TAXONOMY_FILE),
        "summary": _read_json(path / "summary.json"),
    }


def run_metrics(run: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The run's metrics and where they come from (``evaluation.json`` or ``accepted.jsonl``)."""
    evaluation = run["evaluation"]
    if evaluation and isinstance(evaluation.get("metrics"), dict):
        return evaluation["metrics"], f"{EVALUATION_FILE} (k={evaluation.get('samples', '?')})"
    metrics = summarize_items(run["accepted"])
    metrics.update(generation_cost(run["dir"], len(run["accepted"])))
    return metrics, "accepted.jsonl (generation scores)"


def item_scores(record: dict[str, Any]) -> tuple[float | None, float | None]:
    weak = record.get("weak_mean")
    strong = record.get("strong_mean")
    if weak is None:
        weak = mean(record.get("weak_scores") or [])
    if strong is None:
        strong = mean(record.get("strong_scores") or [])
    return weak, strong


# ---------------------------------------------------------------------------------------------- plots


def _figure(width: float = 5.2, height: float = 3.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def _png(fig) -> str:
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:  # counts of items are whole numbers
        axis = ax.xaxis if ax.get_xlabel() in ("items", "rejected rounds") else ax.yaxis
        if ax.get_ylabel() == "items" or axis is ax.xaxis:
            axis.set_major_locator(MaxNLocator(integer=True))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_scores(accepted: list[dict[str, Any]]) -> str:
    weak = [w for w, _ in map(item_scores, accepted) if w is not None]
    strong = [s for _, s in map(item_scores, accepted) if s is not None]
    fig, ax = _figure()
    bins = [i / 10 for i in range(11)]
    ax.hist([weak, strong], bins=bins, label=["weak solver", "strong solver"], color=[WEAK, STRONG])
    ax.set_xlabel("mean score per item")
    ax.set_ylabel("items")
    ax.set_title("Weak vs strong scores")
    ax.legend()
    return _png(fig)


def plot_gaps(accepted: list[dict[str, Any]]) -> str:
    gaps = []
    for record in accepted:
        weak, strong = item_scores(record)
        gap = record.get("gap")
        if gap is None and weak is not None and strong is not None:
            gap = strong - weak
        if gap is not None:
            gaps.append(gap)
    fig, ax = _figure()
    ax.hist(gaps, bins=[i / 10 for i in range(-10, 11)], color=GAP)
    ax.axvline(0, color="#1a202c", linewidth=0.8)
    ax.set_xlabel("gap (strong mean - weak mean)")
    ax.set_ylabel("items")
    ax.set_title("Gap distribution")
    return _png(fig)


def _bar(counter: Counter, title: str, xlabel: str, colour: str = OTHER, horizontal: bool = False) -> str:
    labels = [str(k) for k in counter]
    values = list(counter.values())
    fig, ax = _figure(5.2, max(2.4, 0.35 * len(labels) + 1.2) if horizontal else 3.2)
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color=colour)
        ax.set_xlabel(xlabel)
    else:
        ax.bar(labels, values, color=colour)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("items")
    ax.set_title(title)
    return _png(fig)


def plot_rounds(accepted: list[dict[str, Any]]) -> str:
    rounds = Counter(int(r["rounds"]) for r in accepted if isinstance(r.get("rounds"), int | float))
    return _bar(Counter(dict(sorted(rounds.items()))), "Rounds per accepted item", "rounds", STRONG)


def plot_rejections(reasons: Counter) -> str:
    return _bar(Counter(dict(reasons.most_common())), "Rejection reasons", "rejected rounds", WEAK, True)


def plot_taxonomy(taxonomy: dict[str, Any]) -> str:
    rows = sorted(taxonomy.get("distribution") or [], key=lambda d: -d.get("count", 0))
    if taxonomy.get("unassigned"):
        rows.append({"type": "(unassigned)", "category": "", "count": taxonomy["unassigned"]})
    labels = [str(r["type"])[:40] for r in rows][::-1]
    values = [r.get("count", 0) for r in rows][::-1]
    colours = [CATEGORY_COLOURS.get(r.get("category", ""), OTHER) for r in rows][::-1]
    fig, ax = _figure(6.0, max(2.4, 0.35 * len(labels) + 1.2))
    ax.barh(labels, values, color=colours)
    ax.set_xlabel("items")
    ax.set_title("Question types")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=c, label=k) for k, c in CATEGORY_COLOURS.items()], fontsize="small")
    return _png(fig)


def plot_comparison(runs: list[dict[str, Any]], metrics: list[dict[str, Any]]) -> str:
    fig, ax = _figure(max(5.2, 1.6 * len(runs) + 2), 3.4)
    width = 0.27
    for offset, (key, label, colour) in enumerate(
        (("weak_mean", "weak mean", WEAK), ("strong_mean", "strong mean", STRONG), ("gap", "gap", GAP))
    ):
        xs = [i + (offset - 1) * width for i in range(len(runs))]
        ax.bar(xs, [m.get(key) or 0.0 for m in metrics], width, label=label, color=colour)
    ax.set_xticks(range(len(runs)), [r["name"] for r in runs])
    ax.axhline(0, color="#1a202c", linewidth=0.8)
    ax.set_title("Runs compared")
    ax.legend(fontsize="small")
    return _png(fig)


# ---------------------------------------------------------------------------------------------- html


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _img(data: str, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_esc(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def metrics_table(runs: list[dict[str, Any]], metrics: list[dict[str, Any]], sources: list[str]) -> str:
    head = "".join(f"<th>{_esc(r['name'])}</th>" for r in runs)
    rows = []
    for label, key, fmt in ROWS:
        cells = "".join(f"<td>{_esc(_cell(m.get(key), fmt))}</td>" for m in metrics)
        rows.append(f"<tr><td>{_esc(label)}</td>{cells}</tr>")
    rows.append(f"<tr><td>metrics from</td>{''.join(f'<td>{_esc(s)}</td>' for s in sources)}</tr>")
    thead = f"<thead><tr><th>metric</th>{head}</tr></thead>"
    return f'<table class="metrics">{thead}<tbody>{"".join(rows)}</tbody></table>'


def taxonomy_table(taxonomy: dict[str, Any]) -> str:
    rows = []
    definitions = {t.get("name"): t.get("definition", "") for t in taxonomy.get("types") or []}
    for d in taxonomy.get("distribution") or []:
        share = "-" if d.get("share") is None else f"{d['share']:.0%}"
        rows.append(
            f"<tr><td>{_esc(d['type'])}</td><td>{_esc(d.get('category', ''))}</td>"
            f"<td>{d.get('count', 0)}</td>"
            f"<td>{share}</td><td style='text-align:left'>{_esc(definitions.get(d['type'], ''))}</td></tr>"
        )
    head = "<tr><th>type</th><th>category</th><th>items</th><th>share</th><th>definition</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def run_section(run: dict[str, Any], data: str = "") -> str:
    """The run's statistics, then ``data`` (its items and trajectories,
    :mod:`autodata.evals.report_units`)."""
    accepted, rejected = run["accepted"], run["rejected"]
    parts = [f'<section class="run"><h2>Run: {_esc(run["name"])}</h2>']
    parts.append(
        f'<p class="note">{_esc(run["dir"])}: {len(accepted)} accepted item(s), {len(rejected)} rejected '
        f"round(s)</p>"
    )
    if accepted:
        parts.append("<h3>Scores</h3><div class='plots'>")
        parts.append(_img(plot_scores(accepted), "weak vs strong score distributions"))
        parts.append(_img(plot_gaps(accepted), "gap distribution"))
        parts.append("</div><h3>Rounds</h3><div class='plots'>")
        parts.append(_img(plot_rounds(accepted), "rounds per accepted item"))
        parts.append("</div>")
    else:
        parts.append('<p class="empty">no accepted items</p>')
    parts.append("<h3>Rejections</h3>")
    reasons = Counter(str(r.get("reason") or "unknown") for r in rejected)
    if reasons:
        parts.append(f"<div class='plots'>{_img(plot_rejections(reasons), 'rejection reasons')}</div>")
    else:
        parts.append('<p class="note">no rejected rounds</p>')
    taxonomy = run["taxonomy"]
    if taxonomy is not None:
        parts.append("<h3>Taxonomy</h3>")
        failures = (taxonomy.get("parse_failures") or {}).get("total", 0)
        n_types = len(taxonomy.get("types") or [])
        parts.append(
            f'<p class="note">{taxonomy.get("items", 0)} item(s), {n_types} type(s), '
            f"{taxonomy.get('unassigned', 0)} unassigned, {failures} parse failure(s)</p>"
        )
        if taxonomy.get("error"):
            parts.append(f'<p class="empty">taxonomy error: {_esc(taxonomy["error"])}</p>')
        if taxonomy.get("distribution"):
            parts.append(f"<div class='plots'>{_img(plot_taxonomy(taxonomy), 'taxonomy distribution')}</div>")
            parts.append(taxonomy_table(taxonomy))
    if data:
        parts.append(data)
    parts.append("</section>")
    return "\n".join(parts)


def build_report(run_dirs: list[str | Path], title: str = "autodata report") -> str:
    if not run_dirs:
        raise ReportError("give at least one run directory")
    from autodata.evals import report_units  # it reads runs through this module
    from autodata.evals.trajectory import unit_trajectories

    runs = [load_run(d) for d in run_dirs]
    units = [unit_trajectories(r["accepted"], r["rejected"]) for r in runs]
    computed = [run_metrics(r) for r in runs]
    metrics = [m for m, _ in computed]
    sources = [s for _, s in computed]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<h1>{_esc(title)}</h1>", f'<p class="note">{len(runs)} run(s); generated {stamp}</p>']
    body.append(report_units.filter_bar(units))
    heading = "Comparison" if len(runs) > 1 else "Metrics"
    body.append(f"<section><h2>{heading}</h2>")
    body.append(metrics_table(runs, metrics, sources))
    if len(runs) > 1 and any(m.get("weak_mean") is not None for m in metrics):
        body.append(f"<div class='plots'>{_img(plot_comparison(runs, metrics), 'runs compared')}</div>")
    body.append("</section>")
    for n, (run, run_units) in enumerate(zip(runs, units, strict=True), 1):
        body.append(run_section(run, report_units.data_sections(run_units, f"r{n}-")))
    body.append(f"<script>{report_units.FILTER_JS}</script>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title><style>{CSS}{report_units.CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def default_out(run_dirs: list[str | Path]) -> Path:
    return Path(run_dirs[0]) / REPORT_FILE if len(run_dirs) == 1 else Path(REPORT_FILE)


def write_report(run_dirs: list[str | Path], out: str | Path | None = None) -> Path:
    path = Path(out) if out else default_out(run_dirs)
    text = build_report(run_dirs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
