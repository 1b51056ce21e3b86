"""Item quality and speed of the embedded models, per role assignment: the figures of docs/RESULTS.md.

    python -m autodata.evals.embedded_results --out runs/embedded [--setup default weak-0.5b ...]
        [--samples 2 --max-rounds 3 --candidates 1] [PATHS ...]   # default PATHS: examples/

For every setup (a named role -> embedded model assignment) it runs ``autodata generate`` on the documents,
offline, then prints one table: rounds, the share of rounds whose item reached the solvers, accepted items,
rejections by reason, wall time, and calls / tokens / seconds per role; then every accepted item in full, so
a person can read what the setup produced. A setup already run into ``OUT/<setup>`` is resumed (and so
only re-read); delete the directory to measure it again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SETUPS: dict[str, list[str]] = {
    # the shipped default (autodata/core/config.py, profile "local"): 1.5B everywhere, SmolLM2-135M weak
    "default": [],
    # a weak solver closer to the strong one: asks for real difficulty
    "weak-0.5b": ["weak_solver.local=qwen2.5-0.5b", "weak_solver.model=qwen2.5-0.5b"],
    # the cheaper judge and verifier (2.5x faster on CPU)
    "judge-0.5b": [
        f"{role}.{field}=qwen2.5-0.5b" for role in ("judge", "verifier") for field in ("local", "model")
    ],
    # the previous default: 0.5B in every role but the weak solver
    "small": ["--profile", "local-small"],
}
ROLES = ("challenger", "verifier", "judge", "weak_solver", "strong_solver", "orchestrator")


def generate_command(setup: str, paths: list[str], out: Path, args: argparse.Namespace) -> list[str]:
    spec = SETUPS[setup]
    profile = spec[1] if spec[:1] == ["--profile"] else "local"
    overrides = [] if spec[:1] == ["--profile"] else spec
    command = [sys.executable, "-m", "autodata.cli", "generate", *paths, "--out", str(out)]
    command += ["--profile", profile, "--samples", str(args.samples), "--max-rounds", str(args.max_rounds)]
    command += ["--candidates", str(args.candidates), "--concurrency", "1", "--no-dedup"]
    for override in overrides:
        command += ["--set", override]
    return command


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def figures(run_dir: Path, wall: float | None = None) -> dict[str, Any]:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    rounds = summary["rounds"]
    return {
        "units": summary["documents"],
        "rounds": rounds,
        "solved": summary["items_solved"],
        "solved_share": summary["items_solved"] / rounds if rounds else 0.0,
        "accepted": summary["accepted"],
        "rejections": summary["rejections"],
        "wall": wall if wall is not None else summary["wall_seconds"],
        "calls": summary["calls"],
    }


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| setup | units | rounds | reached solvers | accepted | rejections | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for setup, f in rows.items():
        reasons = ", ".join(f"{k} {v}" for k, v in f["rejections"].items()) or "-"
        lines.append(
            f"| {setup} | {f['units']} | {f['rounds']} | {f['solved']} ({f['solved_share']:.0%}) | "
            f"{f['accepted']} | {reasons} | {f['wall']:.0f} |"
        )
    lines += [
        "",
        "| setup | role | calls | input tokens | output tokens | seconds | s/call |",
        "|---|---|---|---|---|---|---|",
    ]
    for setup, f in rows.items():
        for role in ROLES:
            row = f["calls"].get(role)
            if row:
                per = row["seconds"] / row["calls"] if row["calls"] else 0.0
                lines.append(
                    f"| {setup} | {role} | {int(row['calls'])} | {int(row['input_tokens'])} | "
                    f"{int(row['output_tokens'])} | {row['seconds']:.0f} | {per:.1f} |"
                )
    return "\n".join(lines)


def show_item(record: dict[str, Any]) -> str:
    rubric = "; ".join(f"({c['points']:+d}) {c['description']}" for c in record.get("rubric") or [])
    return "\n".join(
        [
            f"- [{record['mode']}] {Path(record['source']['path']).name}, round {record['rounds']}: "
            f"weak {record['weak_scores']} strong {record['strong_scores']}",
            f"  context: {record['context']}",
            f"  question: {record['question']}",
            f"  answer: {record['answer']}",
            *([f"  rubric: {rubric}"] if rubric else []),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autodata.evals.embedded_results", description=__doc__)
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "examples")])
    parser.add_argument("--out", default="runs/embedded")
    parser.add_argument("--setup", nargs="+", choices=list(SETUPS), default=["default"])
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--max-rounds", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=1, help="challenger candidates per round")
    args = parser.parse_args(argv)
    rows: dict[str, dict[str, Any]] = {}
    for setup in args.setup:
        out = Path(args.out) / setup
        started = time.monotonic()
        done = subprocess.run(generate_command(setup, args.paths, out, args), check=False)
        if done.returncode not in (0, 3):  # 3: nothing reached the solvers, still a measurement
            print(f"{setup}: generate exited with {done.returncode}", file=sys.stderr)
            continue
        rows[setup] = figures(out, time.monotonic() - started)
        rows[setup]["items"] = read_jsonl(out / "accepted.jsonl")
    print(table(rows))
    for setup, f in rows.items():
        print(f"\n## accepted items: {setup}\n")
        print("\n".join(show_item(r) for r in f["items"]) or "(none)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
