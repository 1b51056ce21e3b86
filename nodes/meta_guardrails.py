"""Guardrails of the meta-optimiser, in code (pure functions): what an edit may change, and duplicates.

- an edit may only replace one of the EDITABLE prompts the inner loop uses (challenger, orchestrator,
  feedback, brief); solver, judge and verifier prompts, the acceptance rule and the sample counts are not
  prompt files a variant can hold, so no edit can reach them;
- the edited template must keep exactly the ``$placeholders`` the code fills (checked by rendering it);
- identical or near-identical variants are detected so they are not evaluated again.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from string import Template

from autodata.prompts.loader import OPTIMISED, SEPARATOR, manifest

MAX_PROMPT_CHARS = 20_000


class GuardrailError(ValueError):
    pass


def required_placeholders(name: str) -> frozenset[str]:
    """The placeholders the code fills for prompt ``name`` (prompts/manifest.toml)."""
    return manifest()[name].placeholders


def check_target(name: str) -> None:
    if name not in OPTIMISED:
        raise GuardrailError(
            f"prompt {name!r} may not be edited: only {', '.join(OPTIMISED)} are editable "
            "(solver, judge and verifier prompts, the acceptance rule and sample counts are fixed)"
        )


def _split(text: str) -> tuple[str, str]:
    if SEPARATOR in text:
        system, user = text.split(SEPARATOR, 1)
        return system, user
    return "", text


def check_template(name: str, text: str) -> None:
    """The edited file must render with exactly the keys the code passes, and say something."""
    if not text.strip():
        raise GuardrailError(f"edited prompt {name!r} is empty")
    if len(text) > MAX_PROMPT_CHARS:
        raise GuardrailError(f"edited prompt {name!r} is longer than {MAX_PROMPT_CHARS} characters")
    if text.count(SEPARATOR) > 1:
        raise GuardrailError(f"edited prompt {name!r} has more than one {SEPARATOR!r} line")
    required = required_placeholders(name)
    system, user = (Template(part) for part in _split(text))
    for part in (system, user):
        if not part.is_valid():
            raise GuardrailError(f"edited prompt {name!r} has an invalid placeholder (write $$ for a dollar)")
    found = set(system.get_identifiers()) | set(user.get_identifiers())
    if missing := sorted(required - found):
        raise GuardrailError(f"edited prompt {name!r} dropped placeholder(s) {', '.join(missing)}")
    if unknown := sorted(found - required):
        raise GuardrailError(
            f"edited prompt {name!r} uses placeholder(s) the code does not fill: {', '.join(unknown)}"
        )
    values = {key: f"<{key}>" for key in required}
    try:
        rendered = system.substitute(values) + user.substitute(values)
    except (KeyError, ValueError) as exc:  # pragma: no cover - is_valid/get_identifiers catch these
        raise GuardrailError(f"edited prompt {name!r} does not render: {exc}") from exc
    if not user.substitute(values).strip():
        raise GuardrailError(f"edited prompt {name!r} has an empty user message")
    assert rendered


def check_edit(name: str, text: str) -> None:
    check_target(name)
    check_template(name, text)


_PART_START = re.compile(r"(?:[-*] |#|\$|=== )")
_PART_MARK = re.compile(r"^\[\d+\] ?", re.MULTILINE)


def prompt_parts(text: str) -> list[str]:
    """A prompt file cut into numbered parts an editor can name (``text == "".join(parts)``): a part starts
    at the first line, after a blank line or a line ending with ":", and at a line that opens a list item,
    a heading, a placeholder or the ``=== user ===`` separator; other lines continue the part before."""
    parts: list[list[str]] = [[]]
    previous = ""
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        starts = stripped and (
            not previous.strip()
            or previous.rstrip().endswith(":")
            or bool(_PART_START.match(stripped))
            or previous.startswith(("#", "$", "=== "))
        )
        if starts and any(p.strip() for p in parts[-1]):
            parts.append([])
        parts[-1].append(line)
        previous = line
    return ["".join(lines) for lines in parts if lines]


def numbered_parts(text: str) -> str:
    """The file as the editor sees it: each part behind its number, ``[1] ...``."""
    return "".join(f"[{i}] {part}" for i, part in enumerate(prompt_parts(text), 1))


def apply_part_edit(name: str, text: str, part: int, new_text: str) -> str:
    """``text`` with part ``part`` (1-based) replaced by ``new_text`` (an empty one deletes the part); part 0
    adds ``new_text`` as a new part at the end of the system prompt. A ``new_text`` with the
    ``=== user ===`` line is a whole new file, whatever the part. Part numbers copied into it are dropped."""
    new_text = _PART_MARK.sub("", new_text)
    if SEPARATOR in new_text:
        return new_text
    if part == 0:
        system, user = text.split(SEPARATOR, 1) if SEPARATOR in text else (text, None)
        added = system.rstrip("\n") + "\n" + new_text.strip("\n") + "\n"
        return added if user is None else added + SEPARATOR + user
    parts = prompt_parts(text)
    if not 1 <= part <= len(parts):
        raise GuardrailError(f"prompt {name!r} has parts 1-{len(parts)}, not {part}")
    old = parts[part - 1]
    body = new_text.strip("\n")
    tail = old[len(old.rstrip("\n")) :] or "\n"  # the part's line end and the blank lines after it
    parts[part - 1] = body + tail if body else ""
    return "".join(parts)


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def variant_text(prompts: Mapping[str, str]) -> str:
    """One normalised string of a variant's editable prompts (in a fixed order)."""
    return "\n".join(f"## {name}\n{normalize(prompts.get(name, ''))}" for name in OPTIMISED)


def text_hash(prompts: Mapping[str, str]) -> str:
    return hashlib.sha256(variant_text(prompts).encode()).hexdigest()[:16]


def similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < 0.9 or matcher.quick_ratio() < 0.9:
        return matcher.quick_ratio()
    return matcher.ratio()


def variant_similarity(a: Mapping[str, str], b: Mapping[str, str]) -> float:
    """The lowest per-prompt similarity of two variants (1.0: the same after normalisation)."""
    return min(similarity(normalize(a.get(n, "")), normalize(b.get(n, ""))) for n in OPTIMISED)


def find_duplicate(
    prompts: Mapping[str, str], known: Iterable[tuple[str, Mapping[str, str]]], threshold: float = 0.99
) -> tuple[str, float] | None:
    """The first known variant identical (same normalised hash) or near-identical to ``prompts``: every
    editable prompt at least ``threshold`` similar (difflib ratio of the normalised texts)."""
    digest = text_hash(prompts)
    for variant_id, other in known:
        if text_hash(other) == digest:
            return variant_id, 1.0
        score = variant_similarity(prompts, other)
        if score >= threshold:
            return variant_id, round(score, 4)
    return None
