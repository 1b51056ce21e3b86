"""Baseline: CoT Self-Instruct for one document, a single pass with no solver feedback loop.

    prepare -> cot_challenger -> verifier -> weak_solver -> judge -> strong_solver -> judge -> score

The challenger reasons about the source (and optional seed examples) and writes the item, its answer and
rubric in one reply; the same quality screening as the agentic method follows (format rules, leakage check,
LLM verifier: ``nodes/verifier.py``), then - only so that records are comparable - the same weak and strong
solving and judging, once. ``score`` records the pass: *accepted* here means the item passed the final
quality filter (see ``nodes/cot_score.py``); its scores are kept. Same input and context schema as the
inner graph, so the Runner runs it unchanged: ``Runner(..., graph_builder=build_graph)``.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from autodata.core.context import RunContext
from autodata.core.state import SelfInstructInput, SelfInstructState
from autodata.graphs.inline import on_loop
from autodata.nodes.cot_challenger import cot_challenger
from autodata.nodes.cot_score import after_judge, after_verifier, score
from autodata.nodes.judge import judge
from autodata.nodes.prepare import prepare
from autodata.nodes.solvers import strong_solver, weak_solver
from autodata.nodes.verifier import verifier


def build_builder() -> StateGraph[SelfInstructState, RunContext, SelfInstructInput, SelfInstructState]:
    builder = StateGraph(SelfInstructState, context_schema=RunContext, input_schema=SelfInstructInput)
    builder.add_node("prepare", on_loop(prepare))
    builder.add_node("cot_challenger", cot_challenger)
    builder.add_node("verifier", verifier)
    builder.add_node("weak_solver", weak_solver)
    builder.add_node("strong_solver", strong_solver)
    builder.add_node("judge", judge)
    builder.add_node("score", on_loop(score))

    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "cot_challenger")
    builder.add_edge("cot_challenger", "verifier")
    builder.add_conditional_edges("verifier", on_loop(after_verifier), ["weak_solver", "score"])
    builder.add_edge("weak_solver", "judge")
    builder.add_conditional_edges("judge", on_loop(after_judge), ["strong_solver", "score"])
    builder.add_edge("strong_solver", "judge")
    builder.add_edge("score", END)
    return builder


def build_graph(
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[SelfInstructState, RunContext, SelfInstructInput, SelfInstructState]:
    return build_builder().compile(checkpointer=checkpointer, name="cot_self_instruct")


graph = build_graph()
