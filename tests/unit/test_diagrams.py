from pathlib import Path

from autodata.cli.diagrams import GRAPHS, ROOT, mermaid, render_readme


def test_readme_and_docs_diagrams_are_current():
    """Run `autodata diagrams` when this fails."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render_readme(readme) == readme
    for name in GRAPHS:
        assert (Path(ROOT) / "docs" / f"{name}.mmd").read_text(encoding="utf-8") == mermaid(name)


def test_inner_graph_has_one_node_per_subagent():
    text = mermaid("self_instruct")
    for node in ("challenger", "verifier", "weak_solver", "strong_solver", "judge", "decide", "feedback"):
        assert f"\t{node}(" in text
    assert "feedback -.-> challenger" in text  # retry-with-feedback is a conditional edge
