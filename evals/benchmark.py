"""Throughput, overhead and memory benchmark of corpus-scale runs against a latency-simulating fake server.

    python -m autodata.evals.benchmark                      # 200 documents at concurrency 1, 8, 64 + memory
    python -m autodata.evals.benchmark --docs 200 --latency 0.5 --concurrency 1 8 64 --memory-docs 1000 10000

Each measurement runs in a fresh process (a clean peak RSS) against the fake OpenAI-compatible server in a
separate process (``autodata.evals.fake_openai_server``), so the server never competes for this process's
event loop. Printed per run: achieved vs ideal throughput for the latency, LLM calls per accepted item,
framework overhead per call, peak memory. Ideal throughput: every document needs the same chain of
dependent calls (challenger -> verifier -> weak solver -> judge -> strong solver -> judge), each taking
``latency``, so ``concurrency`` documents finish every ``steps * latency`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROLES = ("challenger", "verifier", "weak_solver", "strong_solver", "judge", "orchestrator")
DEPENDENT_STEPS = (
    6  # challenger, verifier, weak solver, judge, strong solver, judge (k samples run in parallel)
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_fake_server(latency: float) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autodata.evals.fake_openai_server",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import httpx

    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/models", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("fake server did not start")


def one_run(docs: int, concurrency: int, base_url: str, samples: int) -> dict:
    """Runs in the child process: one corpus through the Runner, figures as a dict."""
    from autodata.config import load_models_config
    from autodata.context import RunContext
    from autodata.documents import Document
    from autodata.models import OpenAIModelRegistry
    from autodata.runner import Runner

    env = {}
    for role in ROLES:
        prefix = f"AUTODATA_{role.upper()}_"
        env |= {
            prefix + "BASE_URL": base_url,
            prefix + "MODEL": f"fake-{role}",
            prefix + "API_KEY_ENV": "none",
            prefix + "STRUCTURED_OUTPUT": "json_object_schema",
            prefix + "TIMEOUT": "120",
        }
    config = load_models_config(
        "local", environ=env, overrides=[f"all.max_parallel={max(concurrency * 4, 8)}"]
    )
    registry = OpenAIModelRegistry(config)
    documents = [
        Document(path=f"bench/doc{i:06d}.md", text=f"Document {i}: caches evict the least recently used key.")
        for i in range(docs)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(
            Path(tmp) / "run",
            RunContext(models=registry, samples=samples, max_rounds=2),
            concurrency=concurrency,
        )
        started = time.perf_counter()
        summary = asyncio.run(runner.run(documents))
        wall = time.perf_counter() - started
    calls = sum(int(row["calls"]) for row in summary.calls.values())
    return {
        "docs": docs,
        "concurrency": concurrency,
        "wall_s": wall,
        "calls": calls,
        "accepted": summary.accepted,
        "rounds": summary.rounds,
        "errors": len(summary.errors),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(docs: int, concurrency: int, latency: float, samples: int) -> dict:
    proc, url = start_fake_server(latency)
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "autodata.evals.benchmark",
                "--child",
                str(docs),
                str(concurrency),
                url,
                str(samples),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "LANGSMITH_TRACING": "false"},
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per simulated LLM call")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument(
        "--memory-docs",
        type=int,
        nargs="*",
        default=[1000, 10000],
        help="corpus sizes for the memory check (latency 0, concurrency 64)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        docs, concurrency, url, samples = args.child
        print(json.dumps(one_run(int(docs), int(concurrency), url, int(samples))))
        return

    print(
        f"throughput: {args.docs} documents, {args.latency}s per call, k={args.samples}, "
        f"{DEPENDENT_STEPS} dependent calls per accepted document"
    )
    print(
        f"{'conc':>5} {'wall s':>8} {'docs/s':>8} {'ideal':>8} {'% ideal':>8} {'calls/acc':>9} "
        f"{'ovh ms/call':>11} {'peak MB':>8}"
    )
    for c in args.concurrency:
        r = measure(args.docs, c, args.latency, args.samples)
        ideal = c / (DEPENDENT_STEPS * args.latency)
        achieved = r["docs"] / r["wall_s"]
        ideal_wall = args.docs / ideal
        overhead = max(0.0, r["wall_s"] - ideal_wall) * c / max(r["calls"], 1) * 1000
        per_accepted = r["calls"] / max(r["accepted"], 1)
        print(
            f"{c:>5} {r['wall_s']:>8.1f} {achieved:>8.2f} {ideal:>8.2f} {achieved / ideal:>8.1%} "
            f"{per_accepted:>9.1f} {overhead:>11.2f} {r['peak_rss_mb']:>8.0f}"
        )

    if args.memory_docs:
        print("\nmemory (latency 0, concurrency 64): peak RSS should not grow with the corpus")
        print(f"{'docs':>7} {'wall s':>8} {'calls':>8} {'ms/call':>8} {'peak MB':>8}")
        for n in args.memory_docs:
            r = measure(n, 64, 0.0, args.samples)
            print(
                f"{n:>7} {r['wall_s']:>8.1f} {r['calls']:>8} {r['wall_s'] / r['calls'] * 1000:>8.2f} "
                f"{r['peak_rss_mb']:>8.0f}"
            )


if __name__ == "__main__":
    main()
