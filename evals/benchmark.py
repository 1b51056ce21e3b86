"""Throughput, overhead and memory benchmark of corpus-scale runs against a latency-simulating fake server,
beside a raw-client baseline making the same requests.

    python -m autodata.evals.benchmark                      # 200 documents at concurrency 1, 8, 64 + memory
    python -m autodata.evals.benchmark --docs 200 --latency 0.5 --concurrency 64 --memory-docs 1000 10000
    python -m autodata.evals.benchmark --docs 200 --concurrency 64 --memory-docs --profile 25

Each measurement runs in a fresh process (a clean peak RSS) against a fresh fake OpenAI-compatible server in
a separate process (``autodata.evals.fake_openai_server``), so the server never competes for this process's
event loop (it does share the machine's cores). The pipeline runs as ``autodata generate`` runs it (Runner,
checkpoints, a response cache, a counting budget); after each pipeline row comes the raw-client baseline's
(``autodata.evals.raw_baseline``: the pipeline's own recorded requests, sent with plain ``AsyncOpenAI``, the
same concurrency and event loop) and the ratio of the two. Printed per run: achieved vs ideal throughput for
the latency, LLM calls per accepted item, framework overhead per call (wall clock and CPU), the fake server's
CPU per call, peak memory. ``--profile N`` adds a cProfile run of the pipeline (CPU time by package and the
top N functions, per call).

Ideal: every document needs the same chain of dependent steps (challenger -> verifier -> judge check ->
weak solver -> judge -> strong solver -> judge, 7 steps; the k samples of a step, and the judge check's two
grades, run in parallel), each taking ``latency``, and at most ``concurrency`` documents are in flight. Equal
jobs on identical slots cannot finish sooner than ``ceil(docs / concurrency)`` waves of ``7 * latency`` each,
so that is the ideal wall time (200 documents at concurrency 64 take 4 waves, not 3.125).

Overhead per call: the wall time beyond the ideal, spread over the calls each slot made
(``(wall - ideal) * concurrency / calls``); at concurrency 1 it is exactly the time per call spent outside
the simulated latency. CPU per call: the run's process CPU time (user + system, from after the imports)
divided by the calls.
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
from typing import Any

from autodata.llm.cache import ResponseCache

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


class BenchmarkCache(ResponseCache):
    """The response cache as a run pays for it, a lookup and a write per call, without its replays: the
    benchmark's documents are alike, so their judge prompts (question, rubric, answer) are the same and a
    real cache would answer most judge calls from the first document's. Real documents' prompts differ."""

    def get(self, key: str) -> None:
        super().get(key)
        return None


def pipeline_registry(base_url: str, concurrency: int, out_dir: Path) -> Any:
    """The role models as ``autodata generate`` opens them: every role on the fake server, a response cache
    in the run directory (:class:`BenchmarkCache`) and a budget that only counts; no near-duplicate check
    (the documents are alike: rejecting their items as duplicates would change the call pattern)."""
    from autodata.core.config import endpoint_env, load_models_config
    from autodata.llm.accounting import Budget
    from autodata.llm.models import OpenAIModelRegistry

    env = endpoint_env(base_url, "fake-", TIMEOUT="120")
    config = load_models_config(
        "local", environ=env, overrides=[f"all.max_parallel={max(concurrency * 4, 8)}"]
    )
    return OpenAIModelRegistry(config, cache=BenchmarkCache(out_dir / "responses.sqlite"), budget=Budget())


def run_pipeline(docs: int, concurrency: int, base_url: str, samples: int, out_dir: Path) -> dict:
    """One corpus of ``docs`` alike documents through the Runner; the summary's figures and the wall time."""
    from autodata.core import aio
    from autodata.core.context import RunContext
    from autodata.data.documents import Document
    from autodata.run.runner import Runner

    documents = [
        Document(path=f"bench/doc{i:06d}.md", text=f"Document {i}: caches evict the least recently used key.")
        for i in range(docs)
    ]
    registry = pipeline_registry(base_url, concurrency, out_dir)
    runner = Runner(
        out_dir / "run",
        RunContext(models=registry, samples=samples, max_rounds=2),
        concurrency=concurrency,
    )
    started = time.perf_counter()
    summary = aio.run(runner.run(documents))
    wall = time.perf_counter() - started
    registry.cache.close()
    return {
        "docs": docs,
        "concurrency": concurrency,
        "wall_s": wall,
        "calls": sum(int(row["calls"]) for row in summary.calls.values()),
        "accepted": summary.accepted,
        "rounds": summary.rounds,
        "errors": len(summary.errors),
    }


def one_run(docs: int, concurrency: int, base_url: str, samples: int, profile: int = 0) -> dict:
    """Runs in the child process: one pipeline run, figures as a dict; with ``profile``, under cProfile,
    whose top entries it prints first."""
    # imported before the clock starts (the raw baseline's child imports the SDK first too): a fixed cost
    # of the process, not of its calls
    import langchain_openai  # noqa: F401
    import openai.types.chat  # noqa: F401

    import autodata.run.runner  # noqa: F401

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: idle waits are no one's cost
    cpu_before = _cpu_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        if profiler is not None:
            profiler.enable()
        result = run_pipeline(docs, concurrency, base_url, samples, Path(tmp))
        if profiler is not None:
            profiler.disable()
    result["cpu_s"] = _cpu_seconds() - cpu_before
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profiler is not None:
        from autodata.evals.profile_report import print_profile

        print_profile(profiler, profile, calls=result["calls"])
    return result


