"""Embedded model runtime: the extra-buffer probe and its cache, crash loops stopping the run with one clear
error, and the ``autodata models`` doctor (fake servers; the real models only where marked embedded)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rich.console import Console

from autodata.local import doctor
from autodata.local import pool as local_pool
from autodata.local import runtime as local_runtime
from autodata.local import server as local_server
from autodata.local.models import EMBEDDED_MODELS, EmbeddedModel
from autodata.local.pool import LocalServerPool
from autodata.local.runtime import EXTRA_BUFTS_ENV, ExtraBufts, decide_extra_bufts, probe_key
from autodata.local.server import LocalServer, LocalServerCrashed, LocalServerError

AMX = frozenset({"sse2", "avx2", "amx_tile", "amx_int8"})
NO_AMX = frozenset({"sse2", "avx2", "avx512f"})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTODATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(EXTRA_BUFTS_ENV, raising=False)
    return tmp_path / "cache"


class FakeProbe:
    def __init__(self, result: ExtraBufts):
        self.result = result
        self.calls = 0

    def __call__(self) -> ExtraBufts:
        self.calls += 1
        return self.result


# ---------------------------------------------------------------------------------------------------------
# extra buffer types: probe, cache, override


def test_probe_runs_once_per_machine_and_its_result_is_cached(cache):
    probe = FakeProbe(ExtraBufts(False, "probe with extra buffer types on died (SIGILL)"))
    first = decide_extra_bufts(probe, AMX)
    second = decide_extra_bufts(probe, AMX)
    assert not first.enabled and not second.enabled and probe.calls == 1
    assert "SIGILL" in second.reason and "cached in" in second.reason
    stored = json.loads((cache / local_runtime.PROBE_FILE).read_text())
    assert stored[probe_key(AMX)]["enabled"] is False


def test_probe_cache_is_per_cpu_flags_and_llama_cpp_version(cache, monkeypatch):
    probe = FakeProbe(ExtraBufts(True, "probe passed"))
    assert decide_extra_bufts(probe, AMX).enabled
    assert decide_extra_bufts(probe, AMX | {"avx512f"}).enabled and probe.calls == 2  # another CPU
    monkeypatch.setattr(local_runtime, "_llama_cpp_version", lambda: "0.3.99")
    assert decide_extra_bufts(probe, AMX).enabled and probe.calls == 3  # another llama.cpp build
    assert len(json.loads((cache / local_runtime.PROBE_FILE).read_text())) == 3


@pytest.mark.parametrize(("value", "enabled"), [("0", False), ("off", False), ("1", True), ("on", True)])
def test_env_override_wins_without_probing(cache, monkeypatch, value, enabled):
    monkeypatch.setenv(EXTRA_BUFTS_ENV, value)
    probe = FakeProbe(ExtraBufts(not enabled, "must not run"))
    result = decide_extra_bufts(probe, AMX)
    assert result.enabled is enabled and probe.calls == 0 and EXTRA_BUFTS_ENV in result.reason


def test_no_amx_means_no_probe(cache):
    probe = FakeProbe(ExtraBufts(False, "must not run"))
    result = decide_extra_bufts(probe, NO_AMX)
    assert result.enabled and probe.calls == 0 and "no AMX" in result.reason


def test_unknown_flags_are_probed_and_an_unrun_probe_is_not_cached(cache, monkeypatch):
    monkeypatch.setattr(local_runtime, "cpu_flags", lambda: None)
    probe = FakeProbe(ExtraBufts(False, "not probed (no embedded model installed)", cacheable=False))
    assert not decide_extra_bufts(probe).enabled
    assert not decide_extra_bufts(probe).enabled and probe.calls == 2
    assert not (cache / local_runtime.PROBE_FILE).exists()


@pytest.mark.parametrize(
    ("returncode", "stdout", "enabled", "words"),
    [
        (0, "llama_serve: probe ok\n", True, "passed"),
        (-4, "", False, "SIGILL"),
        (1, "", False, "exit code 1"),
    ],
)
def test_run_probe_reads_the_child_outcome(monkeypatch, tmp_path, returncode, stdout, enabled, words):
    model = tmp_path / "tiny.gguf"
    monkeypatch.setattr(local_runtime, "require_llama_cpp", lambda: None)
    monkeypatch.setattr(local_runtime, "_probe_model", lambda: model)
    seen = []

    def fake_run(cmd, **kwargs):
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode, stdout, "boom\n" if returncode else "")

    monkeypatch.setattr(local_runtime.subprocess, "run", fake_run)
    result = local_runtime.run_probe()
    assert result.enabled is enabled and words in result.reason and result.cacheable
    assert seen[0][seen[0].index("--extra-bufts") + 1] == "on" and str(model) in seen[0]


def test_install_extra_bufts_sets_the_llama_cpp_default(monkeypatch):
    C = pytest.importorskip("llama_cpp.llama_cpp", reason="needs the local extra")
    from autodata.local.llama_serve import install_extra_bufts

    monkeypatch.setattr(C, "llama_model_default_params", C.llama_model_default_params)  # undone after
    install_extra_bufts(False)
    assert C.llama_model_default_params().use_extra_bufts is False
    install_extra_bufts(True)  # wraps the original again, not the first wrapper
    assert C.llama_model_default_params().use_extra_bufts is True


def test_default_threads_use_every_cpu_unless_told(monkeypatch):
    monkeypatch.delenv(local_runtime.THREADS_ENV, raising=False)
    monkeypatch.setattr(local_runtime, "usable_cpus", lambda: 2)
    assert local_runtime.default_threads() == 2
    monkeypatch.setattr(local_runtime, "usable_cpus", lambda: 8)
    assert local_runtime.default_threads() == 8
    monkeypatch.setenv(local_runtime.THREADS_ENV, "3")
    assert local_runtime.default_threads() == 3


# ---------------------------------------------------------------------------------------------------------
# fake servers: crash loops and the doctor

FAKE_SERVER = r"""
import json, os, resource, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

