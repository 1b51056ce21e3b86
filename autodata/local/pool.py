"""The embedded model servers of a process: started on demand, supervised, stopped at exit.

    pool = get_local_pool()
    llm = ChatOpenAI(base_url=pool.base_url("qwen2.5-0.5b"), api_key="local", model="qwen2.5-0.5b")

Servers are stopped by ``pool.stop_all()``, which is registered with ``atexit`` (normal exit, unhandled
exception, Ctrl-C reaching the top level). A server that keeps crashing is not restarted for ever: after
``max_crashes`` deaths within ``crash_window`` seconds the pool reports it once and raises
:class:`LocalServerCrashed` from then on.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from autodata.local.runtime import EXTRA_BUFTS_ENV, describe_exit, disable_extra_bufts, signal_name
from autodata.local.server import (
    LocalServer,
    LocalServerCrashed,
    LocalServerDied,
    LocalServerError,
    log_tail,
)

logger = logging.getLogger(__name__)


def crash_advice(returncode: int | None, extra_bufts: bool | None) -> str:
    signame = signal_name(returncode)
    if signame == "SIGILL":
        first = f"set {EXTRA_BUFTS_ENV}=0 (extra buffer types were on), or " if extra_bufts else ""
        return (
            f"the CPU refused an instruction of this llama.cpp build: {first}rebuild llama-cpp-python "
            "without host-specific instructions: CMAKE_ARGS='-DGGML_NATIVE=OFF' "
            "pip install --force-reinstall --no-cache-dir llama-cpp-python"
        )
    if signame == "SIGKILL":
        return "it was killed, most likely by the out-of-memory killer: free RAM or use smaller models"
    return (
        f"see its log above; `autodata models` starts each embedded model once and shows what fails "
        f"(if extra buffer types were on, try {EXTRA_BUFTS_ENV}=0)"
    )


class LocalServerPool:
    """Starts at most one server per embedded model, on demand; thread-safe.

    A supervisor thread restarts a server that dies under it (llama.cpp can segfault, e.g. on a grammar it
    cannot parse) on the same port, so clients that hold its base_url recover on their next retry. After
    ``max_crashes`` deaths (or failed starts) of one model within ``crash_window`` seconds it is not
    restarted again: ``server()``/``base_url()`` raise :class:`LocalServerCrashed` (the report: how it
    died, its log's tail, what to do) until ``stop(name)``.
    """

    def __init__(
        self,
        *,
        n_threads: int | None = None,
        n_ctx: int = 4096,
        max_crashes: int = 3,
        crash_window: float = 300.0,
        command: Sequence[str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        # read when a server starts: set them before the first base_url() to take effect
        self.n_threads = n_threads  # None: default_threads()
        self.n_ctx = n_ctx
        self.max_crashes = max_crashes
        self.crash_window = crash_window
        self.command = command  # None: autodata.local.llama_serve (tests pass a fake server)
        self.log_dir = log_dir
        self._servers: dict[str, LocalServer] = {}
        self._lock = threading.Lock()  # guards the dicts
        self._name_locks: dict[str, threading.Lock] = {}  # one start/restart at a time per model
        self._crashes: dict[str, list[float]] = {}
        self._broken: dict[str, str] = {}  # model -> the crash report
        self._owner_pid = os.getpid()
        self._supervisor: threading.Thread | None = None

    def _name_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._name_locks.setdefault(name, threading.Lock())

    def server(self, name: str) -> LocalServer:
        """The running server for ``name`` (started, or restarted on its port if it died)."""
        with self._name_lock(name):
            if name in self._broken:
                raise LocalServerCrashed(self._broken[name])
            srv = self._servers.get(name)
            if srv is not None and srv.is_running():
                return srv
            if srv is None:
                srv = LocalServer(
                    name,
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    command=self.command,
                    log_dir=self.log_dir,
                )
            if srv.died():
                self._revive(name, srv)
            else:  # new, or its last restart failed (counted then)
                self._start_counted(name, srv)
            with self._lock:
                self._servers[name] = srv
                if self._supervisor is None:
                    self._supervisor = threading.Thread(target=self._supervise, name="local-llm-supervisor")
                    self._supervisor.daemon = True
                    self._supervisor.start()
            return srv

    def _revive(self, name: str, srv: LocalServer) -> None:
        """``srv`` died (name lock held): count it, then restart it on its port (or LocalServerCrashed)."""
        code = srv.returncode
        self._count_death(name, srv, code, describe_exit(code))
        logger.warning(
            "embedded server %s %s (log %s); restarting on port %s",
            name,
            describe_exit(code),
            srv.log_path,
            srv.port,
        )
        self._start_counted(name, srv)

    def _start_counted(self, name: str, srv: LocalServer) -> None:
        """``srv.start()``; a server that dies or hangs while starting counts as a crash."""
        try:
            srv.start()
        except LocalServerCrashed:
            raise
        except LocalServerDied as exc:  # e.g. SIGILL while llama.cpp loads the weights
            self._count_death(name, srv, exc.returncode, f"{describe_exit(exc.returncode)} while starting")
            raise
        except LocalServerError as exc:
            self._count_crash(name, srv, "failed to start", str(exc).splitlines()[0])
            raise

    def _count_death(self, name: str, srv: LocalServer, code: int | None, how: str) -> None:
        """Counts ``srv``'s exit with ``code`` as a crash; SIGILL with extra buffer types on turns them off
        first, so the restart (and the advice) go without them."""
        if srv.extra_bufts and code == -signal.SIGILL:
            disable_extra_bufts(f"server {name} was killed by SIGILL with extra buffer types on")
            srv.extra_bufts = False
        self._count_crash(name, srv, how, crash_advice(code, srv.extra_bufts))

    def _count_crash(self, name: str, srv: LocalServer, how: str, advice: str) -> None:
        now = time.monotonic()
        recent = [t for t in self._crashes.get(name, []) if now - t < self.crash_window]
        self._crashes[name] = [*recent, now]
        if len(recent) + 1 < self.max_crashes:
            return
        crashes = len(recent) + 1
        report = (
            f"embedded model server {name!r} crashed {crashes} times within {self.crash_window:.0f} s "
            f"(last: {how}); it is not restarted again.\nLog {srv.log_path}, last lines:\n"
            f"{log_tail(srv.log_path, 15) if srv.log_path else '(no log)'}\nWhat to do: {advice}"
        )
        self._broken[name] = report
        logger.error("embedded server %s keeps crashing (%s); stopped restarting it", name, how)
        raise LocalServerCrashed(report)

    def _supervise(self) -> None:
        while True:
            time.sleep(0.5)
            with self._lock:
                if not self._servers:  # everything stopped: end; server() starts a new supervisor
                    self._supervisor = None
                    return
                servers = list(self._servers.items())
            for name, srv in servers:
                if not srv.died() or name in self._broken:
                    continue
                try:
                    with self._name_lock(name):
                        if self._servers.get(name) is srv and srv.died() and name not in self._broken:
                            self._revive(name, srv)
                            if self._servers.get(name) is not srv:  # stop_all() ran meanwhile
                                srv.stop()
                except LocalServerError:
                    pass  # counted; the next server()/base_url() call raises the report
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

    def broken(self) -> dict[str, str]:
        """Models that kept crashing, with their crash report."""
        with self._lock:
            return dict(self._broken)

    def stop(self, name: str) -> None:
        """Stop ``name``'s server and forget its crashes (the next use starts it afresh)."""
        with self._lock:
            srv = self._servers.pop(name, None)
            self._broken.pop(name, None)
            self._crashes.pop(name, None)
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
