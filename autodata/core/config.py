"""Per-role model configuration: built-in profiles, a TOML config file, env-var and CLI overrides.

A profile maps every role to one OpenAI-compatible endpoint. Resolution order (later wins):
built-in profile -> config file (``[roles.default]`` then ``[roles.<role>]``) -> ``AUTODATA_<ROLE>_<FIELD>``
env vars -> ``--set role.field=value`` CLI overrides.

The meta-optimiser's roles (``analyzer``, ``editor``) start from the resolved settings of the role they
inherit from (the orchestrator), then take their own ``[roles.<role>]`` section, env vars and overrides.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ROLES = ("challenger", "verifier", "weak_solver", "strong_solver", "judge", "orchestrator")
Role = Literal["challenger", "verifier", "weak_solver", "strong_solver", "judge", "orchestrator"]
INHERITED_ROLES = {"analyzer": "orchestrator", "editor": "orchestrator"}
"""Roles of the meta-optimiser and the generation role whose resolved settings they default to."""
CONFIG_ROLES = (*ROLES, *INHERITED_ROLES)

StructuredMethod = Literal["json_schema", "function_calling", "json_object_schema", "json_mode"]
"""How an endpoint is asked for structured output.

- ``json_schema``: OpenAI/vLLM ``response_format={"type": "json_schema", ...}`` (strict decoding).
- ``function_calling``: a forced tool call whose arguments are the object.
- ``json_object_schema``: llama.cpp's ``{"type": "json_object", "schema": ...}`` (grammar-constrained).
- ``json_mode``: plain ``{"type": "json_object"}``; the schema is only described in the prompt.
"""


class ConfigError(ValueError):
    """A configuration problem the user must fix; the message says how."""


class RoleModel(BaseModel):
    """One role's endpoint and sampling settings."""

    model_config = ConfigDict(extra="forbid")

    model: str
    base_url: str | None = None
    """OpenAI-compatible base URL (``.../v1``); None means the OpenAI default."""
    local: str | None = None
    """Name of an embedded model; the base URL is filled in when its local server starts."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """Env var holding the API key; None for endpoints without authentication."""
    temperature: float = 0.7
    max_tokens: int = 1024
    max_tokens_in_extra_body: bool = False
    """Send ``max_tokens`` in the request body as is (llama.cpp ignores ``max_completion_tokens``)."""
    structured_output: StructuredMethod = "json_schema"
    supports_n: bool = False
    """Whether the endpoint honours ``n`` > 1 (several samples in one request)."""
    timeout: float = 300.0
    """Seconds per request; CPU servers serialise requests, so keep this generous."""
    max_retries: int = 3
    """Retries of transient failures (connection errors, timeouts, 429, 5xx) per call."""
    max_parallel: int | None = None
    """Requests in flight at once on this role's endpoint (shared by roles on the same endpoint)."""
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    price_per_million_input: float = 0.0
    price_per_million_output: float = 0.0
    http_client: Literal["aiohttp", "httpx"] = "aiohttp"
    """Transport of the OpenAI SDK: ``aiohttp`` (less CPU per request under high concurrency) or the SDK's
    default ``httpx`` client."""

    def api_key(self) -> str:
        if self.local:
            return "local"
        if self.api_key_env is None or self.api_key_env.lower() == "none":
            return "none"
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ConfigError(
                f"environment variable {self.api_key_env} is not set (needed for model {self.model!r}"
                f" at {self.base_url or 'the OpenAI API'}); export it, or set api_key_env in the config"
            )
        return key


def _local_role(local: str, *, temperature: float, max_tokens: int) -> dict[str, Any]:
    return {
        "model": local,
        "local": local,
        "api_key_env": None,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "max_tokens_in_extra_body": True,
        "structured_output": "json_object_schema",
        "supports_n": False,
        "timeout": 600.0,
    }


QWEN_1_5B = "qwen2.5-1.5b"
QWEN = "qwen2.5-0.5b"
SMOLLM = "smollm2-135m"

SOLVER_TEMPERATURE = 0.3
"""Both embedded solvers' (the gap then measures the models, not the sampler): at 0.7 the 1.5B gave the roots
of r^2 - 5r + 6 as "1 and 6" in 2 of 4 samples, at 0.3 in none (docs/RESULTS.md)."""


def _embedded_profile(main: str) -> dict[str, dict[str, Any]]:
    """Every role on the embedded model ``main`` but the weak solver (SmolLM2-135M); token limits fit each
    role's reply on a CPU."""
    return {
        "challenger": _local_role(main, temperature=0.4, max_tokens=700),
        "verifier": _local_role(main, temperature=0.0, max_tokens=80),
        "weak_solver": _local_role(SMOLLM, temperature=SOLVER_TEMPERATURE, max_tokens=384),
        "strong_solver": _local_role(main, temperature=SOLVER_TEMPERATURE, max_tokens=512),
        "judge": _local_role(main, temperature=0.0, max_tokens=160),
        "orchestrator": _local_role(main, temperature=0.3, max_tokens=120),
        # the meta-optimiser's roles take the orchestrator's settings but these: an analysis of about 250
        # words, and an edit (a part of a prompt file rewritten, as JSON) of about as many
        "analyzer": {"max_tokens": 400},
        "editor": {"max_tokens": 600},
    }


PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    # Embedded default (measured, docs/RESULTS.md): Qwen2.5-Coder-1.5B writes, screens, judges and solves as
    # the strong model; SmolLM2-135M is the weak solver.
    "local": _embedded_profile(QWEN_1_5B),
    # For machines short of RAM (about 0.9 GB instead of 1.6 GB): Qwen2.5-Coder-0.5B in the 1.5B's roles.
    "local-small": _embedded_profile(QWEN),
    "openai": {
        role: {
            "model": "gpt-4o-mini" if role == "weak_solver" else "gpt-4o",
            "temperature": 0.0 if role in ("verifier", "judge") else 0.7,
            "structured_output": "json_schema",
            "supports_n": True,
            "price_per_million_input": 0.15 if role == "weak_solver" else 2.5,
            "price_per_million_output": 0.6 if role == "weak_solver" else 10.0,
        }
        for role in ROLES
    },
}

_ENV_FIELDS = {
    "MODEL": "model",
    "BASE_URL": "base_url",
    "API_KEY_ENV": "api_key_env",
    "TEMPERATURE": "temperature",
    "MAX_TOKENS": "max_tokens",
    "STRUCTURED_OUTPUT": "structured_output",
    "SUPPORTS_N": "supports_n",
    "TIMEOUT": "timeout",
}


class ModelsConfig(BaseModel):
    """The resolved model of every role."""

    model_config = ConfigDict(extra="forbid")

    profile: str = "local"
    roles: dict[str, RoleModel] = Field(default_factory=dict)

    def role(self, role: str) -> RoleModel:
        try:
            return self.roles[role]
        except KeyError:
            raise ConfigError(f"no model configured for role {role!r}") from None

    def local_models(self) -> set[str]:
        return {m.local for m in self.roles.values() if m.local}


def _parse_scalar(raw: str) -> Any:
    low = raw.strip().lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    if low in ("none", "null", ""):
        return None
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def _cli_overrides(overrides: list[str]) -> dict[str, dict[str, Any]]:
    """``role.field=value`` items by role (``all`` is every role)."""
    cli: dict[str, dict[str, Any]] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        role, dot, field = key.partition(".")
        if not sep or not dot or (role not in CONFIG_ROLES and role != "all"):
            raise ConfigError(
                f"bad override {item!r}; expected role.field=value with role in {list(CONFIG_ROLES)} or all"
            )
        for target in CONFIG_ROLES if role == "all" else (role,):
            cli.setdefault(target, {})[field] = _parse_scalar(value)
    return cli


def _env_prefix(role: str) -> str:
    return f"AUTODATA_{role.upper()}_"


def endpoint_env(base_url: str, model_prefix: str, **settings: str) -> dict[str, str]:
    """The ``AUTODATA_<ROLE>_*`` variables that point every role at one OpenAI-compatible endpoint (model
    ``<model_prefix><role>``, no API key, JSON-object structured output), with further ``settings`` by
    variable suffix (``TIMEOUT="30"``): how the fake server's users configure the models."""
    fields = {"API_KEY_ENV": "none", "STRUCTURED_OUTPUT": "json_object_schema", **settings}
    return {
        _env_prefix(role) + suffix: value
        for role in ROLES
        for suffix, value in {"BASE_URL": base_url, "MODEL": model_prefix + role, **fields}.items()
    }


def _env_layer(env: Mapping[str, str], role: str) -> dict[str, Any]:
    prefix = _env_prefix(role)
    return {
        field: env[prefix + suffix] if field == "model" else _parse_scalar(env[prefix + suffix])
        for suffix, field in _ENV_FIELDS.items()
        if prefix + suffix in env
    }


def _layers(data: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """``data`` updated by each layer in turn; a layer's own endpoint replaces the embedded model."""
    for layer in layers:
        if "base_url" in layer and "local" not in layer:
            data.pop("local", None)
        data.update(layer)
    return data


def load_models_config(
    profile: str = "local",
    config_path: str | Path | None = None,
    overrides: list[str] | None = None,
    environ: dict[str, str] | None = None,
) -> ModelsConfig:
    """Resolve every role's model from profile, file, environment and ``role.field=value`` overrides."""
    env = os.environ if environ is None else environ
    file_data: dict[str, Any] = {}
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            file_data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        profile = file_data.get("profile", profile)

    if profile not in PROFILES and not file_data.get("roles"):
        raise ConfigError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)} or give --config")

    file_roles = file_data.get("roles", {})
    unknown = set(file_roles) - set(CONFIG_ROLES) - {"default"}
    if unknown:
        raise ConfigError(f"unknown role(s) in config: {sorted(unknown)}; roles are {list(CONFIG_ROLES)}")
    cli = _cli_overrides(overrides or [])

    resolved: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        file_layer = {**file_roles.get("default", {}), **file_roles.get(role, {})}
        base = dict(PROFILES.get(profile, {}).get(role, {}))
        resolved[role] = _layers(base, file_layer, _env_layer(env, role), cli.get(role, {}))
    for role, parent in INHERITED_ROLES.items():
        # the parent's resolved settings already have [roles.default]: only the role's own on top
        base = {**resolved[parent], **PROFILES.get(profile, {}).get(role, {})}
        resolved[role] = _layers(base, file_roles.get(role, {}), _env_layer(env, role), cli.get(role, {}))

    roles: dict[str, RoleModel] = {}
    for role, data in resolved.items():
        try:
            roles[role] = RoleModel(**data)
        except ValidationError as exc:
            raise ConfigError(f"invalid model config for role {role!r}: {exc}") from exc
    return ModelsConfig(profile=profile, roles=roles)


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """The ``--profile`` / ``--config`` / ``--set`` options every model-using command shares."""
    parser.add_argument(
        "--profile", default="local", help="model profile: local (embedded, default) or openai"
    )
    parser.add_argument("--config", default=None, help="TOML file with per-role models (see README)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="ROLE.FIELD=VALUE",
        help="override one model setting, e.g. --set judge.model=gpt-4o (repeatable)",
    )
