"""The agentic loop against CoT Self-Instruct, side by side, on the real-document corpus (evals/corpus.py):
one command, offline, on the embedded models by default.

    python -m autodata.evals.compare_methods --out runs/compare [--modes verifiable rubric]
        [--samples 2 --max-rounds 3 --eval-samples 4] [--profile local]

For every mode it builds the corpus (12 documents: maths, CS, legal), runs ``autodata generate`` with each
method into ``OUT/<method>-<mode>``, then ``autodata evaluate`` re-solves every accepted item with fresh
samples (k = ``--eval-samples``) and the script prints one table: documents, rounds, accepted items (for CoT:
those that passed the quality filter), how many of them pass the acceptance rule (weak fails, strong succeeds,
on the generation's scores), rounds, calls and tokens per item that passes it, wall time, and the re-solved
weak mean, strong mean and gap with their bootstrap 95% intervals, beside the paper's CS figures. A run
directory that exists is resumed (and so only re-read; its wall time is then the resume's): delete it to
measure again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from autodata.core.numbers import number
from autodata.core.records import ACCEPTED_FILE, read_records
from autodata.evals.corpus import build_corpus
from autodata.evals.evaluate import generation_cost
from autodata.rules.acceptance import decide

METHODS = ("cot", "agentic")
PAPER_CS = {
    "cot": {"weak_mean": 0.677, "strong_mean": 0.696, "gap": 0.019, "rounds_per_item": 6.59},
    "agentic": {"weak_mean": 0.458, "strong_mean": 0.772, "gap": 0.314, "rounds_per_item": 1.00},
}
"""The Autodata paper's CS figures (CoT Self-Instruct against the agentic loop)."""


def generate_command(corpus: Path, out: Path, method: str, mode: str, args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "autodata.cli", "generate", str(corpus), "--out", str(out)]
    command += ["--method", method, "--mode", mode, *model_args(args)]
    command += ["--samples", str(args.samples), "--max-rounds", str(args.max_rounds)]
    return [*command, "--concurrency", str(args.concurrency), "--no-dedup"]


def model_args(args: argparse.Namespace) -> list[str]:
    """The models options of both commands: a profile, or a config file, and overrides."""
    chosen = ["--config", args.config] if args.config else ["--profile", args.profile]
    return chosen + [arg for override in args.set for arg in ("--set", override)]


def evaluate_command(runs: list[Path], args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "autodata.cli", "evaluate", *map(str, runs)]
    return [*command, "--samples", str(args.eval_samples), *model_args(args)]


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def passing_agentic_rule(run_dir: Path) -> int:
    """Accepted items whose generation scores pass the acceptance rule of their preset: all of an agentic
    run's; of a CoT run's (accepted there = passed the quality filter), those the agentic loop would keep."""
    records = read_records(run_dir / ACCEPTED_FILE).records  # none when the run accepted nothing
    return sum(
        decide(r["preset"], r["weak_scores"], r["strong_scores"]).accepted
        for r in records
        if r.get("weak_scores") and r.get("strong_scores")
    )


def run_figures(run_dir: Path, wall: float) -> dict[str, Any]:
    """What generation cost and yielded (summary.json) and what re-solving measured (evaluation.json).
    Per-item figures are per item that passes the acceptance rule, the paper's measure for both methods."""
    summary = _read_json(run_dir / "summary.json")
    metrics = _read_json(run_dir / "evaluation.json").get("metrics", {})
    accepted = int(summary.get("accepted", 0))
    kept = passing_agentic_rule(run_dir)
    rounds = int(summary.get("rounds", 0))
    cost = generation_cost(run_dir, kept)
    return {
        "units": summary.get("documents"),
        "rounds": rounds,
        "solved": summary.get("items_solved", 0),
        "accepted": accepted,
        "kept": kept,
        "rounds_per_item": round(rounds / kept, 2) if kept else None,
        "calls_per_item": cost["calls_per_item"],
        "tokens_per_item": cost["tokens_per_item"],
        "wall": wall,
        "rejections": summary.get("rejections", {}),
        **{
            k: metrics.get(k)
            for k in ("weak_mean", "weak_ci95", "strong_mean", "strong_ci95", "gap", "gap_ci95")
        },
    }


