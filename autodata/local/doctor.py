"""``autodata models``: prove that every embedded model runs on this machine.

For each model: assemble/verify its file (as ``autodata models --no-run`` reports), start its server as a run
would (same threads, extra-buffer setting and prompt cache), send one tiny chat request and stop it. A model
that fails is reported with the stage, the error and its server log's tail; the exit code is 1 if any failed.
The chat template alone makes the prompt a batch of many tokens, so this reaches the same matrix kernels as
real prompts (a single-token prompt would not: a VM that traps AMX passes that and dies on the next one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autodata.local.models import (
    EMBEDDED_MODELS,
    LocalModelsUnavailable,
    ModelIntegrityError,
    cache_dir,
    ensure_model_file,
)
from autodata.local.runtime import (
    default_cache_bytes,
    default_threads,
    describe_exit,
    extra_bufts_setting,
    usable_cpus,
)
from autodata.local.server import LocalServer, LocalServerError, log_tail

PROMPT = "Reply with the single word OK."
MAX_TOKENS = 4


@dataclass
class ModelCheck:
    name: str
    stage: str  # where it got to: "file", "start", "request", or "ok"
    seconds: dict[str, float]
    reply: str = ""
    completion_tokens: int = 0
    rss_mb: float | None = None
    error: str | None = None
    log_tail: str | None = None

    @property
    def ok(self) -> bool:
        return self.stage == "ok"


def _rss_mb(pid: int | None) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def _chat(base_url: str, name: str, timeout: float) -> dict:
    body = {
        "model": name,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
    }
    response = httpx.post(f"{base_url}/chat/completions", json=body, timeout=timeout, trust_env=False)
    response.raise_for_status()
    return response.json()


def _exit_status(srv: LocalServer, wait: float = 3.0) -> str:
    """How the server ended after a failed request (it may take a moment to be reaped)."""
    deadline = time.monotonic() + wait
    while not srv.died() and time.monotonic() < deadline:
        time.sleep(0.1)
    return f"; the server {describe_exit(srv.returncode)}" if srv.died() else ""


def check_model(
    name: str, server_factory: Callable[[str], LocalServer] = LocalServer, timeout: float = 180.0
) -> ModelCheck:
    check = ModelCheck(name, "file", {})
    started = time.monotonic()
    try:
        ensure_model_file(name)
    except (LocalModelsUnavailable, ModelIntegrityError) as exc:
        check.error = str(exc)
        return check
    check.seconds["file"] = time.monotonic() - started
    srv = server_factory(name)
    try:
        check.stage, started = "start", time.monotonic()
        srv.start()
        check.seconds["start"] = time.monotonic() - started
        check.stage, started = "request", time.monotonic()
        reply = _chat(srv.base_url, name, timeout)
        check.seconds["request"] = time.monotonic() - started
        check.reply = reply["choices"][0]["message"]["content"] or ""
        check.completion_tokens = int(reply.get("usage", {}).get("completion_tokens", 0))
        check.rss_mb = _rss_mb(srv.pid)
        check.stage = "ok"
    except (LocalServerError, LocalModelsUnavailable) as exc:
        check.error = str(exc).split("\nLog ")[0]  # the log tail is shown separately
    except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
        check.error = f"{type(exc).__name__}: {exc}{_exit_status(srv)}"
    finally:
        srv.stop()
    if not check.ok and srv.log_path is not None:
        check.log_tail = log_tail(srv.log_path, 15)
    return check


def print_runtime(console: Console) -> None:
    extra = extra_bufts_setting()
    console.print(f"llama.cpp extra buffer types: [bold]{extra.flag}[/]: {escape(extra.reason)}")
    console.print(f"threads per server: {default_threads()} ({usable_cpus()} usable CPUs)")
    cache_mb = default_cache_bytes() // (1024 * 1024)
    console.print(f"prompt cache per server: {f'{cache_mb} MB (RAM)' if cache_mb else 'off'}")


def _row(check: ModelCheck) -> list[str]:
    def secs(stage: str) -> str:
        return f"{check.seconds[stage]:.1f} s" if stage in check.seconds else "-"

    result = "[green]ok[/]" if check.ok else f"[red]failed ({check.stage})[/]"
    reply = escape(repr(check.reply.strip())) if check.ok else "-"
    rss = f"{check.rss_mb:.0f} MB" if check.rss_mb else "-"
    return [check.name, result, secs("file"), secs("start"), secs("request"), reply, rss]


def run_doctor(
    console: Console | None = None,
    names: list[str] | None = None,
    server_factory: Callable[[str], LocalServer] = LocalServer,
) -> int:
    """Check every embedded model (or ``names``); 0 when all answered, else 1."""
    console = console or Console()
    console.print(f"embedded models (cache: {cache_dir()})")
    print_runtime(console)
    table = Table(title="one tiny chat request per model")
    table.add_column("model", no_wrap=True)
    for column in ("result", "file check", "server start", "request", "reply", "server RSS"):
        table.add_column(column, overflow="fold")
    checks = []
    for name in names or list(EMBEDDED_MODELS):
        console.print(f"checking {name}...")
        checks.append(check_model(name, server_factory))
        table.add_row(*_row(checks[-1]))
    console.print(table)
    for check in checks:
        if not check.ok:
            console.print(f"[bold red]{check.name} failed ({check.stage}):[/] {escape(check.error or '')}")
            if check.log_tail:
                console.print(f"server log, last lines:\n{check.log_tail}", markup=False, highlight=False)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        console.print(
            f"[bold red]{len(failed)} of {len(checks)} embedded model(s) failed:[/] {', '.join(failed)}"
        )
        return 1
    console.print(f"[green]all {len(checks)} embedded models answered[/]")
    return 0
