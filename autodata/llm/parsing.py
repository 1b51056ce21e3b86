"""Replies to structured calls, parsed leniently: the JSON object in a reply (fences, prose, raw newlines
tolerated), validated against the requested schema."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


class MalformedOutput(ValueError):
    """The reply could not be parsed into the requested schema."""


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
