"""Model factory: one chat model per role, built lazily (never at import time).

Graph nodes get their :class:`ModelRegistry` from the runtime context, so tests can hand in scripted fake
models keyed by role while real runs build ``ChatOpenAI`` objects against OpenAI-compatible endpoints.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx
from langchain_core.language_models import BaseChatModel

from autodata.core.config import (
    INHERITED_ROLES,
    ROLES,
    ConfigError,
    ModelsConfig,
    RoleModel,
    load_models_config,
)
from autodata.llm.cache import ResponseCache
from autodata.llm.http_clients import aiohttp_client, running_loop
from autodata.llm.limits import EndpointLimiter

if TYPE_CHECKING:
    from autodata.llm.accounting import Budget

EMBEDDED_CPU = "embedded models (one CPU)"
"""The limiter key every embedded model's role shares."""


@runtime_checkable
class ModelRegistry(Protocol):
    """What every LLM call reads from the runtime context's registry (``autodata.llm.calls``)."""

    retry_backoff: float
    cache: ResponseCache | None
    """Replies already paid for (resume, re-runs); None: no cache."""
    budget: Budget | None
    """Checked before every request; None: nothing counted."""

    def chat(self, role: str) -> BaseChatModel: ...

    def settings(self, role: str) -> RoleModel: ...

    def describe(self) -> dict[str, str]: ...

    def limiter(self, role: str) -> EndpointLimiter | None: ...

    async def check_endpoint(self, role: str) -> None: ...


class RegistryServices:
    """The services a registry declares beside its models: response cache, budget, retry backoff; no
    endpoint limits and nothing to check after a failed call unless a subclass says otherwise."""

    def __init__(
        self, retry_backoff: float = 1.0, cache: ResponseCache | None = None, budget: Budget | None = None
    ):
        self.retry_backoff = retry_backoff
        self.cache = cache
        self.budget = budget

    def limiter(self, role: str) -> EndpointLimiter | None:
        return None

    async def check_endpoint(self, role: str) -> None:
        return None


class EndpointUnavailable(ConfigError):
    """An endpoint did not answer the pre-flight check."""


