"""Calling role models: retries, structured output, lenient parsing and per-call accounting.

Every call returns a :class:`CallRecord`; an LLM or server problem never raises out of here. A call that
cannot produce a usable reply comes back with ``ok=False`` and the reason, so nodes can record it as a failed
call (never a crash, never a pass).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from autodata.cache import cache_key
from autodata.models import ModelRegistry

T = TypeVar("T", bound=BaseModel)


class CallRecord(TypedDict):
    role: str
    model: str
    ok: bool
    error: str | None
    input_tokens: int
    output_tokens: int
    seconds: float
    attempts: int
    cached: bool


class MalformedOutput(ValueError):
    """The reply could not be parsed into the requested schema."""


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
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text[:300]}"


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any]:
    """Find and decode the JSON object in a reply, tolerating code fences, prose and raw newlines."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for chunk in candidates:
        start = chunk.find("{")
        end = chunk.rfind("}")
        if start == -1 or end <= start:
            continue
        try:
            value = json.loads(chunk[start : end + 1], strict=False)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise MalformedOutput(f"no JSON object in reply: {text[:200]!r}")


def parse_structured(data: dict[str, Any] | str, schema: type[T]) -> T:
    """Validate a decoded reply against ``schema``; unwrap one level of ``{"<name>": {...}}`` nesting."""
    if isinstance(data, str):
        data = extract_json_object(data)
    try:
        return schema.model_validate(data)
    except ValidationError as first:
        if len(data) == 1:
            (inner,) = data.values()
            if isinstance(inner, dict):
                try:
                    return schema.model_validate(inner)
                except ValidationError:
                    pass
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in first.errors()[:4])
        raise MalformedOutput(f"reply does not match {schema.__name__}: {errors}") from first


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


GRAMMAR_MAX_LENGTH = 1000


def grammar_schema(value: Any) -> Any:
    """The JSON schema without ``maxLength`` above 1000: llama.cpp expands a bounded string into nested
    optional rules and cannot build (or crashes on) longer ones. Such fields are bounded by ``max_tokens``
    and by truncation when parsing instead."""
    if isinstance(value, dict):
        return {
            k: grammar_schema(v)
            for k, v in value.items()
            if not (k == "maxLength" and isinstance(v, int) and v > GRAMMAR_MAX_LENGTH)
        }
    if isinstance(value, list):
        return [grammar_schema(v) for v in value]
    return value


def _response_format(method: str, schema: type[BaseModel]) -> dict | None:
    json_schema = schema.model_json_schema()
    if method == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": json_schema}}
    if method == "json_object_schema":
        return {"type": "json_object", "schema": grammar_schema(json_schema)}
    if method == "json_mode":
        return {"type": "json_object"}
    return None


class _Attempts:
    """Shared retry loop state for one logical call."""

    def __init__(self, registry: ModelRegistry, role: str, sample: int = 0, cache_extra: dict | None = None):
        self.registry = registry
        self.role = role
        self.sample = sample
        self.cache_extra = cache_extra or {}
        self.cached = False
        self.settings = registry.settings(role)
        self.cache = getattr(registry, "cache", None)
        limiter = getattr(registry, "limiter", None)
        self.limiter = limiter(role) if callable(limiter) else None
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
            self.attempts += 1
            try:
                if self.limiter is not None:
                    async with self.limiter.slot():
                        reply = await runnable.ainvoke(messages, config=config)
                    tokens = sum(_usage(reply))
                    self.limiter.record_tokens(tokens)
                else:
                    reply = await runnable.ainvoke(messages, config=config)
            except Exception as exc:
                transient_budget = self.settings.max_retries
                if not is_transient(exc) or self.attempts > transient_budget:
                    raise
                delay = _retry_after(exc) or self.registry.retry_backoff * (2 ** (self.attempts - 1))
                await asyncio.sleep(min(delay, 60.0))
                continue
            tokens_in, tokens_out = _usage(reply)
            self.input_tokens += tokens_in
            self.output_tokens += tokens_out
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


async def call_text(
    registry: ModelRegistry,
    role: str,
    messages: list[BaseMessage],
    *,
    metadata: dict[str, Any] | None = None,
    sample: int = 0,
) -> tuple[str | None, CallRecord]:
    """Free-text call. Returns (text or None, record). ``sample`` numbers repeated samples of one prompt
    (it keys the response cache)."""
    state = _Attempts(registry, role, sample)
    chat = registry.chat(role)
    runnable = chat.bind(**_request_kwargs(registry, role, None))
    try:
        reply = await state.invoke(runnable, messages, _run_config(role, state.settings.model, metadata))
    except Exception as exc:
        return None, state.record(False, _describe(exc))
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    if not text.strip():
        return None, state.record(False, "empty reply")
    return text, state.record(True, None)


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
) -> tuple[T | None, CallRecord]:
    """Structured call: constrained decoding as the endpoint supports, lenient parsing, retries.

    A malformed reply is retried ``parse_retries`` times with the parse error fed back; after that the
    call is reported as failed (``None`` + a record with ``ok=False``). ``validate`` may reject a parsed
    reply for reasons the schema cannot express (it returns an error message, or None when fine).
    """
    method = registry.settings(role).structured_output
    state = _Attempts(registry, role, sample, {"schema": schema.__name__, "method": method})
    chat = registry.chat(role)
    config = _run_config(role, state.settings.model, metadata)
    if method == "function_calling":
        runnable = chat.bind_tools(
            [schema], tool_choice=schema.__name__, **_request_kwargs(registry, role, None)
        )
    else:
        runnable = chat.bind(**_request_kwargs(registry, role, _response_format(method, schema)))

    conversation = list(messages)
    last_error = "no reply"
    for _ in range(parse_retries + 1):
        try:
            reply = await state.invoke(runnable, conversation, config)
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
                HumanMessage(
                    content=f"That reply was not valid ({last_error[:300]}). "
                    "Reply again with only the JSON object, exactly in the requested fields."
                ),
            ]
    return None, state.record(False, f"malformed output: {last_error}")


def summarize_calls(
    calls: list[CallRecord], into: dict[str, dict[str, float]] | None = None
) -> dict[str, dict[str, float]]:
    """Per-role totals (calls, failed, cached, input/output tokens, seconds), added into ``into``."""
    out: dict[str, dict[str, float]] = {} if into is None else into
    for call in calls:
        row = out.setdefault(
            call["role"],
            {"calls": 0, "failed": 0, "cached": 0, "input_tokens": 0, "output_tokens": 0, "seconds": 0.0},
        )
        row["calls"] += 1
        row["failed"] += 0 if call["ok"] else 1
        row["cached"] += 1 if call.get("cached") else 0
        row["input_tokens"] += call["input_tokens"]
        row["output_tokens"] += call["output_tokens"]
        row["seconds"] = round(row["seconds"] + call["seconds"], 3)
    return out
