"""Load prompt templates from files. ``$name`` placeholders (string.Template), so JSON braces are safe.

A prompt file holds the system prompt, then a line ``=== user ===``, then the user template.
prompts/manifest.toml lists every prompt once: whether a variant (meta-optimisation, ``--prompts DIR``) may
replace it, and the placeholders the code fills. Solver, judge and verifier prompts are protected: they
always come from this package, so no variant can tell a solver to be weak.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

PACKAGE_DIR = Path(__file__).resolve().parent


class PromptError(ValueError):
    pass


MANIFEST = PACKAGE_DIR / "manifest.toml"


@dataclass(frozen=True)
class PromptEntry:
    """A prompt's line in prompts/manifest.toml."""

    name: str
    access: str
    """``optimised`` (the meta-optimiser may rewrite it), ``editable`` (a variant directory may replace it)
    or ``protected`` (always the shipped file)."""
    placeholders: frozenset[str]
    """The ``$placeholders`` the code fills."""


ACCESS = ("optimised", "editable", "protected")


@lru_cache(maxsize=1)
def manifest() -> dict[str, PromptEntry]:
    """Every prompt of this package, read from prompts/manifest.toml (the one list of them)."""
    entries = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    out: dict[str, PromptEntry] = {}
    for name, entry in entries.items():
        if entry.get("access") not in ACCESS:
            raise PromptError(
                f"{MANIFEST}: prompt {name!r} has access {entry.get('access')!r}, not one of {ACCESS}"
            )
        out[name] = PromptEntry(name, entry["access"], frozenset(entry.get("placeholders", ())))
    return out


OPTIMISED = tuple(name for name, entry in manifest().items() if entry.access == "optimised")
EDITABLE = frozenset(name for name, entry in manifest().items() if entry.access != "protected")
PROTECTED = frozenset(name for name, entry in manifest().items() if entry.access == "protected")
SEPARATOR = "=== user ==="


@dataclass(frozen=True)
class Prompt:
    name: str
    system: Template
    user: Template
    source: Path

    def render(self, **values: object) -> list[BaseMessage]:
        text = {k: str(v) for k, v in values.items()}
        try:
            system = self.system.substitute(text).strip()
            user = self.user.substitute(text).strip()
        except KeyError as exc:
            raise PromptError(f"prompt {self.name} ({self.source}) needs a value for ${exc.args[0]}") from exc
        messages: list[BaseMessage] = [SystemMessage(content=system)] if system else []
        messages.append(HumanMessage(content=user))
        return messages

    def render_text(self, **values: object) -> str:
        return "\n\n".join(str(m.content) for m in self.render(**values))


@lru_cache(maxsize=64)
def _read(path: Path, mtime_ns: int) -> tuple[str, str]:
    raw = path.read_text(encoding="utf-8")
    if SEPARATOR in raw:
        system, user = raw.split(SEPARATOR, 1)
    else:
        system, user = "", raw
    return system.strip("\n"), user.strip("\n")


def prompt_path(name: str, variant_dir: str | Path | None = None) -> Path:
    if name not in EDITABLE and name not in PROTECTED:
        raise PromptError(f"unknown prompt {name!r}")
    if variant_dir is not None and name in EDITABLE:
        candidate = Path(variant_dir) / f"{name}.md"
        if candidate.is_file():
            return candidate
    return PACKAGE_DIR / f"{name}.md"


def load_prompt(name: str, variant_dir: str | Path | None = None) -> Prompt:
    path = prompt_path(name, variant_dir)
    system, user = _read(path, path.stat().st_mtime_ns)
    return Prompt(name, Template(system), Template(user), path)


def load_lines(name: str, variant_dir: str | Path | None = None) -> list[str]:
    """A prompt file that is a list (one entry a line, blank lines ignored), e.g. the challenger's angles."""
    prompt = load_prompt(name, variant_dir)
    lines = [line.strip() for line in prompt.user.template.splitlines() if line.strip()]
    if not lines:
        raise PromptError(f"prompt {name} ({prompt.source}) has no entries")
    return lines


def load_examples(name: str, variant_dir: str | Path | None = None) -> list[str]:
    """A prompt file of worked examples, apart by blank lines, each opening like the first ("PASSAGE:"): the
    challenger is shown one a round (a small model copies the shape of the one example it sees into every
    question). A paragraph that opens otherwise stays with the example before it (a variant's longer one)."""
    prompt = load_prompt(name, variant_dir)
    paragraphs = [b.strip() for b in re.split(r"\n\s*\n", prompt.user.template) if b.strip()]
    if not paragraphs:
        raise PromptError(f"prompt {name} ({prompt.source}) has no examples")
    label = paragraphs[0].split(":", 1)[0] + ":" if ":" in paragraphs[0].splitlines()[0] else None
    examples: list[str] = []
    for paragraph in paragraphs:
        if examples and (label is None or not paragraph.startswith(label)):
            examples[-1] += "\n\n" + paragraph
        else:
            examples.append(paragraph)
    return examples


_FENCE_TAG = re.compile(r"<\s*/?\s*(source|item|answer)\s*>", re.IGNORECASE)


def fence(text: str) -> str:
    """Untrusted text (a source document, a solver's answer) for a prompt: it cannot open or close the tags
    that fence it (``<source>``, ``<item>``, ``<answer>``), so it stays material, never instructions."""
    return _FENCE_TAG.sub("[tag removed]", text)
