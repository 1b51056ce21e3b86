"""The OpenAI chat-completions wire format the fake server (evals/fake_openai_server.py) answers in:
error bodies, a completion (the JSON as message content, or as a tool call when the request forces a tool)
and the same completion as server-sent events. With ``stream_options.include_usage`` the usage comes in a
last chunk of its own, as OpenAI sends it; otherwise it rides on the chunk that carries ``finish_reason``, as
vLLM and llama.cpp can do."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, StreamingResponse


@dataclass(frozen=True)
class Completion:
    """What the server answers one request with: a text per choice (with ``tool``, each the arguments of a
    call to it), why they ended, and the usage."""

    number: int
    """The request's number (in arrival order): the completion's id."""
    model: str
    texts: list[str]
    finish: str
    tool: str | None
    usage: dict[str, int]

    @property
    def id(self) -> str:
        return f"chatcmpl-fake-{self.number}"


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


async def _stream_events(completion: Completion, include_usage: bool) -> AsyncIterator[str]:
    completion_id, model, texts = completion.id, completion.model, completion.texts
    finish, tool, usage = completion.finish, completion.tool, completion.usage
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


def completion_response(completion: Completion) -> JSONResponse:
    """One choice per text."""
    tool, finish = completion.tool, completion.finish
    choices = []
    for index, text in enumerate(completion.texts):
        if tool:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{completion.number}_{index}",
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
            "id": completion.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": completion.model,
            "choices": choices,
            "usage": completion.usage,
        }
    )


def stream_response(completion: Completion, include_usage: bool) -> StreamingResponse:
    """The completion as server-sent events, 64 characters a chunk."""
    return StreamingResponse(_stream_events(completion, include_usage), media_type="text/event-stream")
