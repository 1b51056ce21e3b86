"""Calling role models: retries, structured output, lenient parsing and per-call accounting.

Every call returns a :class:`CallRecord`; an LLM or server problem never raises out of here, except a used-up
budget and an embedded server that keeps crashing (both stop the run). A call that cannot produce a usable
reply comes back with ``ok=False`` and the reason, so nodes can record it as a failed call (never a crash,
never a pass).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableBinding

from autodata.core.records import CallRecord
from autodata.llm.accounting import Budget, BudgetExhausted, call_cost
from autodata.llm.cache import cache_key
from autodata.llm.chat_call import ChatRequest, generate
from autodata.llm.dialects import response_format_for, tool_for
from autodata.llm.models import ModelRegistry
from autodata.llm.parsing import MalformedOutput, T, parse_structured
from autodata.local.server import LocalServerCrashed
from autodata.prompts.loader import load_prompt

_CAPABILITY_HINTS = (
    "response_format",
    "not supported",
    "unsupported",
    "json_schema",
    "grammar",
    "cannot succeed",
)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the same request may succeed later (network, timeouts, overload, 5xx)."""
    if isinstance(exc, openai.RateLimitError | openai.APIConnectionError | openai.APITimeoutError):
        return True
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            text = str(exc).lower()
            return not any(hint in text for hint in _CAPABILITY_HINTS)
        return exc.status_code in (408, 409, 429)
    # a 200 whose body is not JSON: a proxy or a server restarting; the same request may succeed
    transient = (
        ConnectionError,
        TimeoutError,
        asyncio.TimeoutError,
        httpx.TransportError,
        json.JSONDecodeError,
    )
    return isinstance(exc, transient)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        return float(headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


def _describe(exc: BaseException) -> str:
    """``Type: message``, plus the root cause when the SDK's message hides it (the SDK reports an
    aiohttp "connection refused" as "Request timed out.")."""
    text = str(exc).strip().replace("\n", " ")
    described = f"{type(exc).__name__}: {text[:300]}"
    root = exc
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    root_text = str(root).strip().replace("\n", " ")
    if root is not exc and root_text and root_text not in text:
        described += f" (cause: {type(root).__name__}: {root_text[:200]})"
    return described


def _usage(message: BaseMessage) -> tuple[int, int]:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("input_tokens", 0) or 0), int(usage.get("output_tokens", 0) or 0)


def _request_kwargs(registry: ModelRegistry, role: str, response_format: dict | None) -> dict[str, Any]:
    settings = registry.settings(role)
    extra: dict[str, Any] = {}
    if settings.max_tokens_in_extra_body:
        extra["max_tokens"] = settings.max_tokens
    if response_format is not None:
        extra["response_format"] = response_format
    return {"extra_body": extra} if extra else {}


class _Attempts:
    """Shared retry loop state for one logical call."""

    def __init__(
        self,
        registry: ModelRegistry,
        role: str,
        sample: int = 0,
        cache_extra: dict | None = None,
        defer: int = 0,
    ):
        self.registry = registry
        self.role = role
        self.sample = sample
        self.defer = defer
        self.cache_extra = cache_extra or {}
        self.cached = False
        self.settings = registry.settings(role)
        self.cache = registry.cache
        self.limiter = registry.limiter(role)
        self.budget: Budget | None = registry.budget
        self.started = time.monotonic()
        self.attempts = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def record(self, ok: bool, error: str | None) -> CallRecord:
        return CallRecord(
            role=self.role,
            model=self.settings.model,
            ok=ok,
            error=error,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            seconds=round(time.monotonic() - self.started, 3),
            attempts=self.attempts,
            cached=self.cached,
            cost_usd=call_cost(self.settings, self.input_tokens, self.output_tokens),
        )

    async def invoke(self, runnable: Any, messages: list[BaseMessage], config: dict) -> AIMessage:
        """Invoke with retries of transient failures; raises the last error when they are exhausted."""
        key = None
        if self.cache is not None:
            extra = {
                "temperature": self.settings.temperature,
                "max_tokens": self.settings.max_tokens,
                **self.cache_extra,
            }
            key = cache_key(self.role, self.settings.model, messages, self.sample, extra)
            hit = self.cache.get(key)
            if hit is not None:  # paid for before (e.g. before a crash): replay, count no tokens
                self.cached = True
                return hit
        while True:
            try:
                # the budget is asked when the request can go out: a request that waited for the endpoint
                # past a time budget is not sent
                slot = self.limiter.slot(self.role, self.defer) if self.limiter else contextlib.nullcontext()
                async with slot:
                    if self.budget is not None:
                        self.budget.reserve()  # BudgetExhausted propagates: not retried, not a failed call
                    self.attempts += 1
                    try:
                        reply = await runnable.ainvoke(messages, config=config)
                    finally:
                        if self.budget is not None:
                            self.budget.release()
                if self.limiter is not None:
                    self.limiter.record_tokens(sum(_usage(reply)))
            except BudgetExhausted:
                raise
            except Exception as exc:
                await self.registry.check_endpoint(self.role)  # LocalServerCrashed propagates: stops the run
                transient_budget = self.settings.max_retries
                if not is_transient(exc) or self.attempts > transient_budget:
                    raise
                delay = _retry_after(exc) or self.registry.retry_backoff * (2 ** (self.attempts - 1))
                await asyncio.sleep(min(delay, 60.0))
                continue
            tokens_in, tokens_out = _usage(reply)
            self.input_tokens += tokens_in
            self.output_tokens += tokens_out
            if self.budget is not None:
                self.budget.charge(tokens_in + tokens_out, call_cost(self.settings, tokens_in, tokens_out))
            if key is not None:
                self.cache.put(key, reply)
            return reply


