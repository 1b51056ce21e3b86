"""The OpenAI chat-completions wire format the fake server (evals/fake_openai_server.py) answers in:
error bodies, a completion (the JSON as message content, or as a tool call when the request forces a tool)
and the same completion as server-sent events. With ``stream_options.include_usage`` the usage comes in a
last chunk of its own, as OpenAI sends it; otherwise it rides on the chunk that carries ``finish_reason``, as
vLLM and llama.cpp can do."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import JSONResponse, StreamingResponse


def completion_id(number: int) -> str:
    return f"chatcmpl-fake-{number}"


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": kind}}, status, headers=headers
    )


def forced_tool(body: dict[str, Any]) -> str | None:
    tools = body.get("tools") or []
    if not tools:
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name") or tools[0]["function"]["name"]
    return tools[0]["function"]["name"]


async def _stream_events(
    completion_id: str,
    model: str,
    texts: list[str],
    finish: str,
    tool: str | None,
    usage: dict[str, int],
    include_usage: bool,
) -> AsyncIterator[str]:
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(data)}\n\n"

    for index, text in enumerate(texts):
        pieces = [text[i : i + 64] for i in range(0, len(text), 64)] or [""]
        if tool:
            first = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": f"call_{completion_id}_{index}",
                        "type": "function",
                        "function": {"name": tool, "arguments": ""},
                    }
                ],
            }
            yield chunk([{"index": index, "delta": first, "finish_reason": None}])
            for piece in pieces:
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                yield chunk([{"index": index, "delta": delta, "finish_reason": None}])
        else:
            yield chunk(
                [{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
            )
            for piece in pieces:
                yield chunk([{"index": index, "delta": {"content": piece}, "finish_reason": None}])
        reason = "tool_calls" if tool and finish == "stop" else finish
        last = index == len(texts) - 1 and not include_usage
        extra = {"usage": usage} if last else {}
        yield chunk([{"index": index, "delta": {}, "finish_reason": reason}], **extra)
    if include_usage:
        yield chunk([], usage=usage)
    yield "data: [DONE]\n\n"


def completion_response(
    number: int, model: str, texts: list[str], finish: str, tool: str | None, usage: dict[str, int]
) -> JSONResponse:
    """One choice per text; with ``tool``, each text is the arguments of a call to it."""
    choices = []
    for index, text in enumerate(texts):
        if tool:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{number}_{index}",
                        "type": "function",
                        "function": {"name": tool, "arguments": text},
                    }
                ],
            }
            reason = "tool_calls" if finish == "stop" else finish
        else:
            message, reason = {"role": "assistant", "content": text}, finish
        choices.append({"index": index, "message": message, "finish_reason": reason, "logprobs": None})
    return JSONResponse(
        {
            "id": completion_id(number),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": usage,
        }
    )


def stream_response(
    number: int,
    model: str,
    texts: list[str],
    finish: str,
    tool: str | None,
    usage: dict[str, int],
    include_usage: bool,
) -> StreamingResponse:
    """The completion of :func:`completion_response` as server-sent events, 64 characters a chunk."""
    events = _stream_events(completion_id(number), model, texts, finish, tool, usage, include_usage)
    return StreamingResponse(events, media_type="text/event-stream")
