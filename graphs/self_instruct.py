"""The inner loop for one document: Agentic Self-Instruct as a LangGraph state machine.

    prepare -> challenger (x n, parallel) -> verifier -> judge_check (rubric items) -> weak_solver -> judge
            -> strong_solver -> judge -> decide -> feedback -> challenger ... (until accepted, the round cap,
            or failed calls)

Plain node and routing functions are wrapped with ``on_loop`` (graphs/inline.py): LangGraph would
run each of their calls in a thread pool. ``graph`` is compiled without a checkpointer (for ``langgraph dev``
/ Studio); the CLI compiles with a SQLite saver through :func:`build_graph`.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from autodata.core.context import RunContext
from autodata.core.state import ChallengerTask, SelfInstructInput, SelfInstructState
from autodata.graphs.inline import on_loop
from autodata.nodes.challenger import challenger
from autodata.nodes.decide import decide
from autodata.nodes.feedback import feedback
from autodata.nodes.judge import judge
from autodata.nodes.judge_check import judge_check
from autodata.nodes.prepare import prepare
from autodata.nodes.routing import (
    after_decide,
    after_judge,
    after_judge_check,
    after_verifier,
    dispatch_challengers,
)
from autodata.nodes.solvers import strong_solver, weak_solver
from autodata.nodes.verifier import verifier


def build_builder() -> StateGraph[SelfInstructState, RunContext, SelfInstructInput, SelfInstructState]:
    builder = StateGraph(SelfInstructState, context_schema=RunContext, input_schema=SelfInstructInput)
    builder.add_node("prepare", on_loop(prepare))
    builder.add_node("challenger", challenger, input_schema=ChallengerTask)
    builder.add_node("verifier", verifier)
    builder.add_node("judge_check", judge_check)
    builder.add_node("weak_solver", weak_solver)
    builder.add_node("strong_solver", strong_solver)
    builder.add_node("judge", judge)
    builder.add_node("decide", on_loop(decide))
    builder.add_node("feedback", feedback)

    dispatch = on_loop(dispatch_challengers)
    builder.add_edge(START, "prepare")
    builder.add_conditional_edges("prepare", dispatch, ["challenger"])
    builder.add_edge("challenger", "verifier")
    builder.add_conditional_edges(
        "verifier", on_loop(after_verifier), ["judge_check", "weak_solver", "decide"]
    )
    builder.add_conditional_edges("judge_check", on_loop(after_judge_check), ["weak_solver", "decide"])
    builder.add_edge("weak_solver", "judge")
    builder.add_conditional_edges("judge", on_loop(after_judge), ["weak_solver", "strong_solver", "decide"])
    builder.add_edge("strong_solver", "judge")
    builder.add_conditional_edges("decide", on_loop(after_decide), ["feedback", END])
    builder.add_conditional_edges("feedback", dispatch, ["challenger"])
    return builder


def build_graph(
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[SelfInstructState, RunContext, SelfInstructInput, SelfInstructState]:
    return build_builder().compile(checkpointer=checkpointer, name="self_instruct")


graph = build_graph()
