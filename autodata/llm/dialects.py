"""Structured output per endpoint kind: the ``response_format`` or tool each structured-output method sends,
and the JSON schema as llama.cpp's grammar takes it or as other endpoints do."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

GRAMMAR_MAX_LENGTH = 1000
GRAMMAR_PATTERN = "x-grammar-pattern"
"""Schema key of a regular expression for grammar-constrained decoding only (``json_object_schema``,
llama.cpp): it becomes the field's ``pattern`` there and is left out of the schemas sent to other
endpoints (see ``autodata.rules.schemas.bounded``)."""


def grammar_schema(value: Any) -> Any:
    """The JSON schema for llama.cpp's grammar: ``x-grammar-pattern`` becomes the field's ``pattern``
    (which carries its own length bounds: llama.cpp ignores ``maxLength`` beside a pattern), and no
    ``maxLength`` above 1000 (llama.cpp expands a bounded string into nested optional rules and cannot
    build, or crashes on, longer ones; such fields are bounded by ``max_tokens`` and by truncation when
    parsing instead)."""
    if isinstance(value, dict):
        if GRAMMAR_PATTERN in value:
            value = {k: v for k, v in value.items() if k not in ("maxLength", "minLength")}
            value["pattern"] = value.pop(GRAMMAR_PATTERN)
        return {
            k: grammar_schema(v)
            for k, v in value.items()
            if not (k == "maxLength" and isinstance(v, int) and v > GRAMMAR_MAX_LENGTH)
        }
    if isinstance(value, list):
        return [grammar_schema(v) for v in value]
    return value


def portable_schema(value: Any) -> Any:
    """The JSON schema for every other endpoint: without the grammar-only ``x-grammar-pattern``."""
    if isinstance(value, dict):
        return {k: portable_schema(v) for k, v in value.items() if k != GRAMMAR_PATTERN}
    if isinstance(value, list):
        return [portable_schema(v) for v in value]
    return value


@functools.lru_cache(maxsize=256)  # schemas built at run time (enums of names) must not pile up
def response_format_for(method: str, schema: type[BaseModel]) -> dict | None:
    """The request's ``response_format`` (cached: building a JSON schema costs about a millisecond, and
    every structured call of a run asks for the same few). Callers must not mutate it."""
    json_schema = schema.model_json_schema()
    if method == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": portable_schema(json_schema)},
        }
    if method == "json_object_schema":
        return {"type": "json_object", "schema": grammar_schema(json_schema)}
    if method == "json_mode":
        return {"type": "json_object"}
    return None


@functools.lru_cache(maxsize=256)  # schemas built at run time (enums of names) must not pile up
def tool_for(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema as an OpenAI tool (built once), without grammar-only keys."""
    json_schema = portable_schema(schema.model_json_schema())
    return {
        "type": "function",
        "function": {
            "name": schema.__name__,
            "description": json_schema.pop("description", "") or schema.__name__,
            "parameters": json_schema,
        },
    }