mode, args = sys.argv[1], sys.argv[2:]
port, alias = int(args[args.index("--port") + 1]), args[args.index("--alias") + 1]
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def die():
    print("fake server: executing an AMX tile instruction", flush=True)
    os.kill(os.getpid(), signal.SIGILL)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send({"object": "list", "data": [{"id": alias, "object": "model"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "sigill":
            die()
        message = {"role": "assistant", "content": "OK"}
        self.send({
            "id": "c", "object": "chat.completion", "created": 0, "model": alias,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
        })


if mode == "sigill_at_load":  # like llama.cpp moving weights into an AMX buffer
    die()
print(f"fake server ready on port {port}", flush=True)
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A registered embedded model "fake" (an empty file) and the command of a fake server for it."""
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    model_file = tmp_path / "fake.gguf"
    model_file.write_bytes(b"GGUF")
    monkeypatch.setitem(EMBEDDED_MODELS, "fake", EmbeddedModel("fake", "fake", "fake.gguf", "0" * 64, 4, ()))
    for module in (local_server, doctor):
        monkeypatch.setattr(module, "ensure_model_file", lambda name: model_file)
    monkeypatch.setattr(local_server, "require_llama_cpp", lambda: None)
    monkeypatch.setattr(local_runtime, "_EXTRA_BUFTS", ExtraBufts(False, "test"))
    monkeypatch.setenv("AUTODATA_LLAMA_CACHE_MB", "0")

    def command(mode: str) -> list[str]:
        return [sys.executable, str(script), mode]

    command.logs = tmp_path / "logs"
    return command


def test_a_server_killed_while_loading_is_reported_by_its_signal(fake, monkeypatch):
    pool = LocalServerPool(command=fake("sigill_at_load"), log_dir=fake.logs, max_crashes=2)
    monkeypatch.setattr(local_pool, "_POOL", pool)
    try:
        with pytest.raises(LocalServerError) as first:
            pool.base_url("fake")
        assert not isinstance(first.value, LocalServerCrashed)  # one crash: the next call starts it again
        with pytest.raises(LocalServerCrashed) as crashed:
            pool.base_url("fake")
        report = str(crashed.value)
        assert "crashed 2 times" in report and "(last: killed by SIGILL while starting)" in report
        assert "What to do: the CPU refused an instruction" in report
    finally:
        pool.stop_all()


async def test_a_crash_looping_server_stops_the_call_with_one_clear_error(fake, monkeypatch):
    from langchain_core.messages import HumanMessage

    from autodata.core.config import ModelsConfig, RoleModel
    from autodata.llm.calls import call_text
    from autodata.llm.models import OpenAIModelRegistry

    pool = LocalServerPool(command=fake("sigill"), log_dir=fake.logs, max_crashes=3)
    monkeypatch.setattr(local_pool, "_POOL", pool)
    role = RoleModel(model="fake", local="fake", max_tokens_in_extra_body=True, max_retries=20)
    registry = OpenAIModelRegistry(ModelsConfig(roles={"judge": role}), retry_backoff=0.05)
    try:
        with pytest.raises(LocalServerCrashed) as crashed:
            await call_text(registry, "judge", [HumanMessage(content="hi")])
        report = str(crashed.value)
        assert "'fake' crashed 3 times" in report and "killed by SIGILL" in report
        assert "fake server: executing an AMX tile instruction" in report  # the log's tail
        assert "What to do: the CPU refused an instruction" in report
        with pytest.raises(LocalServerCrashed):  # from now on at once, no restart
            pool.base_url("fake")
        assert list(pool.broken()) == ["fake"]
        pool.stop("fake")  # forgets the crashes: a later use may start it again
        assert pool.broken() == {}
    finally:
        pool.stop_all()


def test_crashes_outside_the_window_do_not_count(fake):
    pool = LocalServerPool(command=fake("ok"), log_dir=fake.logs, max_crashes=2, crash_window=60)
    srv = LocalServer("fake", command=fake("ok"), log_dir=fake.logs)
    pool._crashes["fake"] = [-1000.0]  # long ago (time.monotonic() is far larger)
    pool._count_crash("fake", srv, "killed by SIGSEGV", "advice")
    with pytest.raises(LocalServerCrashed, match="crashed 2 times"):
        pool._count_crash("fake", srv, "killed by SIGSEGV", "advice")


async def test_runner_stops_and_raises_when_an_embedded_server_keeps_crashing(tmp_path):
    from fakes import FakeRegistry

    from autodata.core.context import RunContext
    from autodata.data.documents import Document
    from autodata.run.runner import Runner

    report = "embedded model server 'fake' crashed 3 times within 300 s (killed by SIGILL)\nlog tail"
    registry = FakeRegistry({"challenger": [LocalServerCrashed(report)]})
    documents = [Document(path=str(tmp_path / f"d{i}.md"), text=f"Document {i}.") for i in range(2)]
    out = tmp_path / "run"
    with pytest.raises(LocalServerCrashed, match="crashed 3 times"):
        await Runner(out, RunContext(models=registry), concurrency=1).run(documents)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == report.splitlines()[0]
    assert summary["finished"] == {"stopped": 2} and summary["errors"] == []
    assert len(registry.models["challenger"].seen) == 1  # the second document was never started


def _doctor(fake, mode: str) -> tuple[int, str]:
    console = Console(record=True, width=200)
    code = doctor.run_doctor(
        console, ["fake"], lambda name: LocalServer(name, command=fake(mode), log_dir=fake.logs)
    )
    return code, console.export_text()


def test_doctor_reports_a_model_that_answers(fake):
    code, text = _doctor(fake, "ok")
    assert code == 0 and "'OK'" in text and "all 1 embedded models answered" in text
    assert "extra buffer types: off" in text and "threads per server" in text


def test_doctor_reports_a_crashing_model_with_its_log_and_exit_code_1(fake):
    code, text = _doctor(fake, "sigill")
    assert code == 1
    assert "fake failed (request)" in text and "killed by SIGILL" in text
    assert "fake server ready on port" in text and "executing an AMX tile instruction" in text
    assert "1 of 1 embedded model(s) failed: fake" in text


def test_models_command_no_run_keeps_the_status_table(capsys):
    from autodata.cli.main import main

    assert main(["models", "--no-run"]) == 0
    assert "Embedded models" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------
# real models (small)


@pytest.mark.embedded
def test_doctor_runs_the_smallest_real_model():
    pytest.importorskip("llama_cpp", reason="needs the local extra: pip install -e '.[local]'")
    console = Console(record=True, width=200)
    assert doctor.run_doctor(console, ["smollm2-135m"]) == 0, console.export_text()


@pytest.mark.embedded
def test_prompt_cache_hit_gives_the_same_reply():
    """A prompt cache hit (the document seen before another one) replies as a fresh evaluation does."""
    pytest.importorskip("llama_cpp", reason="needs the local extra: pip install -e '.[local]'")
    import httpx

    doc_x = " ".join(
        f"Fact {i}: the colour of box {i} is {['red', 'blue', 'green'][i % 3]}." for i in range(10)
    )
    doc_y = " ".join(f"Note {i}: train {i} leaves at {i % 12 + 1} o'clock." for i in range(10))

    def ask(srv: LocalServer, doc: str, question: str) -> str:
        body = {
            "model": srv.name,
            "messages": [{"role": "user", "content": f"{doc}\n\n{question}"}],
            "max_tokens": 8,
            "temperature": 0.0,
        }
        r = httpx.post(f"{srv.base_url}/chat/completions", json=body, timeout=120, trust_env=False)
        return r.json()["choices"][0]["message"]["content"]

    replies = {}
    for cache_bytes in (0, 64 * 1024 * 1024):
        with LocalServer("smollm2-135m", cache_bytes=cache_bytes) as srv:
            ask(srv, doc_x, "What colour is box 4?")
            ask(srv, doc_y, "When does train 3 leave?")
            replies[cache_bytes] = ask(srv, doc_x, "What colour is box 7?")  # a hit when cached
    assert replies[0] == replies[64 * 1024 * 1024]