def _num(value: Any, fmt: str = "{:.3f}") -> str:
    return number(value, fmt, missing="-")


def _ci(value: Any) -> str:
    return "-" if not value else f"[{value[0]:.2f}, {value[1]:.2f}]"


def table(rows: dict[str, dict[str, Any]], documents: int) -> str:
    lines = [
        f"documents: {documents}",
        "",
        "| run | units | rounds | reached solvers | accepted | pass the rule | rounds / item | calls / item "
        "| tokens / item | wall s | weak mean [95% CI] | strong mean [95% CI] | gap [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, f in rows.items():
        lines.append(
            f"| {name} | {f['units']} | {f['rounds']} | {f['solved']} | {f['accepted']} | {f['kept']} | "
            f"{_num(f['rounds_per_item'], '{:.2f}')} | {_num(f['calls_per_item'], '{:.1f}')} | "
            f"{_num(f['tokens_per_item'], '{:,.0f}')} | {f['wall']:.0f} | "
            f"{_num(f['weak_mean'])} {_ci(f['weak_ci95'])} | "
            f"{_num(f['strong_mean'])} {_ci(f['strong_ci95'])} | "
            f"{_num(f['gap'], '{:+.3f}')} {_ci(f['gap_ci95'])} |"
        )
    for method, paper in PAPER_CS.items():
        lines.append(
            f"| paper, CS, {method} | | | | | | {paper['rounds_per_item']:.2f} | | | | "
            f"{paper['weak_mean']:.3f} | {paper['strong_mean']:.3f} | {paper['gap']:+.3f} |"
        )
    lines += ["", "| run | rejections |", "|---|---|"]
    for name, f in rows.items():
        lines.append(f"| {name} | {', '.join(f'{k} {v}' for k, v in f['rejections'].items()) or '-'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autodata.evals.compare_methods", description=__doc__)
    parser.add_argument("--out", default="runs/compare")
    parser.add_argument(
        "--modes", nargs="+", choices=["verifiable", "rubric"], default=["verifiable", "rubric"]
    )
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--profile", default="local", help="models profile (default: the embedded models)")
    parser.add_argument("--config", help="models config file instead of a profile")
    parser.add_argument("--set", action="append", default=[], metavar="ROLE.FIELD=VALUE")
    parser.add_argument("--samples", type=int, default=2, help="solver answers per round in generation")
    parser.add_argument("--max-rounds", type=int, default=3)
    parser.add_argument(
        "--eval-samples", type=int, default=4, help="fresh answers per solver when re-solving"
    )
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.out)
    manifest = build_corpus(out / "corpus")
    rows: dict[str, dict[str, Any]] = {}
    for mode in args.modes:  # each mode is measured and printed before the next starts
        walls: dict[str, float] = {}
        for method in args.methods:
            name = f"{method}-{mode}"
            started = time.monotonic()
            done = subprocess.run(
                generate_command(out / "corpus", out / name, method, mode, args), check=False
            )
            walls[name] = time.monotonic() - started
            if done.returncode not in (0, 3):  # 3: nothing reached the solvers, still a measurement
                print(f"{name}: generate exited with {done.returncode}", file=sys.stderr)
                return done.returncode
        runs = [out / name for name in walls]
        pending = [r for r in runs if needs_evaluation(r)]
        if pending and subprocess.run(evaluate_command(pending, args), check=False).returncode != 0:
            print("evaluate failed", file=sys.stderr)
            return 1
        for run in runs:
            rows[run.name] = run_figures(run, walls[run.name])
        print(table(rows, len(manifest)), flush=True)
    return 0


def needs_evaluation(run_dir: Path) -> bool:
    """Accepted items not yet re-solved (an evaluation.json older than accepted.jsonl is redone)."""
    accepted, evaluation = run_dir / "accepted.jsonl", run_dir / "evaluation.json"
    if not accepted.is_file() or not accepted.stat().st_size:
        return False
    return not evaluation.is_file() or evaluation.stat().st_mtime < accepted.stat().st_mtime


if __name__ == "__main__":
    raise SystemExit(main())
