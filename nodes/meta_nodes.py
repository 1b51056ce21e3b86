"""Nodes of the outer meta-optimisation loop (``graphs/meta_optimize.py``).

    init -> select_parent -> rollout -> analyze -> edit -> guard -> evaluate(parent) || evaluate(child)
         -> record -> select_parent ... -> report

Every LLM call is counted in ``cost``; the loop stops after ``iterations`` or when ``budget`` calls are spent
(checked before an iteration starts). Decisions (which parent, accept or reject the child, guardrails) are
code; only the analysis and the edit are written by models (roles ``analyzer`` and ``editor``: their own
models when configured, see ``autodata.core.config.INHERITED_ROLES``; the orchestrator's model when the
registry has no such role).
"""

from __future__ import annotations

import random
from string import Template
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from autodata.core.meta_state import (
    Edit,
    EvalResult,
    EvalTask,
    MetaContext,
    MetaState,
    VariantInfo,
    add_costs,
    cost_diff,
)
from autodata.data.documents import Document
from autodata.llm.calls import call_structured, call_text
from autodata.llm.models import MetaRegistry, registry_of
from autodata.nodes.common import emit, runtime_context
from autodata.nodes.meta_guardrails import (
    GuardrailError,
    apply_part_edit,
    check_edit,
    check_target,
    find_duplicate,
    numbered_parts,
    required_placeholders,
    text_hash,
)
from autodata.nodes.meta_inner import InnerGraph, cost_of, metrics, run_variant, trajectories
from autodata.nodes.meta_store import (
    SEED,
    append_iteration,
    package_prompts,
    read_iterations,
    read_meta,
    read_prompts,
    unified_diff,
    update_meta,
    variant_dir,
    write_best,
    write_meta,
    write_prompts,
    write_report,
)
from autodata.prompts.loader import OPTIMISED, load_prompt
from autodata.rules.schemas import EditOut
from autodata.rules.selection import IN_POPULATION, best_variant, boltzmann_pick, is_better, score


def ctx_of(runtime: Runtime[MetaContext] | None) -> MetaContext:
    return runtime_context(runtime, MetaContext)


def _registry(ctx: MetaContext) -> MetaRegistry:
    return MetaRegistry(registry_of(ctx.inner_context()))


def _meta_prompt(name: str) -> tuple[Template, Template]:
    prompt = load_prompt(name)  # protected: always the shipped file
    return prompt.system, prompt.user


def _messages(name: str, **values: Any) -> list[BaseMessage]:
    system, user = _meta_prompt(name)
    text = {k: str(v) for k, v in values.items()}
    return [SystemMessage(content=system.substitute(text)), HumanMessage(content=user.substitute(text))]


def _docs(documents: list[Document], paths: list[str]) -> list[Document]:
    by_path = {d.path: d for d in documents}
    return [by_path[p] for p in paths if p in by_path]


# --- nodes -------------------------------------------------------------------------------------------


def init(state: MetaState, runtime: Runtime[MetaContext]) -> MetaState:
    ctx = ctx_of(runtime)
    seed_dir = variant_dir(ctx.out_dir, SEED)
    if not (seed_dir / "challenger.md").is_file():
        write_prompts(seed_dir, package_prompts())
    if state.get("variants"):
        return {}
    prompts = read_prompts(ctx.out_dir, SEED)
    info = VariantInfo(
        id=SEED,
        parent=None,
        iteration=0,
        status="seed",
        changed_prompt=None,
        text_hash=text_hash(prompts),
        val_pass_rates=[],
        val_gaps=[],
    )
    write_meta(ctx.out_dir, SEED, {**info, "diff": "", "analysis": "", "cost": add_costs(None, None)})
    return {"variants": {SEED: info}, "iteration": 0, "cost": add_costs(None, None)}


def select_parent(state: MetaState, runtime: Runtime[MetaContext]) -> MetaState:
    ctx = ctx_of(runtime)
    iteration = state.get("iteration", 0) + 1
    rng = random.Random(f"{ctx.seed}:{iteration}")  # reproducible, and the same again after a resume
    population = [v for v in state["variants"].values() if v["status"] in IN_POPULATION]
    parent = boltzmann_pick(
        [v["id"] for v in population], [score(v) for v in population], ctx.temperature, rng
    )
    paths = [d.path for d in ctx.train]
    minibatch = rng.sample(paths, min(max(1, ctx.minibatch), len(paths)))
    emit(runtime, event="meta_iteration", iteration=iteration, parent=parent, minibatch=minibatch)
    return {
        "parent": parent,
        "child": None,
        "minibatch": minibatch,
        "trajectories": "",
        "rollout": {},
        "analysis": "",
        "edit": None,
        "outcome": "",
        "outcome_detail": "",
        "cost_at_start": add_costs(None, state.get("cost")),
    }


