"""Orchestrator feedback: a coded summary of earlier attempts plus the orchestrator model's advice."""

from __future__ import annotations

from langgraph.runtime import Runtime

from autodata.core.context import RunContext
from autodata.core.numbers import number
from autodata.core.state import RoundRecord, SelfInstructState
from autodata.llm.calls import call_text
from autodata.nodes.common import call_metadata, context, registry
from autodata.prompts.loader import load_lines, load_prompt
from autodata.rules.windows import window_for

GROUP_OF = {
    "accepted": "accepted",
    "too_easy": "too_easy",
    "strong_too_easy": "strong_too_easy",
    "weak_zero": "weak_zero",
    "strong_failed": "strong_failed",
    "gap_too_small": "strong_failed",
    "strong_zero": "strong_failed",
    **{
        r: "quality"
        for r in (
            "format",
            "grounding",
            "program",
            "arithmetic",
            "leakage",
            "quality",
            "repeat",
            "duplicate",
            "ungradable",
        )
    },
}
RECENT_ATTEMPTS = 3
"""Feedback shows only the last few attempts: small models lose the thread in a long history."""


def _q(record: RoundRecord) -> str:
    item = record.get("item")
    return (item.get("question", "(no item)") if item else "(no item)")[:200]


def _fmt(value: float | None) -> str:
    return number(value)


def group_headings(prompts_dir: str | None = None) -> dict[str, str]:
    """Group key -> heading, from prompts/feedback_groups.md (``key | heading`` lines)."""
    pairs = (line.split("|", 1) for line in load_lines("feedback_groups", prompts_dir))
    return {key.strip(): heading.strip() for key, heading in pairs}


def _line(r: RoundRecord, group: str) -> str:
    if group == "accepted":
        return f"- round {r['round']}: {_q(r)}"
    if group == "too_easy":
        return f"- round {r['round']}: {_q(r)} (weak mean {_fmt(r['weak_mean'])}; {r['detail']})"
    if group in ("strong_too_easy", "weak_zero", "strong_failed"):
        return (
            f"- round {r['round']}: {_q(r)} (weak {_fmt(r['weak_mean'])}, strong "
            f"{_fmt(r['strong_mean'])}, gap {_fmt(r['gap'])}; {r['detail']})"
        )
    if group == "quality":
        first = next((s for s in r["screenings"] if not s["passed"]), None)
        question = _q(r) if r.get("item") else "(candidate)"
        said = first.get("feedback", r["detail"]) if first else r["detail"]
        reason = r["detail"] if r["reason"] == "ungradable" else said
        return f"- round {r['round']}: {question} ({r['reason']}: {reason[:300]})"
    return f"- round {r['round']}: {r['reason']}: {r['detail'][:200]}"


def on_other_passage(record: RoundRecord, passage: list[int] | None) -> bool:
    """Was the round written about another window of the source than ``passage`` (the next round's)?
    Unknown windows (records checkpointed before they were kept) count as the same passage."""
    window = record.get("window")
    return passage is not None and window is not None and list(window) != list(passage)


def next_passage(state: SelfInstructState, next_round: int) -> list[int] | None:
    """The window the next round's (first) challenger is pointed at (nodes/routing.py)."""
    windows = state.get("windows")
    return window_for(windows, next_round, 0, state.get("num_candidates", 1)) if windows else None


def attempts_on_passage(rounds: list[RoundRecord], passage: list[int] | None) -> bool:
    """Has the unit written about ``passage`` before? Only then is there something for the orchestrator to
    advise on: asked about attempts on other passages alone, the 1.5B wrote advice about nothing in the
    source ("What is the purpose of the 'Data Cleaning' section in a dataset?") in 5 rounds of 5."""
    return any(not on_other_passage(r, passage) for r in rounds if r["counted"])


def _other_passage_line(r: RoundRecord, group: str) -> str:
    """An attempt on another passage: what happened, without its question, its case or the notes on it. The
    1.5B challenger copied a question listed here into rounds about other passages, word for word."""
    head = f"- round {r['round']} (another passage)"
    if group in ("too_easy", "strong_too_easy", "weak_zero", "strong_failed"):
        return f"{head}: weak {_fmt(r['weak_mean'])}, strong {_fmt(r['strong_mean'])}"
    if group == "quality":
        first = next((s for s in r["screenings"] if not s["passed"]), None)
        said = first.get("feedback", "") if first else ""
        checks = said.partition(":")[0] if r["reason"] == "quality" else ""
        return f"{head}: {r['reason']}" + (f" ({checks})" if checks else "")
    return f"{head}: {r['reason']}"


def group_attempts(
    rounds: list[RoundRecord], prompts_dir: str | None = None, passage: list[int] | None = None
) -> str:
    """The unit's last attempts, grouped (TOO EASY, FAILED ON STRONG, FAILED QUALITY CHECK, ...); attempts
    on another passage than ``passage`` (the window of the round the feedback is for) without their text."""
    headings = group_headings(prompts_dir)
    groups: dict[str, list[str]] = {key: [] for key in headings}
    accepted = [r for r in rounds if r["reason"] == "accepted"]  # several items per unit: all of them
    for r in accepted + [r for r in rounds if r["reason"] != "accepted"][-RECENT_ATTEMPTS:]:
        group = GROUP_OF.get(r["reason"], "other")
        line = _other_passage_line(r, group) if on_other_passage(r, passage) else _line(r, group)
        groups.setdefault(group, []).append(line)
    parts = [f"{headings.get(key, key)}\n" + "\n".join(lines) for key, lines in groups.items() if lines]
    return "\n\n".join(parts) or "(no earlier attempts)"


def failure_modes(rounds: list[RoundRecord], passage: list[int] | None = None) -> str:
    if not rounds or on_other_passage(rounds[-1], passage):
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
    state: SelfInstructState, next_round: int, max_rounds: int, advice: str, prompts_dir: str | None = None
) -> tuple[str, str]:
    rounds = state.get("rounds", [])
    passage = next_passage(state, next_round)
    values = dict(
        round=next_round,
        max_rounds=max_rounds,
        groups=group_attempts(rounds, prompts_dir, passage),
        failure_modes=failure_modes(rounds, passage),
        advice="",
    )
    template = load_prompt("feedback", prompts_dir)  # a variant's feedback prompt takes effect
    history = template.render_text(**values)
    with_advice = (
        history
        if not advice
        else template.render_text(**{**values, "advice": f"## Orchestrator's advice\n{advice.strip()}\n"})
    )
    return history, with_advice


async def feedback(state: SelfInstructState, runtime: Runtime[RunContext]) -> SelfInstructState:
    ctx = context(runtime)
    rounds = state.get("rounds", [])
    counted = bool(rounds) and rounds[-1]["counted"]
    next_round = state["round"] + (1 if counted else 0)
    history, _ = coded_feedback(state, next_round, ctx.max_rounds, "", ctx.prompts_dir)
    calls = []
    advice = ""
    if ctx.advice and counted and attempts_on_passage(rounds, next_passage(state, next_round)):
        messages = load_prompt("orchestrator", ctx.prompts_dir).render(history=history)
        text, record = await call_text(
            registry(runtime), "orchestrator", messages, metadata=call_metadata(state, runtime)
        )
        calls.append(record)
        advice = (text or "")[:1200]
    _, text = coded_feedback(state, next_round, ctx.max_rounds, advice, ctx.prompts_dir)
    return {
        "feedback": text,
        "round": next_round,
        "attempt": state["attempt"] + 1,
        "current": None,
        "weak": [],
        "strong": [],
        "screenings": [],
        "judge_check": None,
        "calls": calls,
    }
