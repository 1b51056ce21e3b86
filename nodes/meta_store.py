"""Files of a meta-optimisation run.

DIR/variants/<id>/{challenger,orchestrator,feedback,brief}.md   the variant's editable prompts
DIR/variants/<id>/meta.json      id, parent, changed prompt, diff vs parent, analysis, scores, cost
DIR/iterations.jsonl             one line per iteration (written once, even across resumes)
DIR/best/                        the best variant as a prompt directory (``autodata generate --prompts``)
DIR/report.md, DIR/pass_rate.png the iteration table and the validation pass rate over iterations
"""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path
from typing import Any

from autodata.core.numbers import number
from autodata.prompts.loader import OPTIMISED, PACKAGE_DIR

SEED = "seed"


def variant_dir(out: str | Path, variant: str) -> Path:
    return Path(out) / "variants" / variant


def package_prompts() -> dict[str, str]:
    return {name: (PACKAGE_DIR / f"{name}.md").read_text(encoding="utf-8") for name in OPTIMISED}


def read_prompts(out: str | Path, variant: str) -> dict[str, str]:
    folder = variant_dir(out, variant)
    return {name: (folder / f"{name}.md").read_text(encoding="utf-8") for name in OPTIMISED}


def write_prompts(folder: Path, prompts: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in OPTIMISED:
        (folder / f"{name}.md").write_text(prompts[name], encoding="utf-8")


def unified_diff(name: str, old: str, new: str, parent: str, child: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{parent}/{name}.md",
            tofile=f"{child}/{name}.md",
        )
    )


def read_meta(out: str | Path, variant: str) -> dict[str, Any]:
    path = variant_dir(out, variant) / "meta.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_meta(out: str | Path, variant: str, meta: dict[str, Any]) -> None:
    folder = variant_dir(out, variant)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / "meta.json")


def update_meta(out: str | Path, variant: str, **fields: Any) -> None:
    write_meta(out, variant, {**read_meta(out, variant), **fields})


def read_iterations(out: str | Path) -> list[dict[str, Any]]:
    path = Path(out) / "iterations.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def append_iteration(out: str | Path, row: dict[str, Any]) -> bool:
    """Append the iteration's line unless that iteration is already logged (a resumed node re-runs)."""
    if any(r.get("iteration") == row["iteration"] for r in read_iterations(out)):
        return False
    with (Path(out) / "iterations.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return True


def write_best(out: str | Path, variant: str) -> Path:
    best = Path(out) / "best"
    if best.exists():
        shutil.rmtree(best)
    write_prompts(best, read_prompts(out, variant))
    (best / "VARIANT").write_text(variant + "\n", encoding="utf-8")
    return best


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return number(value, "{:.3f}", missing="")


def write_report(out: str | Path, rows: list[dict[str, Any]], best: str, best_score: float | None) -> Path:
    out = Path(out)
    lines = [
        "# Meta-optimisation report",
        "",
        f"Best variant: `{best}` (mean validation pass rate {_pct(best_score)}); its prompts are in `best/`, "
        "usable as `autodata generate --prompts best`.",
        "",
        "| iter | parent | child | edited prompt | outcome | parent val | child val | child gap | "
        "best val | calls |",
        "|---:|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['iteration']} | {r['parent']} | {r.get('child') or ''} | {r.get('prompt') or ''} | "
            f"{r['outcome']} | {_pct(r.get('parent_pass_rate'))} | {_pct(r.get('child_pass_rate'))} | "
            f"{_num(r.get('child_gap'))} | "
            f"{_pct(r.get('best_pass_rate'))} | {r.get('cost', {}).get('calls', '')} |"
        )
    plot = write_plot(out, rows)
    lines += [
        "",
        f"![validation pass rate]({plot.name})" if plot else "(matplotlib is not installed: no plot)",
    ]
    details = [r for r in rows if r.get("detail")]
    if details:
        lines += ["", "## Notes", ""]
        lines += [f"- iteration {r['iteration']}: {r['detail']}" for r in details]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_plot(out: Path, rows: list[dict[str, Any]]) -> Path | None:
    """Validation pass rate over iterations: the best variant so far vs the seed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    xs = [r["iteration"] for r in rows]
    best = [100 * (r.get("best_pass_rate") or 0.0) for r in rows]
    seed = [100 * (r.get("seed_pass_rate") or 0.0) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(xs, best, marker="o", label="best variant")
    ax.plot(xs, seed, marker="s", linestyle="--", label="seed")
    children = [
        (r["iteration"], 100 * r["child_pass_rate"]) for r in rows if r.get("child_pass_rate") is not None
    ]
    if children:
        ax.scatter(*zip(*children, strict=True), marker="x", color="grey", label="child", zorder=3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("validation pass rate (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "pass_rate.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
