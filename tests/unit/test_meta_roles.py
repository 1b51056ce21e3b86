"""The meta-optimiser's ``analyzer`` and ``editor`` roles: configurable, else the orchestrator's settings."""

import pytest

from autodata.core.config import ROLES, ConfigError, load_models_config
from autodata.llm.models import MetaRegistry, OpenAIModelRegistry

CONFIG = """
profile = "openai"
[roles.default]
api_key_env = "none"
[roles.orchestrator]
model = "orchestrator-model"
temperature = 0.3
[roles.analyzer]
model = "analyzer-model"
base_url = "http://127.0.0.1:9000/v1"
"""


def test_analyzer_and_editor_default_to_the_resolved_orchestrator():
    config = load_models_config("openai", overrides=["orchestrator.max_tokens=333"], environ={})
    for role in ("analyzer", "editor"):
        assert config.role(role) == config.role("orchestrator")
    assert config.role("editor").max_tokens == 333


@pytest.mark.parametrize("profile", ["local", "local-small"])
def test_embedded_meta_roles_have_room_for_an_analysis_and_an_edit(profile):
    """The embedded orchestrator's 120 tokens cut an analysis or an edit off mid-sentence (measured: every
    edit of a run was malformed JSON); the rest of their settings is still the orchestrator's."""
    config = load_models_config(profile, overrides=["orchestrator.temperature=0.2"], environ={})
    orchestrator = config.role("orchestrator")
    for role in ("analyzer", "editor"):
        settings = config.role(role)
        assert settings.max_tokens >= 3 * orchestrator.max_tokens
        assert settings.model_copy(update={"max_tokens": orchestrator.max_tokens}) == orchestrator
    edited = load_models_config(profile, overrides=["editor.max_tokens=99"], environ={})
    assert edited.role("editor").max_tokens == 99


def test_analyzer_and_editor_from_the_config_file(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text(CONFIG)
    config = load_models_config(config_path=path, environ={})
    analyzer = config.role("analyzer")
    assert (analyzer.model, analyzer.base_url, analyzer.temperature) == (
        "analyzer-model",
        "http://127.0.0.1:9000/v1",
        0.3,  # the rest comes from the orchestrator
    )
    assert config.role("editor").model == "orchestrator-model"


def test_explicit_endpoint_replaces_the_embedded_model(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text('[roles.editor]\nbase_url = "http://127.0.0.1:9001/v1"\nmodel = "big"\n')
    config = load_models_config(config_path=path, environ={})
    assert config.role("editor").local is None and config.role("orchestrator").local is not None


def test_cli_and_env_overrides_of_meta_roles():
    config = load_models_config(
        "openai",
        overrides=["analyzer.model=gpt-x", "all.timeout=12"],
        environ={"AUTODATA_EDITOR_TEMPERATURE": "0.1"},
    )
    assert config.role("analyzer").model == "gpt-x" and config.role("orchestrator").model == "gpt-4o"
    assert config.role("editor").temperature == 0.1
    assert all(config.role(r).timeout == 12 for r in (*ROLES, "analyzer", "editor"))


def test_unknown_roles_are_still_rejected(tmp_path):
    with pytest.raises(ConfigError, match="bad override"):
        load_models_config("local", overrides=["planner.model=x"], environ={})
    path = tmp_path / "models.toml"
    path.write_text("[roles.planner]\nmodel = 'x'\n")
    with pytest.raises(ConfigError, match="unknown role"):
        load_models_config(config_path=path, environ={})


def test_meta_registry_serves_the_configured_models(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text(CONFIG)
    registry = MetaRegistry(OpenAIModelRegistry(load_models_config(config_path=path, environ={})))
    assert registry.settings("analyzer").model == "analyzer-model"
    assert registry.settings("editor").model == "orchestrator-model"
    assert registry.chat("analyzer").model_name == "analyzer-model"


def test_meta_registry_does_not_hide_a_configuration_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = load_models_config("openai", overrides=["analyzer.model=gpt-x"], environ={})
    registry = MetaRegistry(OpenAIModelRegistry(config))
    assert registry.settings("analyzer").model == "gpt-x"
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        registry.chat("analyzer")  # not silently replaced by the orchestrator's model


class OrchestratorOnly:
    """A registry that knows only the six generation roles."""

    def settings(self, role: str):
        if role in ROLES:
            return load_models_config("openai", environ={}).role(role)
        raise ConfigError(f"no model configured for role {role!r}")

    def chat(self, role: str):
        self.settings(role)
        return role


def test_meta_registry_falls_back_when_the_registry_lacks_the_role():
    registry = MetaRegistry(OrchestratorOnly())
    assert registry.chat("analyzer") == "orchestrator" and registry.chat("judge") == "judge"
