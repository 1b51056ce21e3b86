"""`--checkpointer postgres://...`: checkpoints and work claims in a real PostgreSQL server started here.

The server is a throwaway cluster (initdb into a temp dir, loopback only, trust auth), started once per
session; the tests are skipped when PostgreSQL is not installed (Debian: `apt-get install postgresql`).
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from fakes import FakeRegistry
from scripts import EVIDENCE, RIGHT, VERIFIER_PASS, WRONG, item, rubric_judge

from autodata.core.context import RunContext
from autodata.core.records import JsonlWriter, RejectedRecord, Source
from autodata.data.documents import Document
from autodata.run.checkpointers import describe
from autodata.run.runner import Runner
from autodata.run.status import StatusError, run_status

TESTS_DIR = Path(__file__).parents[1]


def postgres_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    pytest.importorskip("psycopg", reason="needs the postgres extra: pip install -e '.[postgres]'")
    pytest.importorskip("langgraph.checkpoint.postgres", reason="needs langgraph-checkpoint-postgres")
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="autodata-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE autodata")
        yield f"postgresql://postgres@127.0.0.1:{port}/autodata"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def registry(delay: float = 0.0):
    def weak(messages):
        time.sleep(delay)  # keeps a unit busy long enough for the other worker to see its claim
        return WRONG

    return FakeRegistry(
        {
            "challenger": [item()],
            "verifier": [VERIFIER_PASS],
            "weak_solver": [weak],
            "strong_solver": [RIGHT],
            "judge": [rubric_judge()],
            "orchestrator": ["advice"],
        }
    )


def ctx(**kwargs) -> RunContext:
    return RunContext(dedup_threshold=None, **kwargs)  # the fake challenger asks the same question everywhere


def docs(root: Path, n: int) -> list[Document]:
    return [
        Document(path=str(root / f"doc{i}.md"), text=f"Document {i} about LRU caches. {EVIDENCE}")
        for i in range(n)
    ]


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def claim_rows(url: str, out: Path) -> list[dict]:
    from autodata.run.claims import ClaimTable, run_id

    async with ClaimTable(url, run_id(out)) as claims:
        return await claims.rows()


async def test_postgres_run_accepts_items_and_resumes(postgres_url, tmp_path):
    out = tmp_path / "run"
    documents = docs(tmp_path, 2)
    summary = await Runner(out, ctx(models=registry()), concurrency=2, checkpointer=postgres_url).run(
        documents
    )
    assert summary.accepted == 2 and not summary.errors
    assert len(read(out / "accepted.jsonl")) == 2
    assert not (out / "checkpoints.sqlite").exists()  # the checkpoints are in Postgres

    second = registry()
    summary = await Runner(out, ctx(models=second), concurrency=2, checkpointer=postgres_url).run(documents)
    assert summary.accepted == 2 and summary.finished == {"accepted": 2}
    assert all(m.seen == [] for m in second.models.values())  # resumed from the Postgres checkpoints
    assert len(read(out / "accepted.jsonl")) == 2

    rows = await claim_rows(postgres_url, out)
    assert [r["unit"] for r in rows] == [f"doc-{d.id}" for d in sorted(documents, key=lambda d: d.id)]
    assert all(r["finished_at"] and r["status"] == "accepted" and r["takeovers"] == 0 for r in rows)

    # `autodata status` reads the run back from Postgres (it needs the URL: run.json masks the password)
    (out / "run.json").write_text(json.dumps({"checkpointer": describe(postgres_url)}))
    with pytest.raises(StatusError, match="--checkpointer"):
        run_status(out)
    status = await asyncio.to_thread(run_status, out, postgres_url)
    assert status["by_status"] == {"accepted": 2}
    assert sorted(Path(t["source"]).name for t in status["threads"]) == ["doc0.md", "doc1.md"]
    assert all(not t["held"] and t["takeovers"] == 0 and t["calls"] > 0 for t in status["threads"])

    # another run directory on the same database is another run: its threads start from scratch
    fresh = registry()
    summary = await Runner(tmp_path / "other", ctx(models=fresh), checkpointer=postgres_url).run(
        documents[:1]
    )
    assert summary.accepted == 1 and fresh.models["challenger"].seen


async def test_dead_workers_claims_are_taken_over_and_live_ones_waited_for(postgres_url, tmp_path):
    from autodata.run.claims import ClaimTable, run_id

    out = tmp_path / "run"
    dead, live = docs(tmp_path, 2)
    run = run_id(out)
    async with ClaimTable(postgres_url, run, worker="live-worker") as other:
        await other.conn.execute(
            "INSERT INTO autodata_claims (run_id, unit, worker, heartbeat_at) "
            "VALUES (%s, %s, 'dead-worker', now() - interval '1 hour')",
            (run, f"doc-{dead.id}"),
        )
        assert await other.claim(f"doc-{live.id}")

        async def release_later():
            await asyncio.sleep(1.0)
            await other.release(f"doc-{live.id}", None)  # gave up without running it

        events = []
        runner = Runner(out, ctx(models=registry()), concurrency=2, checkpointer=postgres_url, stale_after=5)
        runner.progress = events.append
        summary, _ = await asyncio.gather(runner.run([dead, live]), release_later())
    assert summary.accepted == 2 and len(read(out / "accepted.jsonl")) == 2
    assert {"event": "busy", "source": live.path} in events
    rows = {r["unit"]: r for r in await claim_rows(postgres_url, out)}
    assert rows[f"doc-{dead.id}"]["takeovers"] == 1 and rows[f"doc-{live.id}"]["claims"] == 2
    assert all(r["status"] == "accepted" and r["worker"] != "live-worker" for r in rows.values())


async def test_workers_of_a_run_share_one_budget(postgres_url, tmp_path):
    from autodata.llm.accounting import Budget, BudgetExhausted
    from autodata.run.shared_budget import SharedBudget

    run = f"budget-{uuid.uuid4().hex}"
    first, second = Budget(max_calls=10), Budget(max_calls=10)
    async with (
        SharedBudget(postgres_url, run, first) as first_sync,
        SharedBudget(postgres_url, run, second) as second_sync,
    ):
        for _ in range(6):
            first.reserve()
        await second_sync.sync()
        assert second.others_calls == 0  # first has not pushed its spend yet
        await first_sync.sync()  # in a run, every worker syncs every second in the background
        await second_sync.sync()
        assert second.others_calls == 6
        for _ in range(4):
            second.reserve()
        with pytest.raises(BudgetExhausted, match="call budget of 10"):
            second.reserve()
    # the run's row keeps its total: a worker started later sees what was spent before
    later = Budget(max_calls=12)
    async with SharedBudget(postgres_url, run, later):
        assert later.others_calls == 10
        later.reserve()
        later.reserve()
        with pytest.raises(BudgetExhausted, match="call budget of 12"):
            later.reserve()

    # the Runner wires it: a Postgres run with a limited budget records its spend run-wide
    out = tmp_path / "run"
    models = registry()
    models.budget = Budget(max_calls=1000)
    summary = await Runner(out, ctx(models=models), checkpointer=postgres_url).run(docs(tmp_path, 2))
    assert summary.accepted == 2
    from autodata.run.claims import run_id

    async with SharedBudget(postgres_url, run_id(out), Budget()) as view:
        assert view.budget.others_calls == models.budget.calls > 0


def worker_main(url: str, out: str, root: str, name: str) -> None:
    """One worker process of the two-worker test: waits for its peer, then runs all six documents."""
    ready = Path(out).parent / f"ready-{name}"
    ready.write_text("")
    deadline = time.monotonic() + 30
    while len(list(Path(out).parent.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    events = Path(out).parent / f"events-{name}.jsonl"
    models = registry(delay=0.15)

    def progress(event):
        if event.get("event") in ("start", "skip", "busy", "done", "error"):
            with events.open("a") as handle:
                handle.write(json.dumps({**event, "worker": name}) + "\n")

    runner = Runner(out, ctx(models=models), concurrency=2, checkpointer=url, progress=progress)
    summary = asyncio.run(runner.run(docs(Path(root), 6)))
    calls = {role: len(m.seen) for role, m in models.models.items()}
    print(json.dumps({"accepted": summary.accepted, "errors": summary.errors, "calls": calls}))


def test_two_worker_processes_share_one_run_without_doing_a_unit_twice(postgres_url, tmp_path):
    out = tmp_path / "run"
    paths = [str(Path(__file__).parent), str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    code = "import sys, test_postgres; test_postgres.worker_main(*sys.argv[1:])"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, postgres_url, str(out), str(tmp_path), name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))

    events = [e for name in ("a", "b") for e in read(tmp_path / f"events-{name}.jsonl")]
    started = [e["source"] for e in events if e["event"] == "start"]
    assert sorted(started) == sorted(d.path for d in docs(tmp_path, 6))  # every document run exactly once
    assert {e["worker"] for e in events if e["event"] == "start"} == {"a", "b"}  # both did work
    accepted = read(out / "accepted.jsonl")
    assert len(accepted) == 6 and len({r["id"] for r in accepted}) == 6
    assert {r["source"]["path"] for r in accepted} == set(started)
    for result in results:  # each worker ends only when the whole run is done, and reports all of it
        assert result["accepted"] == 6 and not result["errors"]
    total_challenger_calls = sum(r["calls"]["challenger"] for r in results)
    assert total_challenger_calls == 6  # one candidate per document, never generated twice
    rows = asyncio.run(claim_rows(postgres_url, out))
    assert len(rows) == 6 and all(r["finished_at"] and r["takeovers"] == 0 for r in rows)


def test_jsonl_writers_in_several_processes_see_each_others_ids(tmp_path):
    """Two writers on one file (as two worker processes hold): neither writes an id the other wrote."""
    path = tmp_path / "rejected.jsonl"
    first, second = JsonlWriter(path), JsonlWriter(path)

    def record(i: int) -> RejectedRecord:
        return RejectedRecord(
            id=f"doc-x-a{i}",
            source=Source(path="x", span=[0, 1]),
            round=1,
            attempt=i,
            counted=True,
            reason="too_easy",
            detail="",
            question=None,
            weak_scores=[],
            strong_scores=[],
            weak_mean=None,
            strong_mean=None,
            gap=None,
            screenings=[],
        )

    assert first.write(record(1)) and first.write(record(2))
    assert not second.write(record(1)) and second.write(record(3))
    assert not first.write(record(3))
    with path.open("a") as handle:
        handle.write('{"id": "torn')  # a killed process's partial line
    assert second.write(record(4)) and not first.write(record(4))
    ids = [r["id"] for r in (json.loads(x) for x in path.read_text().splitlines()[:3])]
    assert ids == ["doc-x-a1", "doc-x-a2", "doc-x-a3"]
    assert len(JsonlWriter(path)) == 4
