"""Lifecycle of the embedded model servers: one ``autodata.local.llama_serve`` process per model, on loopback.

    pool = get_local_pool()
    llm = ChatOpenAI(base_url=pool.base_url("qwen2.5-0.5b"), api_key="local", model="qwen2.5-0.5b")

One process per model (several models in one llama.cpp server thrash). Servers are
started on demand and stopped by ``pool.stop_all()``, which is registered with ``atexit`` (normal exit,
unhandled exception, Ctrl-C reaching the top level). Servers run in their own session, so a terminal Ctrl-C
reaches only the CLI, which then stops them in order; if the CLI is killed outright (SIGTERM, ``kill -9``),
the server's parent watchdog (see llama_serve) ends it within about a second.

Run-time settings, decided here because they depend on the machine (docs in each function):
- llama.cpp's "extra buffer types" (AMX tiles, repacked weights) only where they are proven to work
  (``extra_bufts_setting``; override ``AUTODATA_LLAMA_EXTRA_BUFTS=0/1``);
- threads per server (``default_threads``; override ``AUTODATA_LLAMA_THREADS``);
- a bounded RAM prompt cache per server (``default_cache_bytes``; override ``AUTODATA_LLAMA_CACHE_MB``).

A server that keeps crashing is not restarted for ever: after ``max_crashes`` deaths within
``crash_window`` seconds the pool reports it once and raises :class:`LocalServerCrashed` from then on.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from autodata.local.llama_serve import EXIT_MISSING_RUNTIME, PROBE_OK
from autodata.local.models import (
    EMBEDDED_MODELS,
    INSTALL_HINT,
    LocalModelsUnavailable,
    cache_dir,
    ensure_model_file,
    get_model,
    require_llama_cpp,
)

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

EXTRA_BUFTS_ENV = "AUTODATA_LLAMA_EXTRA_BUFTS"
THREADS_ENV = "AUTODATA_LLAMA_THREADS"
CACHE_ENV = "AUTODATA_LLAMA_CACHE_MB"
PROBE_FILE = "llama-runtime-probe.json"
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex"})
DEFAULT_CACHE_MB = 256


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def cpu_slots() -> int:
    """How many embedded-model requests may compute at once without their threads contending: the usable
    CPUs divided by the threads each server uses (1 on 2 cores at the default of every CPU a server)."""
    return max(1, usable_cpus() // default_threads())


def default_threads() -> int:
    """Threads per server: ``$AUTODATA_LLAMA_THREADS``, else every usable CPU.

    With the embedded profile one unit runs at a time (``generate`` defaults to concurrency 1 on local
    models), so one server computes while the others wait: measured on 2 cores, the 1.5B model generated
    9.9 tokens/s with 2 threads and 5.5 with 1 (6.1 and 4.1 under a JSON grammar). When several servers
    are busy at once (``--concurrency`` > 1) llama.cpp's spinning threads contend: two servers answering
    together took 43-61 s with 2 threads each and 19-22 s with 1 each; set ``AUTODATA_LLAMA_THREADS=1``
    there.
    """
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, usable_cpus())


def default_cache_bytes() -> int:
    """RAM prompt cache per server: ``$AUTODATA_LLAMA_CACHE_MB`` (0 disables it), else 256 MB.

    It holds KV states of recent prompts, so a prompt that shares a long prefix (the same source
    document) with an earlier one that is no longer the last one the server saw skips most of its prompt
    processing (measured on the 1.5B model, a 1638-token prompt after another document: 44 s without,
    2.2 s with). An entry is about 28 KB per token for the 1.5B model (47 MB for 1600 tokens), so 256 MB
    keeps about five such prompts, and three servers stay within about 0.8 GB of cache.
    """
    env = os.environ.get(CACHE_ENV, "").strip()
    if env.isdigit():
        return int(env) * 1024 * 1024
    return DEFAULT_CACHE_MB * 1024 * 1024


def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (x86 ``flags``, ARM ``Features``); None if unknown."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return None


def _llama_cpp_version() -> str:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def probe_key(flags: frozenset[str] | None) -> str:
    """What a probe result depends on: this CPU's flags and the llama.cpp build."""
    digest = hashlib.sha256(" ".join(sorted(flags or ())).encode()).hexdigest()[:16]
    return f"cpu-{digest}/llama-cpp-python-{_llama_cpp_version()}"


@dataclass(frozen=True)
class ExtraBufts:
    enabled: bool
    reason: str
    cacheable: bool = True  # False: the probe could not run (nothing learnt about the CPU)

    @property
    def flag(self) -> str:
        return "on" if self.enabled else "off"


def probe_file() -> Path:
    return cache_dir() / PROBE_FILE


