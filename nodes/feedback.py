"""Orchestrator feedback: a coded summary of earlier attempts plus the orchestrator model's advice."""

from __future__ import annotations

from langgraph.runtime import Runtime

from autodata.context import RunContext
from autodata.llm import call_text
from autodata.nodes.common import call_metadata, context, registry
from autodata.prompts.loader import load_prompt
from autodata.state import RoundRecord, SelfInstructState

TOO_EASY = ("too_easy", "strong_too_easy")
STRONG_FAILED = ("strong_failed", "gap_too_small", "strong_zero", "weak_zero")
QUALITY = ("format", "leakage", "quality")


def _q(record: RoundRecord) -> str:
    item = record.get("item")
    return (item or {}).get("question", "(no item)")[:200]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def group_attempts(rounds: list[RoundRecord]) -> str:
    """TOO EASY / FAILED ON STRONG / FAILED QUALITY CHECK groups of the document's earlier attempts."""
    easy, strong, quality, other = [], [], [], []
    for r in rounds:
        if r["reason"] in TOO_EASY:
            easy.append(f"- round {r['round']}: {_q(r)} (weak mean {_fmt(r['weak_mean'])}; {r['detail']})")
        elif r["reason"] in STRONG_FAILED:
            strong.append(
                f"- round {r['round']}: {_q(r)} (weak {_fmt(r['weak_mean'])}, strong "
                f"{_fmt(r['strong_mean'])}, gap {_fmt(r['gap'])}; {r['detail']})"
            )
        elif r["reason"] in QUALITY:
            first = next((s for s in r["screenings"] if not s["passed"]), None)
            question = _q(r) if r.get("item") else "(candidate)"
            quality.append(
                f"- round {r['round']}: {question} ({r['reason']}: "
                f"{(first or {}).get('feedback', r['detail'])[:300]})"
            )
        elif r["reason"] != "accepted":
            other.append(f"- round {r['round']}: {r['reason']}: {r['detail'][:200]}")
    parts = []
    if easy:
        parts.append(
            "## TOO EASY (the weak solver succeeded; make it need deeper reasoning)\n" + "\n".join(easy)
        )
    if strong:
        parts.append(
            "## FAILED ON STRONG (the strong solver could not solve it; make it clearer and well "
            "grounded)\n" + "\n".join(strong)
        )
    if quality:
        parts.append("## FAILED QUALITY CHECK\n" + "\n".join(quality))
    if other:
        parts.append("## OTHER PROBLEMS\n" + "\n".join(other))
    return "\n\n".join(parts) or "(no earlier attempts)"


def _last_item(rounds: list[RoundRecord]) -> dict:
    for r in reversed(rounds):
        if r.get("item"):
            return r["item"]
    for r in reversed(rounds):
        for s in r["screenings"]:
            if s.get("feedback"):
                return {"question": "(rejected before solving)", "answer": ""}
    return {"question": "(none)", "answer": ""}


def failure_modes(rounds: list[RoundRecord]) -> str:
    if not rounds:
        return "(none)"
    last = rounds[-1]
    notes = []
    for label, samples in (("weak", last["weak"]), ("strong", last["strong"])):
        for i, s in enumerate(samples):
            if s.get("failure_modes"):
                notes.append(
                    f"- {label} answer {i + 1} (score {_fmt(s['score'])}): {s['failure_modes'][:200]}"
                )
    return "\n".join(notes) or "(none)"


def coded_feedback(
    state: SelfInstructState, next_round: int, max_rounds: int, advice: str
) -> tuple[str, str]:
    rounds = state.get("rounds", [])
    last = _last_item(rounds)
    values = dict(
        round=next_round,
        max_rounds=max_rounds,
        groups=group_attempts(rounds),
        last_question=last.get("question", ""),
        last_answer=last.get("answer", ""),
        failure_modes=failure_modes(rounds),
        advice="",
    )
    history = load_prompt("feedback").render_text(**values)
    with_advice = (
        history
        if not advice
        else load_prompt("feedback").render_text(
            **{**values, "advice": f"## Orchestrator's advice\n{advice.strip()}\n"}
        )
    )
    return history, with_advice


async def feedback(state: SelfInstructState, runtime: Runtime[RunContext]) -> dict:
    ctx = context(runtime)
    rounds = state.get("rounds", [])
    counted = bool(rounds) and rounds[-1]["counted"]
    next_round = state["round"] + (1 if counted else 0)
    history, _ = coded_feedback(state, next_round, ctx.max_rounds, "")
    calls = []
    advice = ""
    if ctx.advice and counted:
        messages = load_prompt("orchestrator", ctx.prompts_dir).render(history=history)
        text, record = await call_text(
            registry(runtime), "orchestrator", messages, metadata=call_metadata(state, runtime)
        )
        calls.append(record)
        advice = (text or "")[:1200]
    _, text = coded_feedback(state, next_round, ctx.max_rounds, advice)
    return {
        "feedback": text,
        "round": next_round,
        "attempt": state["attempt"] + 1,
        "current": None,
        "weak": [],
        "strong": [],
        "screenings": [],
        "calls": calls,
    }
