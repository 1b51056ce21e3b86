"""Run llama-cpp-python's OpenAI-compatible server for one GGUF model, on 127.0.0.1 only.

    python -m autodata.llama_serve --model PATH --alias NAME --port P [--n-ctx 4096] [--n-threads N]
                                   [--parent-pid PID]

Started by ``autodata.local_server``. With ``--parent-pid`` a watchdog thread ends this process (``os._exit``)
as soon as that parent is gone, so even ``kill -9`` of the parent leaves no orphan server. The watchdog polls
(``os.getppid()`` changes when the parent dies, even while it is an unreaped zombie) instead of using
``PR_SET_PDEATHSIG``, which fires when the *thread* that spawned us exits, e.g. a worker thread of a pool.

Deviations from ``python -m llama_cpp.server`` defaults, all measured:
- ``interrupt_requests=False``: upstream cuts a *streaming* response short as soon as another request
  queues behind it, which parallel graph branches would do all the time.
- ``logits_all=False`` (upstream server: True): keeps only the last logits instead of n_ctx x vocab floats;
  Qwen RSS 0.74 GB instead of 2.2 GB, prompt processing no slower. Only ``logprobs`` needs it
  (``--logits-all``).
- a grammar llama.cpp cannot build (JSON-schema string maxLength > 1000) is an HTTP 500 with a clear message
  instead of a segfault of the whole server (see install_grammar_guard).
- env vars named like a llama.cpp setting (API_KEY, CHAT_FORMAT, CONFIG_FILE, ...) are ignored.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from autodata.local_models import INSTALL_HINT

EXIT_MISSING_RUNTIME = 3


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (a killed parent stays a zombie until it is reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[-1][:1] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): existence only
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parent_alive(parent_pid: int, original_ppid: int) -> bool:
    if parent_pid == original_ppid:  # usual case: it is our parent; re-parenting means it died
        return os.getppid() == original_ppid
    return _pid_alive(parent_pid)


def start_watchdog(parent_pid: int, interval: float = 0.5) -> threading.Thread:
    original_ppid = os.getppid()

    def watch() -> None:
        while True:
            if not _parent_alive(parent_pid, original_ppid):
                print(f"llama_serve: parent {parent_pid} is gone, exiting", file=sys.stderr, flush=True)
                os._exit(0)
            time.sleep(interval)

    t = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    t.start()
    return t


def _drop_settings_env(*settings_classes: type) -> None:
    """The llama.cpp settings are pydantic BaseSettings: any env var named like a field (API_KEY, SEED,
    CHAT_FORMAT, ...; case-insensitive) or CONFIG_FILE would silently change this server. Ignore them."""
    names = {"config_file"}
    for cls in settings_classes:
        names.update(cls.model_fields)
    for key in list(os.environ):
        if key.lower() in names:
            del os.environ[key]


GRAMMAR_ERROR = (
    "llama.cpp could not build a grammar for this JSON schema (too complex; e.g. a string maxLength above "
    "1000 fails). Simplify the schema; retrying the same request cannot succeed."
)


def install_grammar_guard() -> None:
    """Turn llama.cpp's segfault on an unparsable grammar into an exception (an HTTP error for the client).

    llama-cpp-python 0.3.x adds the result of ``llama_sampler_init_grammar`` to the sampler chain without
    checking it; for a grammar llama.cpp rejects (a JSON-schema string with maxLength > 1000 expands past its
    repetition limit) that result is NULL and the whole server dies with SIGSEGV.
    """
    from llama_cpp import _internals
    from llama_cpp import llama_cpp as C

    def add_grammar(self, model, grammar):  # same as upstream, plus the NULL check
        sampler = C.llama_sampler_init_grammar(
            model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not sampler:
            raise ValueError(GRAMMAR_ERROR)
        C.llama_sampler_chain_add(self.sampler, sampler)

    _internals.LlamaSampler.add_grammar = add_grammar


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m autodata.llama_serve", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="path to the GGUF file")
    p.add_argument("--alias", required=True, help="model name clients send (model=...)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n-ctx", type=int, default=4096)
    p.add_argument("--n-threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies")
    p.add_argument(
        "--logits-all",
        action="store_true",
        help="keep logits of every prompt token (only for logprobs; slower, n_ctx*vocab floats of RAM)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.parent_pid:
        start_watchdog(args.parent_pid)  # before the (slow) model load
    try:
        import uvicorn
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError as e:
        print(f"llama_serve: {e}. Fix: {INSTALL_HINT}", file=sys.stderr, flush=True)
        sys.exit(EXIT_MISSING_RUNTIME)

    install_grammar_guard()
    _drop_settings_env(ServerSettings, ModelSettings)
    host = "127.0.0.1"
    app = create_app(
        server_settings=ServerSettings(host=host, port=args.port, interrupt_requests=False),
        model_settings=[
            ModelSettings(
                model=args.model,
                model_alias=args.alias,
                n_ctx=args.n_ctx,
                n_threads=args.n_threads,
                n_threads_batch=args.n_threads,
                logits_all=args.logits_all,
                verbose=False,
            )
        ],
    )
    print(f"llama_serve: {args.alias} ready on http://{host}:{args.port}/v1", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
