"""What this machine and its llama.cpp build can do, decided at run time (docs in each function):
- llama.cpp's "extra buffer types" (AMX tiles, repacked weights) only where a start-up probe proved them to
  work on this CPU (``extra_bufts_setting``; override ``AUTODATA_LLAMA_EXTRA_BUFTS=0/1``);
- threads per server (``default_threads``; override ``AUTODATA_LLAMA_THREADS``);
- a bounded RAM prompt cache per server (``default_cache_bytes``; override ``AUTODATA_LLAMA_CACHE_MB``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autodata.local.llama_serve import EXIT_MISSING_RUNTIME, PROBE_OK
from autodata.local.models import (
    EMBEDDED_MODELS,
    LocalModelsUnavailable,
    cache_dir,
    ensure_model_file,
    require_llama_cpp,
)

logger = logging.getLogger(__name__)


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


def signal_name(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def describe_exit(returncode: int | None) -> str:
    signame = signal_name(returncode)
    return f"killed by {signame}" if signame else f"exited with code {returncode}"


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
    how = signal_name(proc.returncode) or f"exit code {proc.returncode}"
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
