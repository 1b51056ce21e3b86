"""A fake OpenAI-compatible chat server whose replies pass the real pipeline (tests, fault tests, benchmarks).

The reply depends on the requested model name ``fake-<role>`` (``fake-challenger``, ``fake-verifier``,
``fake-weak_solver``, ``fake-strong_solver``, ``fake-judge``, ``fake-orchestrator``):

- challenger: one item from a small bank (rubric or verifiable, read from the requested JSON schema or,
  without one, from the prompt) that passes the coded format rules and the leakage check;
- verifier: every check PASS;
- weak solver: a wrong answer ending in ``Final answer: ...`` (right with ``weak_right_rate``);
- strong solver: the right answer;
- judge: per-criterion verdicts (or an equivalence verdict) consistent with whether the graded answer's final
  line matches the reference answer in the prompt;
- orchestrator: short advice.

Structured output works with every method of ``autodata.core.config.StructuredMethod``: the JSON comes back as
the message content (``response_format`` json_schema / json_object, in the body or in ``extra_body``) or as a
tool call (``tools``). ``stream: true`` is answered with server-sent events (evals/openai_wire.py
writes both). Every reply carries ``usage`` (about 4 characters a token).

Knobs, for fault tests and throughput benchmarks: ``latency`` (seconds slept per request, with asyncio, so
requests overlap), ``max_parallel`` (requests served at once; the rest queue), ``fail_rate`` with ``seed``
(inject HTTP 500, HTTP 429 with ``Retry-After``, malformed JSON, or JSON truncated at ``finish_reason:
length``). Whether a request fails is a pure function of the seed, the request (model + messages) and how
many times that same request was seen before, so a run is reproducible whatever order parallel requests
arrive in, and a retried request gets a fresh draw.

Run it::

    python -m autodata.evals.fake_openai_server --port 8765 [--latency 0.2] [--max-parallel 4]
        [--fail-rate 0.2 --seed 1]
    autodata generate examples/ --out runs/fake --config tests/fake_models.toml
    # another port: --set all.base_url=http://127.0.0.1:PORT/v1

In process::

    with serve_in_thread(FakeOpenAIServer(latency=0.05)) as base_url:  # an ephemeral port
        ...

``GET /stats`` (not part of the OpenAI API) reports requests per role, injected faults and the peak number of
requests in flight; ``POST /stats/reset`` clears it (and the fault draws).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from autodata.core.config import ROLES
from autodata.evals.fake_replies import (
    MODEL_PREFIX,
    messages_text,
    reply_for,
    requested_schema,
    role_of,
    tokens,
)
from autodata.evals.openai_wire import (
    Completion,
    completion_response,
    error_response,
    forced_tool,
    stream_response,
)

FAULTS = ("500", "429", "malformed", "truncated")
"""Injected faults: HTTP 500; HTTP 429 with ``Retry-After``; a reply whose JSON is malformed (for free-text
roles: garbled text without a final answer); a reply cut in the middle with ``finish_reason: length``.
``bad_body`` (an HTTP 200 whose body is not JSON) can be requested explicitly."""
ALL_FAULTS = (*FAULTS, "bad_body")


class FakeOpenAIServer:
    """The ASGI app (``.app``) and its state: options, fault draws and statistics."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        max_parallel: int | None = None,
        fail_rate: float = 0.0,
        seed: int = 0,
        faults: tuple[str, ...] | list[str] = FAULTS,
        retry_after: float = 0.05,
        weak_right_rate: float = 0.0,
        record_requests: bool = False,
    ):
        unknown = set(faults) - set(ALL_FAULTS)
        if unknown or not faults:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; choose from {list(ALL_FAULTS)}")
        if not 0.0 <= fail_rate <= 1.0 or not 0.0 <= weak_right_rate <= 1.0:
            raise ValueError("fail_rate and weak_right_rate must be in [0, 1]")
        self.latency = max(0.0, latency)
        self.max_parallel = max_parallel if max_parallel and max_parallel > 0 else None
        self.fail_rate = fail_rate
        self.seed = seed
        self.faults = tuple(faults)
        self.retry_after = retry_after
        self.weak_right_rate = weak_right_rate
        self.record_requests = record_requests
        self.requests: list[dict[str, Any]] = []
        """Request bodies, in arrival order (only with ``record_requests``)."""
        self._lock = threading.Lock()
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/models", self.models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/stats", self.stats_endpoint, methods=["GET"]),
                Route("/stats/reset", self.reset_endpoint, methods=["POST"]),
            ]
        )

    # -- state

    def reset(self) -> None:
        with self._lock:
            self._seen: Counter[str] = Counter()
            self._counter = 0
            self.by_role: Counter[str] = Counter()
            self.fault_counts: Counter[str] = Counter()
            self.in_flight = 0
            self.max_in_flight = 0
            self.completed = 0
            self.requests.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self.by_role.values()),
                "by_role": dict(self.by_role),
                "faults": dict(self.fault_counts),
                "completed": self.completed,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
            }

    def _draw(self, key: str, salt: str) -> float:
        """A uniform number in [0, 1) from the seed, the request and how often it was seen before."""
        with self._lock:
            occurrence = self._seen[key + salt]
            self._seen[key + salt] += 1
        digest = hashlib.sha256(f"{self.seed}|{salt}|{key}|{occurrence}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def fault_for(self, key: str) -> str | None:
        if self.fail_rate <= 0:
            return None
        draw = self._draw(key, "fault")
        if draw >= self.fail_rate:
            return None
        return self.faults[int(draw / self.fail_rate * len(self.faults)) % len(self.faults)]

    def _semaphore(self) -> asyncio.Semaphore | None:
        if self.max_parallel is None:
            return None
        loop_id = id(asyncio.get_running_loop())
        with self._lock:
            if loop_id not in self._semaphores:
                self._semaphores[loop_id] = asyncio.Semaphore(self.max_parallel)
            return self._semaphores[loop_id]

    # -- endpoints

    async def models(self, request: Request) -> Response:
        data = [
            {"id": MODEL_PREFIX + role, "object": "model", "created": 0, "owned_by": "autodata-fake"}
            for role in ROLES
        ]
        return JSONResponse({"object": "list", "data": data})

    async def stats_endpoint(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    async def reset_endpoint(self, request: Request) -> Response:
        self.reset()
        return JSONResponse(self.stats())

    async def chat_completions(self, request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error_response(400, "invalid_request_error", "the request body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return error_response(400, "invalid_request_error", "'messages' is required")
        model = str(body.get("model", ""))
        role = role_of(model)
        if role is None:
            names = ", ".join(MODEL_PREFIX + r for r in ROLES)
            return error_response(
                404, "model_not_found", f"model {model!r} does not exist; use one of {names}"
            )
        with self._lock:
            self.by_role[role] += 1
            self._counter += 1
            number = self._counter
            if self.record_requests:
                self.requests.append(body)
        semaphore = self._semaphore()
        async with semaphore if semaphore is not None else contextlib.nullcontext():
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.latency:
                    await asyncio.sleep(self.latency)
                return self._respond(role, model, body, number)
            finally:
                with self._lock:
                    self.in_flight -= 1
                    self.completed += 1

    def _respond(self, role: str, model: str, body: dict[str, Any], number: int) -> Response:
        key = hashlib.sha256(
            json.dumps([model, body.get("messages")], sort_keys=True, default=str).encode()
        ).hexdigest()
        fault = self.fault_for(key)
        if fault is not None:
            with self._lock:
                self.fault_counts[fault] += 1
        if fault == "500":
            return error_response(500, "server_error", "injected fault: the fake upstream failed")
        if fault == "429":
            return error_response(
                429,
                "rate_limit_error",
                "injected fault: rate limited",
                headers={"Retry-After": f"{self.retry_after:g}"},
            )
        if fault == "bad_body":
            return Response('{"id": "chatcmpl-broken", "choices": [', media_type="application/json")

        weak_right = (
            role == "weak_solver"
            and self.weak_right_rate > 0
            and (self._draw(key, "weak") < self.weak_right_rate)
        )
        structured = requested_schema(body) is not None
        n = max(1, int(body.get("n") or 1))
        texts = []
        finish = "stop"
        for _ in range(n):
            text = reply_for(role, body, weak_right=weak_right)
            if fault == "malformed":
                text = _malform(text, structured)
            elif fault == "truncated":
                text, finish = text[: max(1, len(text) // 2)], "length"
            texts.append(text)
        prompt_tokens = tokens(messages_text(body["messages"]))
        completion_tokens = sum(tokens(t) for t in texts)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        completion = Completion(number, model, texts, finish, forced_tool(body), usage)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return stream_response(completion, include_usage)
        return completion_response(completion)


def _malform(text: str, structured: bool) -> str:
    if structured:  # single quotes and a trailing comma: not JSON, even to a lenient parser
        return text.replace('"', "'").rstrip("}") + ",}"
    return "%% garbled output: the model lost track of the question %%"


# ---------------------------------------------------------------------------------------------- running


@contextlib.contextmanager
def serve_in_thread(
    server: FakeOpenAIServer | None = None, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[str]:
    """Serve ``server`` (or a new one built from ``options``) in a background thread; yields the base URL
    (``http://host:port/v1``). Port 0 picks a free port."""
    import uvicorn

    server = server or FakeOpenAIServer(**options)
    config = uvicorn.Config(
        server.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="fake-openai-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            uv.should_exit = True
            raise RuntimeError(f"the fake OpenAI server did not start on {host}:{port}")
        time.sleep(0.01)
    # uvicorn binds the port itself (a socket handed in would lack TCP_NODELAY: 40 ms per request)
    actual_port = uv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{actual_port}/v1"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autodata.evals.fake_openai_server",
        description="Fake OpenAI-compatible server: models fake-<role> whose replies pass the pipeline.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept per request (async)")
    parser.add_argument("--max-parallel", type=int, default=0, help="requests served at once (0: no limit)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of requests given a fault")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"comma-separated fault kinds to inject, from {','.join(ALL_FAULTS)}",
    )
    parser.add_argument("--retry-after", type=float, default=0.05, help="Retry-After seconds sent with 429")
    parser.add_argument(
        "--weak-right-rate", type=float, default=0.0, help="share of weak-solver answers that are right"
    )
    parser.add_argument("--log-level", default="warning")
    return parser


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    args = build_parser().parse_args(argv)
    server = FakeOpenAIServer(
        latency=args.latency,
        max_parallel=args.max_parallel,
        fail_rate=args.fail_rate,
        seed=args.seed,
        faults=tuple(f.strip() for f in args.faults.split(",") if f.strip()),
        retry_after=args.retry_after,
        weak_right_rate=args.weak_right_rate,
    )
    print(f"fake OpenAI server on http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(server.app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
