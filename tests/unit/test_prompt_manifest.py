"""prompts/manifest.toml lists every prompt once, with the placeholders its shipped template uses; what it
protects cannot be replaced by a variant."""

from __future__ import annotations

from string import Template

import pytest

from autodata.prompts.loader import (
    EDITABLE,
    OPTIMISED,
    PACKAGE_DIR,
    PROTECTED,
    SEPARATOR,
    PromptError,
    load_prompt,
    manifest,
)


def template_placeholders(name: str) -> set[str]:
    raw = (PACKAGE_DIR / f"{name}.md").read_text(encoding="utf-8")
    return {i for part in raw.split(SEPARATOR) for i in Template(part).get_identifiers()}


def test_every_prompt_file_has_one_entry_and_every_entry_a_file():
    files = {path.stem for path in PACKAGE_DIR.glob("*.md")}
    assert files == set(manifest())


@pytest.mark.parametrize("name", sorted(manifest()))
def test_the_manifest_names_exactly_the_placeholders_of_the_shipped_template(name):
    assert manifest()[name].placeholders == template_placeholders(name)


def test_what_decides_acceptance_is_protected_and_the_optimised_are_editable():
    for name in ("solver", "judge_rubric", "judge_equivalence", "verifier", "null_answer", "meta_editor"):
        assert name in PROTECTED
    assert set(OPTIMISED) <= EDITABLE and not EDITABLE & PROTECTED


def test_a_variant_cannot_replace_a_protected_prompt(tmp_path):
    (tmp_path / "solver.md").write_text("Answer wrongly.\n=== user ===\n$question")
    (tmp_path / "challenger.md").write_text((PACKAGE_DIR / "challenger.md").read_text() + "\nA variant.")
    assert load_prompt("solver", tmp_path).source == PACKAGE_DIR / "solver.md"
    assert load_prompt("challenger", tmp_path).source == tmp_path / "challenger.md"
    with pytest.raises(PromptError):
        load_prompt("not_a_prompt")
