"""One chat request, through LangChain's callback layers only when something listens to them.

``BaseChatModel.ainvoke`` builds a callback manager, the invocation parameters, a run manager and a task per
prompt for every call, and it does so when no handler is attached too: with tracing off that is CPU spent
for nobody, at every call (see ``python -m autodata.evals.benchmark --profile``). When nothing would observe
the call (no tracer, no callback inherited from the graph or set on the model, no debug or verbose output,
no LangChain cache, rate limiter or streaming), the request goes straight to the model's ``_agenerate``, and
its reply gets the response metadata ``ainvoke`` would have merged into it (for ``ChatOpenAI``, the steps
of its ``_agenerate`` run on the event loop's thread). Otherwise it goes through
``ainvoke``/``agenerate`` with the run name, tags and metadata, so traces carry them as before.
"""

from __future__ import annotations

import sys
from typing import Any

import openai
from langchain_core.callbacks import AsyncCallbackManager
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables.config import var_child_runnable_config

try:  # how ainvoke merges a generation's info into its message; private, so looked up defensively
    from langchain_core.language_models.chat_models import _gen_info_and_msg_metadata
except ImportError:  # pragma: no cover - depends on the installed langchain-core
    _gen_info_and_msg_metadata = None


def unobserved(chat: Any, config: dict[str, Any]) -> bool:
    """True when no callback, tracer, cache, limiter or stream would see a call of ``chat`` made with
    ``config`` from here (the graph's callbacks reach the call through the runnable context)."""
    if not isinstance(chat, BaseChatModel) or _gen_info_and_msg_metadata is None:
        return False
    if chat.cache is not False and (chat.cache is not None or _global_llm_cache() is not None):
        return False
    if chat.rate_limiter is not None or getattr(chat, "streaming", False) is True:
        return False
    if getattr(chat, "output_version", None) == "v1":
        return False  # ainvoke rebuilds v1 content blocks after _agenerate
    # the callbacks ainvoke would inherit: the graph node's this call runs in (the runnable context), or
    # the config's own; tags and metadata decide no handler, so they are left out
    parent = var_child_runnable_config.get() or {}
    inherited = config.get("callbacks") or parent.get("callbacks")
    manager = AsyncCallbackManager.configure(inherited, chat.callbacks, chat.verbose)
    return not manager.handlers and not manager.inheritable_handlers


def _global_llm_cache() -> Any:
    from langchain_core.globals import get_llm_cache

    return get_llm_cache()


def _merged(result: ChatResult) -> ChatResult:
    """The response metadata ``_agenerate_with_cache`` gives each generation's message."""
    for generation in result.generations:
        generation.message.response_metadata = _gen_info_and_msg_metadata(generation)
    if len(result.generations) == 1 and result.llm_output is not None:
        message = result.generations[0].message
        message.response_metadata = {**result.llm_output, **message.response_metadata}
    return result


def _openai_parts() -> tuple[type, Any, Any] | None:
    """``BaseChatOpenAI`` and its two error translators, when langchain-openai is loaded (it is, once a
    ``ChatOpenAI`` exists) and still has them."""
    base = sys.modules.get("langchain_openai.chat_models.base")
    parts = tuple(
        getattr(base, name, None)
        for name in ("BaseChatOpenAI", "_handle_openai_bad_request", "_handle_openai_api_error")
    )
    return parts if all(p is not None for p in parts) else None  # type: ignore[return-value]


async def _agenerate(chat: Any, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ChatResult:
    """``chat._agenerate``. For ChatOpenAI's plain chat-completions path the same steps run here instead:
    its ``_agenerate`` builds the result in a thread-pool task, a thread hop per call (and a GIL hand-off)
    for work that takes less time than the hop."""
    parts = _openai_parts()
    if parts is None or not isinstance(chat, parts[0]) or type(chat)._agenerate is not parts[0]._agenerate:
        return await chat._agenerate(messages, **kwargs)
    payload = chat._get_request_payload(messages, stop=None, **kwargs)
    if "response_format" in payload or chat._use_responses_api(payload) or chat.include_response_headers:
        return await chat._agenerate(messages, **kwargs)  # parsed, Responses API or headers: its own path
    _, bad_request, api_error = parts
    try:
        response = await chat.async_client.create(**payload)
    except openai.BadRequestError as exc:
        bad_request(exc)  # raises LangChain's error for a context overflow and the like
        raise
    except openai.APIError as exc:
        api_error(exc)
        raise
    return chat._create_chat_result(response, {})


async def generate(
    chat: Any, messages: list[BaseMessage], config: dict[str, Any], kwargs: dict[str, Any]
) -> ChatResult:
    """All the generations of one request (``n`` > 1 asks for several) and its ``llm_output``."""
    if unobserved(chat, config):
        return _merged(await _agenerate(chat, messages, kwargs))
    result = await chat.agenerate(
        [messages],
        tags=config.get("tags"),
        metadata=config.get("metadata"),
        run_name=config.get("run_name"),
        **kwargs,
    )
    return ChatResult(generations=result.generations[0], llm_output=result.llm_output)


async def invoke(
    chat: Any, messages: list[BaseMessage], config: dict[str, Any], kwargs: dict[str, Any]
) -> AIMessage:
    """The reply message of one request, as ``chat.bind(**kwargs).ainvoke(messages, config=config)``."""
    if unobserved(chat, config):
        result = _merged(await _agenerate(chat, messages, kwargs))
        return result.generations[0].message  # type: ignore[return-value]
    return await chat.bind(**kwargs).ainvoke(messages, config=config)


class ChatRequest:
    """Runnable-like: ``chat`` with request ``kwargs``, invoked through :func:`invoke`."""

    def __init__(self, chat: Any, kwargs: dict[str, Any]):
        self.chat, self.kwargs = chat, kwargs

    async def ainvoke(self, messages: list[BaseMessage], config: dict | None = None) -> AIMessage:
        return await invoke(self.chat, messages, config or {}, self.kwargs)
