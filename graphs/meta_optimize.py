"""The outer loop: meta-optimisation of the editable prompts over a population of variants.

    init -> select_parent (Boltzmann over validation scores) -> rollout (parent on a training minibatch)
         -> analyze (root-cause analysis) -> edit (one prompt rewritten) -> guard (guardrails, duplicates)
         -> evaluate(parent) || evaluate(child) (parallel Send branches on the validation documents)
         -> record (keep the child only if strictly better) -> select_parent ... -> report

``graph`` is compiled without a checkpointer (for ``langgraph dev`` / Studio); ``autodata optimize``
compiles it with a SQLite saver under the run directory through :func:`build_graph`, so a run resumes.
"""

from __future__ import annotations

from functools import partial

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from autodata.core.meta_state import EvalTask, MetaContext, MetaInput, MetaState
from autodata.graphs.self_instruct import build_graph as build_inner_graph
from autodata.nodes.meta_nodes import (
    analyze,
    edit,
    evaluate,
    guard,
    init,
    record,
    report,
    rollout,
    select_parent,
)
from autodata.nodes.meta_routing import after_guard, should_continue


def build_builder() -> StateGraph[MetaState, MetaContext, MetaInput, MetaState]:
    # the variants run through the inner graph without a checkpointer: an inner run is short, and it must not
    # write into the outer graph's checkpoints (the outer node that calls it is the unit of resumption)
    inner = build_inner_graph(checkpointer=False)
    builder = StateGraph(MetaState, context_schema=MetaContext, input_schema=MetaInput)
    builder.add_node("init", init)
    builder.add_node("select_parent", select_parent)
    builder.add_node("rollout", partial(rollout, inner=inner))
    builder.add_node("analyze", analyze)
    builder.add_node("edit", edit)
    builder.add_node("guard", guard)
    builder.add_node("evaluate", partial(evaluate, inner=inner), input_schema=EvalTask)
    builder.add_node("record", record)
    builder.add_node("report", report)

    builder.add_edge(START, "init")
    builder.add_conditional_edges("init", should_continue, ["select_parent", "report"])
    builder.add_edge("select_parent", "rollout")
    builder.add_edge("rollout", "analyze")
    builder.add_edge("analyze", "edit")
    builder.add_edge("edit", "guard")
    builder.add_conditional_edges("guard", after_guard, ["evaluate", "record"])
    builder.add_edge("evaluate", "record")
    builder.add_conditional_edges("record", should_continue, ["select_parent", "report"])
    builder.add_edge("report", END)
    return builder


def build_graph(
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[MetaState, MetaContext, MetaInput, MetaState]:
    return build_builder().compile(checkpointer=checkpointer, name="meta_optimize")


graph = build_graph()