async def rollout(state: MetaState, runtime: Runtime[MetaContext], *, inner: InnerGraph) -> MetaState:
    """The parent variant on a training minibatch, through the ``inner`` graph (graphs/meta_optimize.py
    passes the compiled inner graph: nodes do not import graphs)."""
    ctx = ctx_of(runtime)
    parent = state["parent"]
    results = await run_variant(
        inner,
        _docs(ctx.train, state["minibatch"]),
        ctx.inner_context(),
        str(variant_dir(ctx.out_dir, parent)),
        parent,
        ctx.concurrency,
    )
    summary = metrics(results)
    emit(runtime, event="meta_rollout", parent=parent, accepted=summary["accepted"])
    return {"trajectories": trajectories(results), "rollout": summary, "cost": summary["cost"]}


async def analyze(state: MetaState, runtime: Runtime[MetaContext]) -> MetaState:
    ctx = ctx_of(runtime)
    rollout_summary = state.get("rollout", {})
    reasons = rollout_summary.get("reasons", {})
    messages = _messages(
        "meta_analyzer",
        variant=state["parent"],
        accepted=rollout_summary.get("accepted", 0),
        documents=rollout_summary.get("documents", 0),
        reasons="\n".join(f"- {k}: {v}" for k, v in reasons.items()) or "(none)",
        trajectories=state.get("trajectories", ""),
    )
    text, record = await call_text(
        _registry(ctx), "analyzer", messages, metadata={"variant": state["parent"], "meta": "analyze"}
    )
    analysis = (text or "").strip() or f"(the analyzer call failed: {record['error']})"
    return {"analysis": analysis[:4000], "cost": cost_of([record])}


async def edit(state: MetaState, runtime: Runtime[MetaContext]) -> MetaState:
    ctx = ctx_of(runtime)
    current = read_prompts(ctx.out_dir, state["parent"])
    listing = "\n\n".join(
        f"## {name} (placeholders: {', '.join('$' + p for p in sorted(required_placeholders(name)))})\n"
        f"```\n{numbered_parts(current[name])}\n```"
        for name in OPTIMISED
    )
    messages = _messages(
        "meta_editor", editable=", ".join(OPTIMISED), analysis=state.get("analysis", ""), prompts=listing
    )
    parsed, record = await call_structured(
        _registry(ctx), "editor", messages, EditOut, metadata={"variant": state["parent"], "meta": "edit"}
    )
    edit_out = (
        None
        if parsed is None
        else Edit(
            prompt=parsed.prompt.strip(),
            part=parsed.part,
            new_text=parsed.new_text,
            rationale=parsed.rationale,
        )
    )
    return {"edit": edit_out, "cost": cost_of([record]), "outcome_detail": record["error"] or ""}


def guard(state: MetaState, runtime: Runtime[MetaContext]) -> MetaState:
    """Guardrails in code; writes the child's files whatever the outcome."""
    ctx = ctx_of(runtime)
    iteration = state.get("iteration", 0) + 1
    parent, child = state["parent"], f"it{iteration:03d}"
    variants = dict(state["variants"])
    parent_prompts = read_prompts(ctx.out_dir, parent)
    edit_out = state.get("edit")
    outcome, detail, prompts, diff, name = "pending", "", dict(parent_prompts), "", None
    if edit_out is None:
        outcome, detail = (
            "invalid",
            f"the editor produced no usable edit ({state.get('outcome_detail') or '?'})",
        )
    else:
        name = edit_out["prompt"]
        try:
            check_target(name)
            edited = apply_part_edit(
                name, parent_prompts[name], edit_out.get("part", 0), edit_out["new_text"]
            )
            check_edit(name, edited)
        except GuardrailError as exc:
            outcome, detail = "invalid", str(exc)
        else:
            prompts[name] = edited.strip("\n") + "\n"
            diff = unified_diff(name, parent_prompts[name], prompts[name], parent, child)
            known = [
                (v["id"], read_prompts(ctx.out_dir, v["id"]))
                for v in variants.values()
                if v["status"] in ("seed", "accepted", "rejected", "pending")
            ]
            if dup := find_duplicate(prompts, known, ctx.similarity):
                outcome, detail = "duplicate", f"same as variant {dup[0]} (similarity {dup[1]:.3f})"
    folder = variant_dir(ctx.out_dir, child)
    if outcome == "invalid":
        folder.mkdir(parents=True, exist_ok=True)
        if edit_out:
            (folder / "rejected_edit.md").write_text(edit_out["new_text"], encoding="utf-8")
    else:
        write_prompts(folder, prompts)
    info = VariantInfo(
        id=child,
        parent=parent,
        iteration=iteration,
        status=outcome,
        changed_prompt=name,
        text_hash=text_hash(prompts),
        val_pass_rates=[],
        val_gaps=[],
    )
    write_meta(
        ctx.out_dir,
        child,
        {
            **info,
            "detail": detail,
            "diff": diff,
            "analysis": state.get("analysis", ""),
            "rationale": edit_out.get("rationale", "") if edit_out else "",
            "cost": cost_diff(state.get("cost"), state.get("cost_at_start")),
        },
    )
    variants[child] = info
    emit(runtime, event="meta_edit", child=child, prompt=name, outcome=outcome, detail=detail)
    return {"variants": variants, "child": child, "outcome": outcome, "outcome_detail": detail}