def _run_config(role: str, model: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """LangSmith run name, tags and metadata of one LLM call (role, model, source, round, variant...)."""
    meta = {"role": role, "model": model, **(metadata or {})}
    tags = [f"role:{role}", f"model:{model}"]
    if "variant" in meta:
        tags.append(f"variant:{meta['variant']}")
    return {"run_name": f"{role}:{model}", "tags": tags, "metadata": meta}


def _truncated(reply: BaseMessage) -> bool:
    return (getattr(reply, "response_metadata", None) or {}).get("finish_reason") == "length"


async def call_text(
    registry: ModelRegistry,
    role: str,
    messages: list[BaseMessage],
    *,
    metadata: dict[str, Any] | None = None,
    sample: int = 0,
    allow_empty: bool = False,
) -> tuple[str | None, CallRecord]:
    """Free-text call. Returns (text or None, record). ``sample`` numbers repeated samples of one prompt
    (it keys the response cache). An empty reply is a failed call, unless ``allow_empty`` (a solver's empty
    reply is a wrong answer, not a server problem): then it comes back as ``""``."""
    state = _Attempts(registry, role, sample)
    runnable = ChatRequest(registry.chat(role), _request_kwargs(registry, role, None))
    try:
        reply = await state.invoke(runnable, messages, _run_config(role, state.settings.model, metadata))
    except (BudgetExhausted, LocalServerCrashed):
        raise
    except Exception as exc:
        return None, state.record(False, _describe(exc))
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    if not text.strip() and not allow_empty:
        return None, state.record(False, "empty reply")
    record = state.record(True, None)
    record["truncated"] = _truncated(reply)
    return text, record


class SampleReply(NamedTuple):
    text: str | None
    """None when the call failed; ``""`` for an empty reply."""
    record: CallRecord
    truncated: bool


class _SamplesInOneRequest:
    """Runnable-like adapter: one request with ``n`` = k; the k answers come back as a JSON list in the
    content (so retries, limits, the budget and the response cache treat it as one call)."""

    def __init__(self, chat: Any, k: int, kwargs: dict[str, Any]):
        self.chat, self.k, self.kwargs = chat, k, kwargs

    async def ainvoke(self, messages: list[BaseMessage], config: dict | None = None) -> AIMessage:
        result = await generate(self.chat, messages, config or {}, {"n": self.k, **self.kwargs})
        generations = result.generations
        texts = [
            {"text": g.text, "finish_reason": (g.generation_info or {}).get("finish_reason")}
            for g in generations
        ]
        tokens_in = tokens_out = 0
        for g in generations[:1]:  # usage covers the whole request and is attached to the first choice
            tokens_in, tokens_out = _usage(getattr(g, "message", AIMessage(content="")))
        usage = (result.llm_output or {}).get("token_usage") or {}
        tokens_in = usage.get("prompt_tokens", tokens_in) or tokens_in
        tokens_out = usage.get("completion_tokens", tokens_out) or tokens_out
        return AIMessage(
            content=json.dumps(texts),
            usage_metadata={
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
        )


def _choice(entry: Any) -> tuple[str, bool] | None:
    """A choice of a one-request ``n`` = k reply: ``{"text", "finish_reason"}`` (a bare string in caches
    written before finish reasons were kept)."""
    if isinstance(entry, str):
        return entry, False
    if isinstance(entry, dict) and isinstance(entry.get("text"), str):
        return entry["text"], entry.get("finish_reason") == "length"
    return None


async def call_text_samples(
    registry: ModelRegistry,
    role: str,
    messages: list[BaseMessage],
    k: int,
    *,
    metadata: dict[str, Any] | None = None,
    offset: int = 0,
) -> list[SampleReply]:
    """k independent answers to one prompt: one request with ``n`` = k where the endpoint supports it
    (``supports_n``), else k requests. An endpoint that silently returns fewer choices is topped up with
    single requests. Empty replies come back as ``""`` (wrong answers), failed calls as None. ``offset``
    numbers a later batch's samples after those drawn before for the prompt (distinct cached replies)."""
    settings = registry.settings(role)

    async def single(i: int) -> SampleReply:
        text, record = await call_text(
            registry, role, messages, metadata={**(metadata or {}), "sample": i}, sample=i, allow_empty=True
        )
        return SampleReply(text, record, bool(record.get("truncated")))

    if k <= 1 or not settings.supports_n:
        return list(await asyncio.gather(*(single(offset + i) for i in range(k))))
    state = _Attempts(registry, role, offset, {"n": k})
    runnable = _SamplesInOneRequest(registry.chat(role), k, _request_kwargs(registry, role, None))
    try:
        reply = await state.invoke(runnable, messages, _run_config(role, settings.model, metadata))
        choices = [c for c in map(_choice, json.loads(str(reply.content))) if c is not None]
    except (BudgetExhausted, LocalServerCrashed):
        raise
    except Exception as exc:
        choices, record = [], state.record(False, _describe(exc))
    else:
        record = state.record(bool(choices), None if choices else "no choices in the reply")
    results = [SampleReply(text, record, truncated) for text, truncated in choices[:k]]
    if len(results) < k:
        results += await asyncio.gather(*(single(offset + i) for i in range(len(results), k)))
    return results


async def call_structured(
    registry: ModelRegistry,
    role: str,
    messages: list[BaseMessage],
    schema: type[T],
    *,
    metadata: dict[str, Any] | None = None,
    parse_retries: int = 2,
    validate: Callable[[T], str | None] | None = None,
    sample: int = 0,
    defer: int = 0,
) -> tuple[T | None, CallRecord]:
    """Structured call: constrained decoding as the endpoint supports, lenient parsing, retries.

    A malformed reply is retried ``parse_retries`` times with the parse error fed back; after that the
    call is reported as failed (``None`` + a record with ``ok=False``). ``validate`` may reject a parsed
    reply for reasons the schema cannot express (it returns an error message, or None when fine).
    ``defer`` puts the call behind others of its role when a busy endpoint has several waiting.
    """
    method = registry.settings(role).structured_output
    state = _Attempts(registry, role, sample, {"schema": schema.__name__, "method": method}, defer)
    chat = registry.chat(role)
    config = _run_config(role, state.settings.model, metadata)
    runnable: Any
    if method == "function_calling":
        runnable = chat.bind_tools(
            [tool_for(schema)], tool_choice=schema.__name__, **_request_kwargs(registry, role, None)
        )
        if isinstance(runnable, RunnableBinding):  # the tools as request arguments, sent by ChatRequest
            runnable = ChatRequest(runnable.bound, dict(runnable.kwargs))
    else:
        runnable = ChatRequest(chat, _request_kwargs(registry, role, response_format_for(method, schema)))

    conversation = list(messages)
    last_error = "no reply"
    for _ in range(parse_retries + 1):
        try:
            reply = await state.invoke(runnable, conversation, config)
        except (BudgetExhausted, LocalServerCrashed):
            raise
        except Exception as exc:
            return None, state.record(False, _describe(exc))
        try:
            if method == "function_calling" and reply.tool_calls:
                parsed = parse_structured(reply.tool_calls[0]["args"], schema)
            else:
                parsed = parse_structured(reply.content if isinstance(reply.content, str) else "", schema)
            problem = validate(parsed) if validate else None
            if problem:
                raise MalformedOutput(problem)
            return parsed, state.record(True, None)
        except MalformedOutput as exc:
            last_error = str(exc)
            conversation = [
                *messages,
                AIMessage(content=reply.content if isinstance(reply.content, str) else ""),
                *load_prompt("parse_retry").render(error=last_error[:300]),
            ]
    return None, state.record(False, f"malformed output: {last_error}")
