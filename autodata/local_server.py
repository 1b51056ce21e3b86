"""Lifecycle of the embedded model servers: one ``autodata.llama_serve`` process per model, on loopback.

    pool = get_local_pool()
    llm = ChatOpenAI(base_url=pool.base_url("qwen2.5-0.5b"), api_key="local", model="qwen2.5-0.5b")

One process per model (several models in one llama.cpp server thrash, DESIGN.md section 3). Servers are
started on demand and stopped by ``pool.stop_all()``, which is registered with ``atexit`` (normal exit,
unhandled exception, Ctrl-C reaching the top level). Servers run in their own session, so a terminal Ctrl-C
reaches only the CLI, which then stops them in order; if the CLI is killed outright (SIGTERM, ``kill -9``),
the server's parent watchdog (see llama_serve) ends it within about a second.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from autodata.llama_serve import EXIT_MISSING_RUNTIME
from autodata.local_models import (
    INSTALL_HINT,
    LocalModelsUnavailable,
    ensure_model_file,
    get_model,
    require_llama_cpp,
)

logger = logging.getLogger(__name__)


class LocalServerError(RuntimeError):
    """The embedded model server did not come up."""


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


def _tail(path: Path, n: int = 40) -> str:
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
    ) -> None:
        get_model(name)  # validate the name early
        self.name = name
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
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
            sys.executable,
            "-m",
            "autodata.llama_serve",
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
                    tail = _tail(self.log_path)
                    if "address already in use" in tail.lower():
                        raise _PortInUse
                    if code == EXIT_MISSING_RUNTIME:
                        raise LocalModelsUnavailable(
                            f"llama-cpp-python server unavailable. Fix: {INSTALL_HINT}"
                        )
                    raise LocalServerError(
                        f"embedded model server for {self.name!r} exited with code {code} during startup. "
                        f"Log {self.log_path}:\n{tail}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    self.stop()
                    raise LocalServerError(
                        f"embedded model server for {self.name!r} not healthy after "
                        f"{self.startup_timeout:.0f} s. "
                        f"Log {self.log_path}:\n{_tail(self.log_path)}"
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


class LocalServerPool:
    """Starts at most one server per embedded model, on demand; thread-safe.

    A supervisor thread restarts a server that dies under it (llama.cpp can segfault, e.g. on a grammar it
    cannot parse) on the same port, so clients that hold its base_url recover on their next retry.
    """

    def __init__(self, *, n_threads: int | None = None, n_ctx: int = 4096, max_restarts: int = 5) -> None:
        # read when a server starts: set them before the first base_url() to take effect
        self.n_threads = n_threads  # None: os.cpu_count(); use cpu_count // 2 if two models run at once
        self.n_ctx = n_ctx
        self._servers: dict[str, LocalServer] = {}
        self._lock = threading.Lock()  # guards the dicts
        self._name_locks: dict[str, threading.Lock] = {}  # one start/restart at a time per model
        self._owner_pid = os.getpid()
        self._max_restarts = max_restarts
        self._supervisor: threading.Thread | None = None

    def _name_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._name_locks.setdefault(name, threading.Lock())

    def server(self, name: str) -> LocalServer:
        """The running server for ``name`` (started, or restarted on its port if it died)."""
        with self._name_lock(name):
            srv = self._servers.get(name)
            if srv is not None and srv.is_running():
                return srv
            if srv is None:
                srv = LocalServer(name, n_ctx=self.n_ctx, n_threads=self.n_threads)
            elif srv.died():
                logger.warning("embedded server %s exited with %s; restarting", name, srv.returncode)
            srv.start()
            with self._lock:
                self._servers[name] = srv
                if self._supervisor is None:
                    self._supervisor = threading.Thread(target=self._supervise, name="local-llm-supervisor")
                    self._supervisor.daemon = True
                    self._supervisor.start()
            return srv

    def _supervise(self) -> None:
        while True:
            time.sleep(0.5)
            with self._lock:
                if not self._servers:  # everything stopped: end; server() starts a new supervisor
                    self._supervisor = None
                    return
                servers = list(self._servers.items())
            for name, srv in servers:
                if not srv.died() or srv.starts > self._max_restarts:
                    continue
                try:
                    with self._name_lock(name):
                        if self._servers.get(name) is srv and srv.died():
                            logger.warning(
                                "embedded server %s exited with %s (log %s); restarting on port %s",
                                name,
                                srv.returncode,
                                srv.log_path,
                                srv.port,
                            )
                            srv.start()
                            if self._servers.get(name) is not srv:  # stop_all() ran meanwhile
                                srv.stop()
                except Exception:
                    logger.exception("restarting embedded server %s failed", name)

    def base_url(self, name: str) -> str:
        return self.server(name).base_url

    async def abase_url(self, name: str) -> str:
        """Same as base_url without blocking the event loop during a (slow) start."""
        return await asyncio.to_thread(self.base_url, name)

    def running(self) -> dict[str, LocalServer]:
        with self._lock:
            return {n: s for n, s in self._servers.items() if s.is_running()}

    def stop(self, name: str) -> None:
        with self._lock:
            srv = self._servers.pop(name, None)
        if srv is not None:
            srv.stop()

    def stop_all(self) -> None:
        if os.getpid() != self._owner_pid:  # a forked child must not stop its parent's servers
            return
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for srv in servers:
            srv.stop()

    def __enter__(self) -> LocalServerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


_POOL: LocalServerPool | None = None
_POOL_LOCK = threading.Lock()


def get_local_pool() -> LocalServerPool:
    """The process-wide pool (created on first use, stopped at exit)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = LocalServerPool()
            atexit.register(_POOL.stop_all)
        return _POOL
