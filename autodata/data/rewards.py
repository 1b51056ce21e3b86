"""Reward functions for TRL's ``GRPOTrainer`` over an ``autodata export --format grpo`` dataset.

TRL calls every reward function as ``f(prompts=..., completions=..., completion_ids=..., **columns)``,
where each dataset column other than ``prompt`` arrives as a list with one value per completion (plus
``trainer_state`` and a few logging hooks), and takes ``list[float | None]`` back; ``None`` means "not
applicable to this row" (TRL turns it into NaN and ignores it when summing reward functions). So, on a
dataset mixing both modes, pass both functions: each one returns ``None`` for the other mode's rows.

- :func:`verifiable_reward` / :class:`VerifiableReward`: the completion's final answer against the
  ``answer`` column, decided in code by the judge node's rule (``autodata.rules.equivalence``); what code
  cannot decide (a paraphrase, a hedged or multi-option answer) goes to the judge model when one is
  configured, else scores ``undecided`` (0.0), never full reward.
- :class:`RubricReward`: the judge model grades the completion per rubric criterion (the generator's own
  ``judge_rubric`` prompt and schema); the score is recomputed in code by ``rubric_score``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Sequence
from typing import Any

from autodata.core import aio
from autodata.llm.models import ModelRegistry
from autodata.rules.equivalence import code_verdict, extract_final_answer

MAX_RESPONSE_CHARS = 2500


def completion_text(completion: Any) -> str:
    """Text of a completion: a string, or (conversational) a list of message dicts -> the assistant's text."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content(completion.get("content"))
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        return "\n".join(_content(m.get("content")) for m in (assistant or messages[-1:]))
    return str(completion)


def _content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}, ...]
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _column(kwargs: dict[str, Any], name: str, n: int) -> list[Any]:
    value = kwargs.get(name)
    if value is None:
        return [None] * n
    if len(value) != n:
        raise ValueError(f"column {name!r} has {len(value)} values for {n} completions")
    return list(value)


def _question(prompt: Any, question: Any) -> str:
    if question:
        return str(question)
    return completion_text(
        prompt if isinstance(prompt, str) else [m for m in prompt or [] if m.get("role") == "user"]
    )


