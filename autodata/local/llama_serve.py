"""Run llama-cpp-python's OpenAI-compatible server for one GGUF model, on 127.0.0.1 only.

    python -m autodata.local.llama_serve --model PATH --alias NAME --port P [--n-ctx 4096] [--n-threads N]
                                   [--parent-pid PID] [--extra-bufts on|off] [--cache-bytes B]
    python -m autodata.local.llama_serve --probe --model PATH --extra-bufts on   # load, one token, exit 0

Started by ``autodata.local.server``. With ``--parent-pid`` a watchdog thread ends this process (``os._exit``)
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
- ``use_extra_bufts`` off unless ``--extra-bufts on``: llama.cpp's CPU backend otherwise moves weights into
  "extra" buffer types (AMX tiles, repacked layouts) whenever the CPU *advertises* the feature, and a VM
  that advertises AMX but traps tile instructions dies with SIGILL on the first prompt of two or more
  tokens. ``autodata.local.runtime`` turns it on only where a probe (``--probe``) proved it works.
- with ``--cache-bytes`` (a RAM prompt cache), cache entries hold the KV state only, not upstream's copy of
  an unused logits array (see install_lean_cache_state).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from autodata.local.models import INSTALL_HINT

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


def install_extra_bufts(enabled: bool) -> None:
    """Make every model this process loads use (or not) llama.cpp's extra buffer types.

    ``ModelSettings`` has no such field; ``llama_cpp.Llama`` builds its params from
    ``llama_model_default_params()``, looked up on the low-level module at call time, so wrapping it there
    reaches the server's model too.
    """
    from llama_cpp import llama_cpp as C

    # the original, not a wrapper of ours (``__wrapped__`` of the ctypes binding is its Python stub)
    defaults = getattr(C.llama_model_default_params, "_autodata_original", C.llama_model_default_params)

    def model_default_params():
        params = defaults()
        params.use_extra_bufts = enabled
        return params

    model_default_params._autodata_original = defaults
    C.llama_model_default_params = model_default_params


def install_lean_cache_state() -> None:
    """``Llama.save_state`` / ``load_state`` (run by the prompt cache after every completion and on a hit)
    without the logits rows: with ``logits_all=False`` llama.cpp samples inside its sampler and that
    n_batch x vocab float array (311 MB for Qwen's vocabulary) is never written. Upstream copies it into
    every cache entry (about 1 s and 7x the bytes the cache's size limit counts) and writes it back on a
    hit (making it resident). Everything else is as upstream; ``load_state`` still forces re-evaluation
    of the last token before sampling."""
    import ctypes

    import numpy as np
    from llama_cpp import llama_cpp as C
    from llama_cpp.llama import Llama, LlamaState

    def save_state(self: Llama) -> LlamaState:
        size = C.llama_state_get_size(self._ctx.ctx)
        buffer = (ctypes.c_uint8 * size)()
        n_bytes = C.llama_state_get_data(self._ctx.ctx, buffer, size)
        if n_bytes > size:
            raise RuntimeError("Failed to copy llama state data")
        return LlamaState(
            input_ids=self.input_ids.copy(),
            scores=np.empty((0, 0), dtype=np.single),
            n_tokens=self.n_tokens,
            llama_state=ctypes.string_at(buffer, n_bytes),
            llama_state_size=n_bytes,
            seed=self._seed,
        )

    def load_state(self: Llama, state: LlamaState) -> None:
        self.input_ids = state.input_ids.copy()
        self.n_tokens = state.n_tokens
        self._requires_eval = True
        self._seed = state.seed
        data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
        if C.llama_state_set_data(self._ctx.ctx, data, state.llama_state_size) != state.llama_state_size:
            raise RuntimeError("Failed to set llama state data")

    Llama.save_state = save_state
    Llama.load_state = load_state


PROBE_PROMPT = " ".join(["The quick brown fox jumps over the lazy dog."] * 8)
"""About 80 tokens: one token alone is computed by vector kernels; a batch of two or more reaches the
matrix kernels (AMX tiles) that crash where the CPU advertises but the VM traps them."""
PROBE_OK = "llama_serve: probe ok"


def probe(model: str, n_threads: int) -> None:
    """Load ``model`` (with the extra-bufts setting already installed), decode PROBE_PROMPT and one token."""
    from llama_cpp import Llama

    llm = Llama(model, n_ctx=256, n_threads=n_threads, n_threads_batch=n_threads, verbose=False)
    llm.create_completion(PROBE_PROMPT, max_tokens=1, temperature=0.0)
    print(PROBE_OK, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m autodata.local.llama_serve", description=__doc__.splitlines()[0]
    )
    p.add_argument("--model", required=True, help="path to the GGUF file")
    p.add_argument("--alias", help="model name clients send (model=...)")
    p.add_argument("--port", type=int)
    p.add_argument("--n-ctx", type=int, default=4096)
    p.add_argument("--n-threads", type=int, default=os.cpu_count() or 1, help="threads for generation")
    p.add_argument(
        "--n-threads-batch", type=int, default=None, help="threads for prompts (default: --n-threads)"
    )
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies")
    p.add_argument(
        "--logits-all",
        action="store_true",
        help="keep logits of every prompt token (only for logprobs; slower, n_ctx*vocab floats of RAM)",
    )
    p.add_argument("--extra-bufts", choices=("on", "off"), default="off", help="llama.cpp extra buffer types")
    p.add_argument("--cache-bytes", type=int, default=0, help="RAM prompt cache size (0: none)")
    p.add_argument("--probe", action="store_true", help="load the model, decode a short prompt, exit")
    args = p.parse_args(argv)
    if not args.probe and (args.alias is None or args.port is None):
        p.error("--alias and --port are required (except with --probe)")
    return args


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

    install_extra_bufts(args.extra_bufts == "on")
    if args.probe:
        probe(args.model, args.n_threads)
        return
    install_grammar_guard()
    if args.cache_bytes and not args.logits_all:
        install_lean_cache_state()
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
                n_threads_batch=args.n_threads_batch or args.n_threads,
                logits_all=args.logits_all,
                cache=args.cache_bytes > 0,
                cache_type="ram",
                cache_size=max(args.cache_bytes, 1),
                verbose=False,
            )
        ],
    )
    print(f"llama_serve: {args.alias} ready on http://{host}:{args.port}/v1", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