async def evaluate(state: EvalTask, runtime: Runtime[MetaContext], *, inner: InnerGraph) -> MetaState:
    """One variant on all validation documents through the ``inner`` graph (the parent and the child run as
    parallel branches)."""
    ctx = ctx_of(runtime)
    results = await run_variant(
        inner,
        ctx.val,
        ctx.inner_context(),
        str(variant_dir(ctx.out_dir, state["variant"])),
        state["variant"],
        ctx.concurrency,
    )
    m = metrics(results)
    result = EvalResult(
        iteration=state["iteration"],
        variant=state["variant"],
        role=state["role"],
        documents=m["documents"],
        accepted=m["accepted"],
        pass_rate=m["pass_rate"],
        mean_gap=m["mean_gap"],
        reasons=m["reasons"],
        cost=m["cost"],
    )
    emit(runtime, event="meta_eval", **{k: result[k] for k in ("variant", "role", "pass_rate")})
    return {"evals": [result], "cost": m["cost"]}


def record(state: MetaState, runtime: Runtime[MetaContext]) -> MetaState:
    ctx = ctx_of(runtime)
    iteration = state.get("iteration", 0) + 1
    variants = {k: v.copy() for k, v in state["variants"].items()}
    parent_id, child_id = state["parent"], state.get("child")
    parent = variants[parent_id]
    evals = {e["role"]: e for e in state.get("evals", []) if e["iteration"] == iteration}
    outcome = state.get("outcome", "invalid")
    detail = state.get("outcome_detail", "")
    child_eval, parent_eval = evals.get("child"), evals.get("parent")
    if parent_eval:
        parent["val_pass_rates"] = [*parent["val_pass_rates"], parent_eval["pass_rate"]]
        parent["val_gaps"] = [*parent["val_gaps"], parent_eval["mean_gap"]]
        update_meta(
            ctx.out_dir, parent_id, val_pass_rates=parent["val_pass_rates"], val_gaps=parent["val_gaps"]
        )
    if outcome == "pending" and child_eval and child_id:
        child = variants[child_id]
        child["val_pass_rates"] = [child_eval["pass_rate"]]
        child["val_gaps"] = [child_eval["mean_gap"]]
        outcome = "accepted" if is_better(child_eval, parent) else "rejected"
        child["status"] = outcome
    elif outcome == "pending":  # pragma: no cover - evaluation branches always report
        outcome, detail = "invalid", "no evaluation result"
        if child_id:
            variants[child_id]["status"] = outcome
    iteration_cost = cost_diff(state.get("cost"), state.get("cost_at_start"))
    if child_id:
        child = variants[child_id]
        meta = read_meta(ctx.out_dir, child_id)
        creation = meta.get("cost", add_costs(None, None))
        update_meta(
            ctx.out_dir,
            child_id,
            status=child["status"],
            val_pass_rates=child["val_pass_rates"],
            val_gaps=child["val_gaps"],
            evaluation=child_eval,
            cost=add_costs(creation, child_eval["cost"] if child_eval else None),
        )
    best = best_variant(variants)
    write_best(ctx.out_dir, best)
    row = {
        "iteration": iteration,
        "parent": parent_id,
        "child": child_id,
        "prompt": variants[child_id]["changed_prompt"] if child_id else None,
        "outcome": outcome,
        "detail": detail,
        "minibatch": state.get("minibatch", []),
        "minibatch_accepted": state.get("rollout", {}).get("accepted"),
        "parent_pass_rate": parent_eval["pass_rate"] if parent_eval else None,
        "parent_mean_pass_rate": round(score(parent), 4),
        "parent_gap": parent_eval["mean_gap"] if parent_eval else None,
        "child_pass_rate": child_eval["pass_rate"] if child_eval else None,
        "child_gap": child_eval["mean_gap"] if child_eval else None,
        "best": best,
        "best_pass_rate": round(score(variants[best]), 4),
        "seed_pass_rate": round(score(variants[SEED]), 4) if variants[SEED]["val_pass_rates"] else None,
        "cost": iteration_cost,
        "total_cost": add_costs(None, state.get("cost")),
    }
    append_iteration(ctx.out_dir, row)
    emit(runtime, event="meta_record", iteration=iteration, outcome=outcome, best=best)
    return {"variants": variants, "iteration": iteration, "outcome": outcome, "log": [row]}


def report(state: MetaState, runtime: Runtime[MetaContext]) -> MetaState:
    ctx = ctx_of(runtime)
    variants = state.get("variants", {})
    best = best_variant(variants) if variants else SEED
    write_best(ctx.out_dir, best)
    rows = read_iterations(ctx.out_dir)
    info = variants.get(best)
    best_score = score(info) if info and info.get("val_pass_rates") else None
    path = write_report(ctx.out_dir, rows, best, best_score)
    emit(runtime, event="meta_report", path=str(path), best=best)
    return {}
