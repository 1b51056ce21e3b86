"""Scripted fake chat models keyed by role, and a registry that hands them to the graph."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from autodata.core.config import RoleModel, load_models_config
from autodata.core.records import AcceptedRecord, Source
from autodata.llm.models import OpenAIModelRegistry, RegistryServices

Reply = str | dict | Exception | Callable[[list[BaseMessage]], Any]


class ScriptedChatModel(BaseChatModel):
    """Replies from a script, in order; the last entry repeats. Records every prompt it was sent.

    An entry may be a string, a dict (sent as JSON), an exception (raised), or a function of the messages.
    """

    script: list[Any]
    name_: str = "fake"
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    position: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self, messages: list[BaseMessage]) -> tuple[str, dict]:
        """The reply text and its response metadata (an AIMessage entry carries e.g. a finish_reason)."""
        self.seen.append(list(messages))
        entry = self.script[min(self.position, len(self.script) - 1)]
        self.position += 1
        if callable(entry) and not isinstance(entry, Exception):
            entry = entry(messages)
        if isinstance(entry, Exception):
            raise entry
        if isinstance(entry, AIMessage):
            return str(entry.content), dict(entry.response_metadata)
        return (json.dumps(entry) if isinstance(entry, dict) else str(entry)), {}

    def _generate(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any
    ) -> ChatResult:
        text, metadata = self._next(messages)
        prompt_chars = sum(len(str(m.content)) for m in messages)
        message = AIMessage(
            content=text,
            response_metadata=metadata,
            usage_metadata={
                "input_tokens": prompt_chars // 4,
                "output_tokens": max(1, len(text) // 4),
                "total_tokens": prompt_chars // 4 + max(1, len(text) // 4),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def server_error() -> openai.InternalServerError:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    return openai.InternalServerError(
        "upstream overloaded", response=httpx.Response(503, request=request), body=None
    )


class FakeRegistry(RegistryServices):
    def __init__(self, scripts: dict[str, list[Any]], structured_output: str = "json_mode"):
        super().__init__(retry_backoff=0.0)
        self.models = {
            role: ScriptedChatModel(script=list(script), seen=[]) for role, script in scripts.items()
        }
        self._settings = {
            role: RoleModel(
                model=f"fake-{role}", api_key_env=None, structured_output=structured_output, max_retries=2
            )
            for role in scripts
        }

    def chat(self, role: str) -> BaseChatModel:
        if role not in self.models:
            raise AssertionError(f"role {role} was called but has no script")
        return self.models[role]

    def settings(self, role: str) -> RoleModel:
        return self._settings.get(role) or RoleModel(model=f"fake-{role}", api_key_env=None)

    def describe(self) -> dict[str, str]:
        return {role: s.model for role, s in self._settings.items()}

    def prompts(self, role: str) -> list[str]:
        """Every prompt the role was sent, as one string each."""
        return ["\n".join(str(m.content) for m in msgs) for msgs in self.models[role].seen]


RUBRIC = [  # an accepted record's rubric (record below)
    {"id": 1, "description": "Names key B as the evicted key", "points": 3},
    {"id": 2, "description": "Claims A is evicted", "points": -2},
]


def record(i: int, mode: str = "rubric", path: str | None = None, **over) -> dict:
    """Accepted record number ``i`` as it stands in accepted.jsonl."""
    data = AcceptedRecord(
        id=f"doc-{i:04d}",
        source=Source(path=path or f"docs/doc{i}.md", span=[0, 100]),
        mode=mode,
        preset=mode,
        question=f"Question {i}?",
        context=f"Context {i}: an LRU cache of size two.",
        answer="12" if mode == "verifiable" else "Key B is evicted because A was used more recently.",
        rubric=RUBRIC if mode == "rubric" else [],
        question_type="procedural simulation",
        skills=["state tracking", "rule application"],
        weak_scores=[0.0, 0.5],
        strong_scores=[1.0, 1.0],
        weak_mean=0.25,
        strong_mean=1.0,
        gap=0.75,
        rounds=2,
        variant="default",
        models={"judge": "fake-judge", "weak_solver": "fake-weak"},
    ).model_dump(mode="json")
    data.update(over)
    return data


FAKE_MODELS = Path(__file__).resolve().parent / "fake_models.toml"


def fake_registry(base_url: str, **settings) -> OpenAIModelRegistry:
    """A real OpenAI-compatible registry for every role, pointed at a fake server at ``base_url``."""
    overrides = [f"all.base_url={base_url}", *(f"all.{k}={v}" for k, v in settings.items())]
    config = load_models_config(config_path=FAKE_MODELS, overrides=overrides)
    return OpenAIModelRegistry(config, retry_backoff=0.01)
