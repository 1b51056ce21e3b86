"""Runtime configuration of the inner graph (its ``context_schema``): nothing global."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeIs

Mode = Literal["rubric", "verifiable"]
MODES: tuple[Mode, ...] = ("rubric", "verifiable")


def is_mode(value: object) -> TypeIs[Mode]:
    return value in MODES


@dataclass
class RunContext:
    mode: Mode = "rubric"
    preset: str | None = None
    """Acceptance preset (``rubric``, ``rubric_strict``, ``verifiable``, ``verifiable_majority``);
    default: the mode's own."""
    samples: int = 2
    """k: solver samples per role and round."""
    max_rounds: int = 3
    """Rounds per item: a unit gives up its current item after this many rounds."""
    items_per_unit: int = 1
    """Accepted items wanted per unit (document or section); each is a distinct item with its own record."""
    candidates: int = 1
    """Challenger candidates per round, written in parallel and screened before solving."""
    max_failed_attempts: int = 3
    """Rounds lost to failed calls (not counted as rounds) before the document is given up."""
    advice: bool = True
    """Ask the orchestrator model for targeted advice on top of the coded feedback."""
    max_source_chars: int = 6000
    window_chars: int = 600
    """Each round's challenger sees one passage of the unit: up to two consecutive sentences of at most this
    many characters, the passages richest in rules and figures first, a different one per round
    (autodata/rules/windows.py: focus_windows; the verifier and the grounding checks see the same passage)."""
    profile: str = "local"
    config_path: str | None = None
    prompts_dir: str | None = None
    """A directory of prompt variants (challenger / orchestrator only)."""
    variant: str = "seed"
    dedup_threshold: float | None = None
    """Jaccard similarity (word 3-shingles) at which an accepted question counts as a near-duplicate of one
    accepted before in the run (it goes to rejected.jsonl, reason ``duplicate``); None: no check (the
    library default; ``autodata generate`` uses 0.8)."""
    duplicates: SkipJsonSchema[Any] = None
    """The run's near-duplicate index of accepted questions (``autodata.rules.dedup.DuplicateIndex``): a
    candidate that near-duplicates an accepted item is rejected before solving (reason ``duplicate``), so its
    unit tries again. Set by the runner; the runner's final check stays the guarantee."""
    review: bool = False
    """Pause before accepting an item until a human decides (``Command(resume={"accept": bool})``)."""
    models: SkipJsonSchema[Any] = None
    """A ModelRegistry. None: autodata/llm/models.py ``registry_of`` builds one from ``profile`` /
    ``config_path`` on first use (tests inject fakes here)."""