class OpenAIModelRegistry(RegistryServices):
    """``ChatOpenAI`` per role from a :class:`ModelsConfig`; embedded models start their server on demand."""

    def __init__(
        self,
        config: ModelsConfig,
        retry_backoff: float = 1.0,
        cache: ResponseCache | None = None,
        budget: Budget | None = None,
    ):
        super().__init__(retry_backoff, cache, budget)
        self.config = config
        self._limiters: dict[str, EndpointLimiter] = {}
        self._models: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, BaseChatModel]] = (
            weakref.WeakKeyDictionary()
        )
        self._models_outside_loop: dict[str, BaseChatModel] = {}
        self._lock = threading.Lock()
        self._sync_http: httpx.Client | None = None

    def settings(self, role: str) -> RoleModel:
        return self.config.role(role)

    def base_url(self, role: str) -> str | None:
        settings = self.settings(role)
        if settings.local:
            from autodata.local.pool import get_local_pool

            return get_local_pool().base_url(settings.local)
        return settings.base_url

    async def check_endpoint(self, role: str) -> None:
        """After a failed call: an embedded model's server that died is restarted first (this waits for
        it); one that keeps crashing raises ``LocalServerCrashed``, which stops the run."""
        local = self.settings(role).local
        if local:
            from autodata.local.pool import get_local_pool
            from autodata.local.server import LocalServerCrashed, LocalServerError

            try:
                await get_local_pool().abase_url(local)
            except LocalServerCrashed:
                raise
            except LocalServerError:  # one failed restart: the call's own retries report what fails
                pass

    def chat(self, role: str) -> BaseChatModel:
        """The role's ``ChatOpenAI``, one per role and running event loop (connection pools belong to a
        loop: see :mod:`autodata.llm.http_clients`)."""
        loop = running_loop()
        with self._lock:
            for closed in [other for other in self._models if other.is_closed()]:
                del self._models[closed]  # its clients refer to it, so it would never be collected
            models = self._models_outside_loop if loop is None else self._models.setdefault(loop, {})
            if role not in models:
                models[role] = self._build_chat(role)
            return models[role]

    def _build_chat(self, role: str) -> BaseChatModel:
        from langchain_openai import ChatOpenAI

        settings = self.settings(role)
        base_url = self.base_url(role)
        kwargs: dict[str, Any] = {}
        if not settings.max_tokens_in_extra_body:
            kwargs["max_tokens"] = settings.max_tokens
        if settings.http_client == "aiohttp":
            client = aiohttp_client(base_url)
            if client is not None:
                kwargs["http_async_client"] = client
        if self._sync_http is None:
            # every ChatOpenAI also builds a synchronous SDK client, which autodata never calls; by default
            # each gets its own HTTP pool and TLS context (about 30 ms of CPU per role)
            self._sync_http = httpx.Client()
        kwargs["http_client"] = self._sync_http
        return ChatOpenAI(
            model=settings.model,
            base_url=base_url,
            api_key=settings.api_key(),
            temperature=settings.temperature,
            timeout=settings.timeout,
            max_retries=0,  # retries are ours (autodata.llm.calls), so capability errors are not repeated
            **kwargs,
        )

    def describe(self) -> dict[str, str]:
        return {role: self.settings(role).model for role in ROLES}

    def limiter(self, role: str) -> EndpointLimiter | None:
        """The limiter of the role's endpoint (one per base URL), or None when it has no limits. Embedded
        models share one, the CPU: two llama.cpp servers computing at once spin against each other."""
        settings = self.settings(role)
        limited = settings.max_parallel or settings.requests_per_minute or settings.tokens_per_minute
        if not (settings.local or limited):
            return None
        endpoint = EMBEDDED_CPU if settings.local else settings.base_url or "openai"
        with self._lock:
            if endpoint not in self._limiters:  # built once: every LLM call asks for its limiter
                max_parallel = settings.max_parallel
                if settings.local and not max_parallel:
                    from autodata.local.runtime import cpu_slots

                    max_parallel = cpu_slots()
                self._limiters[endpoint] = EndpointLimiter(
                    max_parallel, settings.requests_per_minute, settings.tokens_per_minute
                )
            return self._limiters[endpoint]

    def preflight(self, timeout: float = 10.0) -> None:
        """Fail fast, before any work: keys present, every endpoint answers ``GET /models``."""
        checked: set[tuple[str | None, str]] = set()
        for role in ROLES:
            settings = self.settings(role)
            key = settings.api_key()  # raises ConfigError with the variable's name
            base = self.base_url(role) or "https://api.openai.com/v1"
            if (base, key) in checked:
                continue
            checked.add((base, key))
            url = base.rstrip("/") + "/models"
            try:
                response = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)
            except httpx.HTTPError as exc:
                raise EndpointUnavailable(
                    f"endpoint for role {role} ({settings.model}) is unreachable at {base}: {exc}"
                ) from exc
            if response.status_code in (401, 403):
                raise EndpointUnavailable(
                    f"endpoint {base} rejected the API key from {settings.api_key_env} "
                    f"(HTTP {response.status_code})"
                )
            if response.status_code >= 500:
                raise EndpointUnavailable(
                    f"endpoint {base} answered HTTP {response.status_code} to GET /models"
                )


def registry_of(ctx: Any) -> ModelRegistry:
    """The model registry a graph's context names (every context: the inner graph's, the meta-optimiser's
    inner one, the taxonomy's): the one injected into ``ctx.models`` (tests, the CLI), else one built from
    its ``profile``, ``config_path`` and ``overrides`` and kept on the context for the next call."""
    if ctx.models is None:
        overrides = list(getattr(ctx, "overrides", ()) or ())
        ctx.models = OpenAIModelRegistry(load_models_config(ctx.profile, ctx.config_path, overrides))
    return ctx.models


class MetaRegistry:
    """A model registry that also serves the meta-optimiser's ``analyzer``/``editor``: their own models when
    configured, otherwise the role they inherit (``INHERITED_ROLES``: the orchestrator's)."""

    def __init__(self, inner: Any):
        self.inner = inner

    def _role(self, role: str) -> str:
        if role not in INHERITED_ROLES:
            return role
        try:
            self.inner.settings(role)
        except ConfigError:  # only "no such role": a broken configuration of the role must surface
            return INHERITED_ROLES[role]
        return role

    def chat(self, role: str):
        return self.inner.chat(self._role(role))

    def settings(self, role: str):
        return self.inner.settings(self._role(role))

    def limiter(self, role: str):
        return self.inner.limiter(self._role(role))

    async def check_endpoint(self, role: str) -> None:
        await self.inner.check_endpoint(self._role(role))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