def measure(
    docs: int,
    concurrency: int,
    latency: float,
    samples: int,
    *,
    pattern: Path | None = None,
    profile: int = 0,
) -> dict:
    """One run in a fresh process against a fresh fake server: the pipeline, or with ``pattern`` (a
    recorded call pattern) the raw-client baseline."""
    proc, url = start_fake_server(latency)
    server_before = process_cpu_seconds(proc.pid)
    child = (
        ["--raw", str(docs), str(concurrency), url, str(pattern), str(profile)]
        if pattern
        else ["--child", str(docs), str(concurrency), url, str(samples), str(profile)]
    )
    try:
        out = subprocess.run(
            [sys.executable, "-m", "autodata.evals.benchmark", *child],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "LANGSMITH_TRACING": "false"},
        )
        server_after = process_cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = out.stdout.strip().splitlines()
    if len(lines) > 1:  # a profile
        print("\n".join(lines[:-1]))
    result = json.loads(lines[-1])
    if server_before is not None and server_after is not None:
        result["server_cpu_s"] = server_after - server_before
    return result


def ideal_wall(docs: int, concurrency: int, latency: float, steps: int = DEPENDENT_STEPS) -> float:
    """The shortest possible run: ``ceil(docs / concurrency)`` waves of the dependent chain."""
    return math.ceil(docs / concurrency) * steps * latency


def record_pattern(samples: int, folder: Path) -> tuple[Path, list[int]]:
    """The pipeline's call pattern for one document, saved for the raw baseline's child; the number of
    requests of each step."""
    from autodata.evals.raw_baseline import record_call_pattern

    steps = record_call_pattern(samples, run_pipeline)
    path = folder / "pattern.json"
    path.write_text(json.dumps(steps), encoding="utf-8")
    return path, [len(step) for step in steps]


COLUMNS = (
    f"{'conc':>5} {'client':<8} {'wall s':>7} {'docs/s':>7} {'ideal':>7} {'% ideal':>8} {'calls/acc':>9} "
    f"{'ovh ms/call':>11} {'cpu ms/call':>11} {'server cpu':>10} {'peak MB':>8}"
)


def row(client: str, r: dict, concurrency: int, latency: float, steps: int) -> tuple[str, float, float]:
    """A table line, the share of the ideal and the CPU ms per call."""
    best = ideal_wall(r["docs"], concurrency, latency, steps)
    calls = max(r["calls"], 1)
    overhead = max(0.0, r["wall_s"] - best) * concurrency / calls * 1000
    server = r.get("server_cpu_s")
    server_text = f"{server / calls * 1000:>10.2f}" if server is not None else f"{'n/a':>10}"
    cpu = r["cpu_s"] / calls * 1000
    share = best / r["wall_s"]
    line = (
        f"{concurrency:>5} {client:<8} {r['wall_s']:>7.1f} {r['docs'] / r['wall_s']:>7.2f} "
        f"{r['docs'] / best:>7.2f} {share:>8.1%} {r['calls'] / max(r['accepted'], 1):>9.1f} "
        f"{overhead:>11.2f} {cpu:>11.2f} {server_text} {r['peak_rss_mb']:>8.0f}"
    )
    return line, share, cpu


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
    parser.add_argument("--no-raw", action="store_true", help="skip the raw-client baseline")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile one pipeline run (the first latency, the last concurrency) and print its top N "
        "entries",
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--raw", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        docs, concurrency, url, samples, profile = args.child
        print(json.dumps(one_run(int(docs), int(concurrency), url, int(samples), int(profile))))
        return
    if args.raw:
        from autodata.evals.raw_baseline import one_raw_run

        docs, concurrency, url, pattern, profile = args.raw
        print(json.dumps(one_raw_run(int(docs), int(concurrency), url, pattern, int(profile))))
        return

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        pattern, widths = record_pattern(args.samples, Path(tmp))
        steps = len(widths)
        for latency in args.latency:
            print(
                f"throughput: {args.docs} documents, {latency}s per call, k={args.samples}; per document "
                f"{steps} dependent steps of {'+'.join(map(str, widths))} = {sum(widths)} requests"
            )
            print(COLUMNS)
            for c in args.concurrency:
                pipeline = measure(args.docs, c, latency, args.samples)
                line, share, cpu = row("pipeline", pipeline, c, latency, steps)
                print(line)
                if args.no_raw:
                    continue
                raw = measure(args.docs, c, latency, args.samples, pattern=pattern)
                raw_line, raw_share, raw_cpu = row("raw", raw, c, latency, steps)
                print(raw_line)
                print(
                    f"{c:>5} pipeline/raw: {share / raw_share:.2f}x the raw client's share of the ideal, "
                    f"{cpu / raw_cpu:.2f}x its CPU per call"
                )
            print()
        if args.profile:
            latency, c = args.latency[0], args.concurrency[-1]
            for client in ("pipeline", "raw"):
                print(f"profile of the {client}: {args.docs} documents, {latency}s per call, concurrency {c}")
                raw = pattern if client == "raw" else None
                measure(args.docs, c, latency, args.samples, pattern=raw, profile=args.profile)
                print()

    if args.memory_docs:
        print("memory (latency 0, concurrency 64): peak RSS should not grow with the corpus")
        print(f"{'docs':>7} {'wall s':>8} {'calls':>8} {'ms/call':>8} {'cpu ms/call':>11} {'peak MB':>8}")
        for n in args.memory_docs:
            r = measure(n, 64, 0.0, args.samples)
            print(
                f"{n:>7} {r['wall_s']:>8.1f} {r['calls']:>8} {r['wall_s'] / r['calls'] * 1000:>8.2f} "
                f"{r['cpu_s'] / r['calls'] * 1000:>11.2f} {r['peak_rss_mb']:>8.0f}"
            )
    print(f"\nwall time of this benchmark: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
