"""One embedded model's llama.cpp server: one ``autodata.local.llama_serve`` process per model, on loopback.

One process per model (several models in one llama.cpp server thrash). Servers run in their own session, so
a terminal Ctrl-C reaches only the CLI, which then stops them in order; if the CLI is killed outright
(SIGTERM, ``kill -9``), the server's parent watchdog (see llama_serve) ends it within about a second. The
pool that starts them on demand and supervises them is autodata/local/pool.py; the machine-dependent
settings they start with are autodata/local/runtime.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from autodata.local.llama_serve import EXIT_MISSING_RUNTIME
from autodata.local.models import (
    INSTALL_HINT,
    LocalModelsUnavailable,
    ensure_model_file,
    get_model,
    require_llama_cpp,
)
from autodata.local.runtime import default_cache_bytes, default_threads, describe_exit, extra_bufts_setting

logger = logging.getLogger(__name__)


class LocalServerError(RuntimeError):
    """The embedded model server did not come up."""


class LocalServerDied(LocalServerError):
    """The embedded model server's process exited before it was ready (``returncode`` as Popen's)."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


class LocalServerCrashed(LocalServerError):
    """An embedded model server keeps crashing: no call to it can succeed, so the run should stop (not
    a per-call failure to retry). The message says how it died, shows its log's tail and what to do."""


# ---------------------------------------------------------------------------------------------------------
# run-time settings


def _free_port(preferred: int | None = None) -> int:
    """``preferred`` if it can be bound on loopback, else a free port chosen by the OS."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is no conflict
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise LocalServerError("no free loopback port")


def log_tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


class LocalServer:
    """One llama.cpp OpenAI-compatible server process serving one embedded model under its name."""

    def __init__(
        self,
        name: str,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        startup_timeout: float = 180.0,
        log_dir: Path | None = None,
        extra_bufts: bool | None = None,
        cache_bytes: int | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        get_model(name)  # validate the name early
        self.name = name
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.extra_bufts = extra_bufts  # None: extra_bufts_setting() when it starts
        self.cache_bytes = default_cache_bytes() if cache_bytes is None else cache_bytes
        self.command = list(
            command or [sys.executable, "-m", "autodata.local.llama_serve"]
        )  # tests: a fake server
        self.startup_timeout = startup_timeout
        self.log_dir = log_dir or Path(tempfile.gettempdir()) / "autodata-logs"
        self.port: int | None = None
        self.log_path: Path | None = None
        self.starts = 0  # a restart keeps the port, so clients holding base_url keep working
        self._proc: subprocess.Popen[bytes] | None = None

    # -- properties
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LocalServerError(f"server for {self.name!r} is not started")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def died(self) -> bool:
        """Started, not stopped, and the process has exited (e.g. llama.cpp segfault)."""
        return self._proc is not None and self._proc.poll() is not None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    # -- lifecycle
    def start(self) -> LocalServer:
        if self.is_running():
            return self
        require_llama_cpp()
        model_file = ensure_model_file(self.name)
        if self.extra_bufts is None:
            self.extra_bufts = extra_bufts_setting().enabled
        self.log_dir.mkdir(parents=True, exist_ok=True)
        preferred = self.port
        for _attempt in range(3):  # the free port can be taken between probe and bind: retry
            self._spawn(model_file, _free_port(preferred))
            preferred = None
            try:
                self._wait_healthy()
                return self
            except _PortInUse:
                continue
            except BaseException:  # startup error, timeout, Ctrl-C: leave no half-started server behind
                self.stop()
                raise
        raise LocalServerError(f"could not bind a loopback port for {self.name!r}; log: {self.log_path}")

    def _spawn(self, model_file: Path, port: int) -> None:
        self.port = port
        self.starts += 1
        self.log_path = self.log_dir / f"{self.name}-{self.port}-{self.starts}.log"
        cmd = [
            *self.command,
            "--model",
            str(model_file),
            "--alias",
            self.name,
            "--port",
            str(self.port),
            "--n-ctx",
            str(self.n_ctx),
            "--n-threads",
            str(self.n_threads),
            "--parent-pid",
            str(os.getpid()),
            "--extra-bufts",
            "on" if self.extra_bufts else "off",
            "--cache-bytes",
            str(self.cache_bytes),
        ]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # terminal Ctrl-C goes to the CLI only; it stops us via atexit
            )

    def _wait_healthy(self) -> None:
        assert self._proc is not None and self.log_path is not None
        url = f"{self.base_url}/models"
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(trust_env=False, timeout=2.0) as client:  # no proxy for loopback
            while True:
                code = self._proc.poll()
                if code is not None:
                    tail = log_tail(self.log_path)
                    if "address already in use" in tail.lower():
                        raise _PortInUse
                    if code == EXIT_MISSING_RUNTIME:
                        raise LocalModelsUnavailable(
                            f"llama-cpp-python server unavailable. Fix: {INSTALL_HINT}"
                        )
                    raise LocalServerDied(
                        f"embedded model server for {self.name!r} {describe_exit(code)} during startup. "
                        f"Log {self.log_path}:\n{tail}",
                        code,
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    self.stop()
                    raise LocalServerError(
                        f"embedded model server for {self.name!r} not healthy after "
                        f"{self.startup_timeout:.0f} s. "
                        f"Log {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                time.sleep(0.25)

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:  # uvicorn would wait for in-flight generations
            proc.kill()
            proc.wait()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running pid={self.pid} {self.base_url}" if self.is_running() else "stopped"
        return f"LocalServer({self.name!r}, {state})"


class _PortInUse(Exception):
    pass
