"""Throughput, overhead and memory benchmark of corpus-scale runs against a latency-simulating fake server.

    python -m autodata.evals.benchmark                      # 200 documents at concurrency 1, 8, 64 + memory
    python -m autodata.evals.benchmark --docs 200 --latency 0.5 --concurrency 1 8 64 --memory-docs 1000 10000

Each measurement runs in a fresh process (a clean peak RSS) against the fake OpenAI-compatible server in a
separate process (``autodata.evals.fake_openai_server``), so the server never competes for this process's
event loop (it does share the machine's cores). Printed per run: achieved vs ideal throughput for the
latency, LLM calls per accepted item, framework overhead per call (wall clock and CPU), the fake server's
CPU per call, peak memory.

Ideal: every document needs the same chain of 7 dependent calls (challenger -> verifier -> judge check ->
weak solver -> judge -> strong solver -> judge; the k samples of a step, and the judge check's two grades, run
in parallel), each taking ``latency``, and at most ``concurrency`` documents are in flight. Equal jobs on
identical slots cannot finish sooner than ``ceil(docs / concurrency)`` waves of ``7 * latency`` each, so that
is the ideal wall time (200 documents at concurrency 64 take 4 waves, not 3.125).

Overhead per call: the wall time beyond the ideal, spread over the calls each slot made
(``(wall - ideal) * concurrency / calls``); at concurrency 1 it is exactly the time per call spent outside
the simulated latency. CPU per call: the run's process CPU time (user + system) divided by the calls.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROLES = ("challenger", "verifier", "weak_solver", "strong_solver", "judge", "orchestrator")
DEPENDENT_STEPS = 7
"""challenger, verifier, judge check, weak solver, judge, strong solver, judge (parallel calls of a step)"""


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


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of another process (Linux ``/proc``), or None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def one_run(docs: int, concurrency: int, base_url: str, samples: int) -> dict:
    """Runs in the child process: one corpus through the Runner, figures as a dict."""
    from autodata import aio
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
    cpu_before = _cpu_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(
            Path(tmp) / "run",
            RunContext(models=registry, samples=samples, max_rounds=2),
            concurrency=concurrency,
        )
        started = time.perf_counter()
        summary = aio.run(runner.run(documents))
        wall = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    calls = sum(int(row["calls"]) for row in summary.calls.values())
    return {
        "docs": docs,
        "concurrency": concurrency,
        "wall_s": wall,
        "calls": calls,
        "accepted": summary.accepted,
        "rounds": summary.rounds,
        "errors": len(summary.errors),
        "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(docs: int, concurrency: int, latency: float, samples: int) -> dict:
    proc, url = start_fake_server(latency)
    server_before = process_cpu_seconds(proc.pid)
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
        server_after = process_cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if server_before is not None and server_after is not None:
        result["server_cpu_s"] = server_after - server_before
    return result


def ideal_wall(docs: int, concurrency: int, latency: float) -> float:
    """The shortest possible run: ``ceil(docs / concurrency)`` waves of the dependent chain."""
    return math.ceil(docs / concurrency) * DEPENDENT_STEPS * latency


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument(
        "--latency",
        type=float,
        nargs="+",
        default=[0.5],
        help="seconds per simulated LLM call (several: one table each)",
    )
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

    for latency in args.latency:
        print(
            f"throughput: {args.docs} documents, {latency}s per call, k={args.samples}, "
            f"{DEPENDENT_STEPS} dependent calls per accepted document"
        )
        print(
            f"{'conc':>5} {'wall s':>7} {'docs/s':>7} {'ideal':>7} {'% ideal':>8} {'calls/acc':>9} "
            f"{'ovh ms/call':>11} {'cpu ms/call':>11} {'server cpu':>10} {'peak MB':>8}"
        )
        for c in args.concurrency:
            r = measure(args.docs, c, latency, args.samples)
            best = ideal_wall(args.docs, c, latency)
            calls = max(r["calls"], 1)
            overhead = max(0.0, r["wall_s"] - best) * c / calls * 1000
            server = r.get("server_cpu_s")
            server_text = f"{server / calls * 1000:>10.2f}" if server is not None else f"{'n/a':>10}"
            print(
                f"{c:>5} {r['wall_s']:>7.1f} {r['docs'] / r['wall_s']:>7.2f} {r['docs'] / best:>7.2f} "
                f"{best / r['wall_s']:>8.1%} {r['calls'] / max(r['accepted'], 1):>9.1f} {overhead:>11.2f} "
                f"{r['cpu_s'] / calls * 1000:>11.2f} {server_text} {r['peak_rss_mb']:>8.0f}"
            )
        print()

    if args.memory_docs:
        print("memory (latency 0, concurrency 64): peak RSS should not grow with the corpus")
        print(f"{'docs':>7} {'wall s':>8} {'calls':>8} {'ms/call':>8} {'peak MB':>8}")
        for n in args.memory_docs:
            r = measure(n, 64, 0.0, args.samples)
            print(
                f"{n:>7} {r['wall_s']:>8.1f} {r['calls']:>8} {r['wall_s'] / r['calls'] * 1000:>8.2f} "
                f"{r['peak_rss_mb']:>8.0f}"
            )


if __name__ == "__main__":
    main()