def _read_probes() -> dict[str, dict]:
    try:
        data = json.loads(probe_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_probe(key: str, result: ExtraBufts) -> None:
    """Store ``result`` under ``key`` (atomic replace; other keys are kept)."""
    path = probe_file()
    data = _read_probes()
    data[key] = {"enabled": result.enabled, "reason": result.reason, "at": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _probe_model() -> Path | None:
    """The smallest embedded model that is available (assembled on the way), or None."""
    for model in sorted(EMBEDDED_MODELS.values(), key=lambda m: m.size):
        try:
            return ensure_model_file(model.name)
        except LocalModelsUnavailable:
            continue
    return None


def _signal_name(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_probe(timeout: float = 120.0) -> ExtraBufts:
    """Load the smallest embedded model with extra buffer types on in a child process and decode a short
    prompt and one token. Any failure turns them off; only a missing runtime or model is not cached."""
    try:
        require_llama_cpp()
        model = _probe_model()
    except LocalModelsUnavailable as exc:
        return ExtraBufts(False, f"not probed ({exc})", cacheable=False)
    if model is None:
        return ExtraBufts(False, "not probed (no embedded model installed)", cacheable=False)
    cmd = [
        sys.executable,
        "-m",
        "autodata.local.llama_serve",
        "--probe",
        "--extra-bufts",
        "on",
        "--model",
        str(model),
    ]
    cmd += ["--n-threads", str(default_threads())]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ExtraBufts(False, f"probe with extra buffer types on timed out after {timeout:.0f} s")
    if proc.returncode == 0 and PROBE_OK in proc.stdout:
        return ExtraBufts(True, f"probe with extra buffer types on passed ({model.name})")
    if proc.returncode == EXIT_MISSING_RUNTIME:
        return ExtraBufts(False, "not probed (llama-cpp-python server missing)", cacheable=False)
    how = _signal_name(proc.returncode) or f"exit code {proc.returncode}"
    last = (proc.stderr.strip().splitlines() or [""])[-1][:200]
    return ExtraBufts(False, f"probe with extra buffer types on died ({how}){': ' + last if last else ''}")


def decide_extra_bufts(
    probe: Callable[[], ExtraBufts] = run_probe, flags: frozenset[str] | None = None
) -> ExtraBufts:
    """Whether servers use llama.cpp's extra buffer types on this machine.

    ``AUTODATA_LLAMA_EXTRA_BUFTS=0/1`` decides outright. A CPU that advertises no AMX gets them on without
    a probe: what remains are repacked weight layouts computed with the SIMD instructions every other
    kernel of the build uses too (llama.cpp's default, faster for Q4 weights). A CPU that advertises AMX, or
    one whose flags cannot be read, gets a probe, cached per (CPU flags, llama-cpp-python version) in the
    model cache dir: a VM can advertise AMX and trap its tile instructions (SIGILL on the first prompt).
    """
    env = os.environ.get(EXTRA_BUFTS_ENV, "").strip().lower()
    if env in ("0", "off", "false", "no"):
        return ExtraBufts(False, f"{EXTRA_BUFTS_ENV}={env}")
    if env in ("1", "on", "true", "yes"):
        return ExtraBufts(True, f"{EXTRA_BUFTS_ENV}={env}")
    flags = cpu_flags() if flags is None else flags
    if flags is not None and not flags & AMX_FLAGS:
        return ExtraBufts(True, "the CPU advertises no AMX (llama.cpp default)")
    key = probe_key(flags)
    cached = _read_probes().get(key)
    if isinstance(cached, dict) and isinstance(cached.get("enabled"), bool):
        return ExtraBufts(cached["enabled"], f"{cached.get('reason', '')}; cached in {probe_file()}")
    result = probe()
    if result.cacheable:
        with contextlib.suppress(OSError):  # a read-only cache: probe again next time
            record_probe(key, result)
    return result


_EXTRA_BUFTS: ExtraBufts | None = None
_EXTRA_BUFTS_LOCK = threading.Lock()


def extra_bufts_setting() -> ExtraBufts:
    """``decide_extra_bufts()`` once per process (the probe runs at most once per machine)."""
    global _EXTRA_BUFTS
    with _EXTRA_BUFTS_LOCK:
        if _EXTRA_BUFTS is None:
            _EXTRA_BUFTS = decide_extra_bufts()
            logger.info("llama.cpp extra buffer types %s: %s", _EXTRA_BUFTS.flag, _EXTRA_BUFTS.reason)
        return _EXTRA_BUFTS


def disable_extra_bufts(reason: str) -> None:
    """A server with extra buffer types on died of SIGILL: off for this process and, cached, this machine."""
    global _EXTRA_BUFTS
    result = ExtraBufts(False, reason)
    with _EXTRA_BUFTS_LOCK:
        _EXTRA_BUFTS = result
    with contextlib.suppress(OSError):
        record_probe(probe_key(cpu_flags()), result)


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
                    tail = _tail(self.log_path)
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


def describe_exit(returncode: int | None) -> str:
    signame = _signal_name(returncode)
    return f"killed by {signame}" if signame else f"exited with code {returncode}"


def crash_advice(returncode: int | None, extra_bufts: bool | None) -> str:
    signame = _signal_name(returncode)
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
            f"{_tail(srv.log_path, 15) if srv.log_path else '(no log)'}\nWhat to do: {advice}"
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
