"""Data analysis: a two-phase LLM taxonomy of a run's accepted items (README.md, "Evaluating and comparing").

    load -> discover (per chunk of a gap-stratified sample, parallel) -> consolidate (<= max_types types,
    reasoning / knowledge / mixed) -> assign (every item to exactly one type, batches in parallel)
    -> summarize (distribution, per-item assignment, parse failures)

Input ``{"run_dir": DIR}`` (or ``{"items": [...accepted records]}``); the result is ``state["taxonomy"]``,
which ``autodata taxonomy DIR`` writes to ``DIR/taxonomy.json``. Nodes: ``nodes/taxonomy.py``.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from autodata.nodes.taxonomy import (
    TaxonomyContext,
    TaxonomyInput,
    TaxonomyState,
    assign,
    consolidate,
    discover,
    load,
    route_assign,
    route_discover,
    summarize,
)


def build_builder() -> StateGraph[TaxonomyState, TaxonomyContext, TaxonomyInput, TaxonomyState]:
    builder = StateGraph(TaxonomyState, context_schema=TaxonomyContext, input_schema=TaxonomyInput)
    builder.add_node("load", load)
    builder.add_node("discover", discover)
    builder.add_node("consolidate", consolidate)
    builder.add_node("assign", assign)
    builder.add_node("summarize", summarize)

    builder.add_edge(START, "load")
    builder.add_conditional_edges("load", route_discover, ["discover", "summarize"])
    builder.add_edge("discover", "consolidate")
    builder.add_conditional_edges("consolidate", route_assign, ["assign", "summarize"])
    builder.add_edge("assign", "summarize")
    builder.add_edge("summarize", END)
    return builder


def build_graph(
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[TaxonomyState, TaxonomyContext, TaxonomyInput, TaxonomyState]:
    return build_builder().compile(checkpointer=checkpointer, name="taxonomy")


graph = build_graph()