def _run(coro):
    """Run a coroutine from sync code, also when the caller already has a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return aio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(aio.run, coro).result()


class VerifiableReward:
    """1.0 if the completion's final answer equals ``answer`` (in code), else 0.0; ``None`` on rubric rows.

    ``code_verdict`` (the generator's own rule, autodata/rules/equivalence.py) returns None when code cannot
    decide (a paraphrase, and always for a hedged or multi-option answer such as "A or B"). With ``registry``
    set, such answers go to the ``judge`` role with the generator's ``judge_equivalence`` prompt; without it,
    or when that call fails, they score ``undecided``, which must be below 1.0: an answer nobody verified
    never earns full reward (else a policy learns to list several options).
    """

    __name__ = "verifiable_reward"

    def __init__(self, registry: ModelRegistry | None = None, undecided: float = 0.0, concurrency: int = 8):
        if not 0.0 <= undecided < 1.0:
            raise ValueError(f"undecided must be in [0, 1): got {undecided}")
        self.registry = registry
        self.undecided = undecided
        self.concurrency = concurrency

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        n = len(completions)
        answers = _column(kwargs, "answer", n)
        modes = _column(kwargs, "mode", n)
        questions = _column(kwargs, "question", n)
        prompts = list(prompts) if prompts is not None else [None] * n
        rewards: list[float | None] = []
        pending: list[tuple[int, str, str, str]] = []
        for i, (completion, answer, mode) in enumerate(zip(completions, answers, modes, strict=True)):
            if answer is None or (mode is not None and mode != "verifiable"):
                rewards.append(None)
                continue
            final = extract_final_answer(completion_text(completion))
            question = _question(prompts[i], questions[i])
            same = code_verdict(str(answer), final, question)
            if same is None and self.registry is not None:
                pending.append((i, question, str(answer), final))
            rewards.append(self.undecided if same is None else float(same))
        if pending:
            for (i, *_), verdict in zip(pending, _run(self._judge_all(pending)), strict=True):
                if verdict is not None:
                    rewards[i] = verdict
        return rewards

    async def _judge_all(self, pending: list[tuple[int, str, str, str]]) -> list[float | None]:
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(question: str, answer: str, final: str) -> float | None:
            async with semaphore:
                return await self._judge(question, answer, final)

        return await asyncio.gather(*(one(q, a, f) for _, q, a, f in pending))

    async def _judge(self, question: str, answer: str, final: str) -> float | None:
        from autodata.llm.calls import call_structured
        from autodata.prompts.loader import fence, load_prompt
        from autodata.rules.schemas import EquivalenceOut

        # fenced as in the judge node: a completion must not be able to close the tag and address the judge
        messages = load_prompt("judge_equivalence").render(
            question=question, answer=answer, response=fence(final[:MAX_RESPONSE_CHARS])
        )
        out, _ = await call_structured(
            self.registry, "judge", messages, EquivalenceOut, metadata={"purpose": "reward"}
        )
        if out is None:
            return None
        return 1.0 if out.verdict == "EQUIVALENT" else 0.0


def verifiable_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
    """Code-only verifiable reward (no judge): see :class:`VerifiableReward`."""
    return VerifiableReward()(prompts, completions, **kwargs)


def _criteria(rubric: Any) -> list[dict[str, Any]]:
    if isinstance(rubric, str):
        rubric = json.loads(rubric) if rubric.strip() else []
    criteria = []
    for i, c in enumerate(rubric or []):
        criteria.append(
            {
                "id": int(c.get("id") or i + 1),
                "description": str(c["description"]),
                "points": int(c["points"]),
            }
        )
    return criteria


class RubricReward:
    """Judge-model rubric score in [0, 1] per completion; ``None`` on rows without a rubric or in verifiable
    mode, and ``failed`` (default 0.0) when the judge call fails.

    ``registry`` supplies the ``judge`` role (any :class:`autodata.llm.models.ModelRegistry`, e.g. one built
    from the same ``models.toml`` as the generator). Calls run concurrently, ``concurrency`` at a time.
    """

    __name__ = "rubric_reward"

    def __init__(self, registry: ModelRegistry, concurrency: int = 8, failed: float | None = 0.0):
        self.registry = registry
        self.concurrency = concurrency
        self.failed = failed
        self.failures = 0

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        return _run(self.ascore(prompts, completions, **kwargs))

    async def ascore(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        n = len(completions)
        answers = _column(kwargs, "answer", n)
        rubrics = _column(kwargs, "rubric", n)
        modes = _column(kwargs, "mode", n)
        questions = _column(kwargs, "question", n)
        prompts = list(prompts) if prompts is not None else [None] * n
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(i: int) -> float | None:
            rubric = _criteria(rubrics[i])
            if not rubric or (modes[i] is not None and modes[i] != "rubric"):
                return None
            async with semaphore:
                return await self._grade(
                    _question(prompts[i], questions[i]),
                    str(answers[i] or ""),
                    rubric,
                    completion_text(completions[i]),
                )

        return list(await asyncio.gather(*(one(i) for i in range(n))))

    async def _grade(self, question: str, answer: str, rubric: list[dict], response: str) -> float | None:
        from autodata.llm.calls import call_structured
        from autodata.prompts.loader import fence, load_prompt
        from autodata.rules.grading import format_rubric, rubric_score, rubric_validator
        from autodata.rules.schemas import RubricJudgeOut

        messages = load_prompt("judge_rubric").render(
            question=question,
            answer=answer,
            rubric=format_rubric(rubric),
            response=fence(response[:MAX_RESPONSE_CHARS]),
        )
        out, _ = await call_structured(
            self.registry,
            "judge",
            messages,
            RubricJudgeOut,
            metadata={"purpose": "reward"},
            validate=rubric_validator(rubric),
        )
        if out is None:
            self.failures += 1
            return self.failed
        ids = {c["id"] for c in rubric}
        verdicts: dict[int, str] = {}
        for s in out.scores:
            if s.criterion_id in ids and s.criterion_id not in verdicts:
                verdicts[s.criterion_id] = s.verdict
        return rubric_score(rubric, verdicts)
