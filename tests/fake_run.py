"""A real run directory, written by the runner on scripted fake models, whose trajectories are known.

``cache.md``: round 1 too easy (the weak solver right twice), round 2 accepted. ``eviction.md``: round 1
fails a format rule, round 2 the verifier, and the unit gives up (2 rounds). The orchestrator's advice is
``ADVICE``, so the feedback sent after each rejected round contains it.
"""

from __future__ import annotations

from pathlib import Path

from fakes import FakeRegistry
from scripts import EVIDENCE, QUESTIONS, RIGHT, VERIFIER_FAIL, VERIFIER_PASS, WRONG, item, rubric_judge

from autodata.core.context import RunContext
from autodata.data.documents import Document
from autodata.run.runner import Runner

ADVICE = "Ask about a longer access sequence."
TOO_EASY_QUESTION = QUESTIONS[2]
ACCEPTED_QUESTION = QUESTIONS[0]
FORMAT_QUESTION = "What is LRU? And why?"
QUALITY_QUESTION = QUESTIONS[1]


async def write_fake_run(out: Path) -> Path:
    models = FakeRegistry(
        {
            "challenger": [
                item(question=TOO_EASY_QUESTION),
                item(question=ACCEPTED_QUESTION),
                item(question=FORMAT_QUESTION),
                item(question=QUALITY_QUESTION),
            ],
            "verifier": [VERIFIER_PASS, VERIFIER_PASS, VERIFIER_FAIL],
            "weak_solver": [RIGHT, RIGHT, WRONG, WRONG],
            "strong_solver": [RIGHT],
            "judge": [rubric_judge()],
            "orchestrator": [ADVICE],
        }
    )
    documents = [
        Document(path=str(out.parent / name), text=f"{title} {EVIDENCE}")
        for name, title in (("cache.md", "LRU caches."), ("eviction.md", "Eviction order."))
    ]
    context = RunContext(models=models, samples=2, max_rounds=2)
    await Runner(out, context, concurrency=1).run(documents)
    return out
