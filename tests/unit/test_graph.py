"""The inner loop with scripted fake models keyed by role."""

from __future__ import annotations

import pytest
from fakes import FakeRegistry, server_error
from langgraph.checkpoint.memory import InMemorySaver
from scripts import EVIDENCE, RIGHT, VERIFIER_FAIL, VERIFIER_PASS, WRONG, item, items, rubric_judge

from autodata.core.context import RunContext
from autodata.graphs.self_instruct import build_graph

DOC = "LRU caches evict the least recently used key when they are full. " + EVIDENCE


async def run(registry, document=DOC, **ctx):
    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    context = RunContext(models=registry, **{"samples": 2, "max_rounds": 3, **ctx})
    await graph.ainvoke({"document": document, "source": "doc.md"}, config, context=context)
    return (await graph.aget_state(config)).values


def scripts(**over):
    base = {
        "challenger": [item()],
        "verifier": [VERIFIER_PASS],
        "weak_solver": [WRONG],
        "strong_solver": [RIGHT],
        "judge": [rubric_judge()],
        "orchestrator": ["Target a longer access sequence."],
    }
    base.update(over)
    return base


async def test_accepted_in_round_one():
    registry = FakeRegistry(scripts())
    out = await run(registry)
    assert out["status"] == "accepted"
    acc = out["accepted"]
    assert acc["rounds"] == 1
    assert acc["weak_scores"] == [0.0, 0.0] and acc["strong_scores"] == [1.0, 1.0]
    assert acc["gap"] == 1.0
    assert [c["id"] for c in acc["rubric"]] == [1, 2, 3]
    assert len(registry.prompts("weak_solver")) == 2 and len(registry.prompts("strong_solver")) == 2
    assert "orchestrator" not in {c["role"] for c in out["calls"]}


async def test_too_easy_then_feedback_then_accepted_in_round_two():
    first = item(question="Holding X and Y with X touched last, what leaves when Z arrives?")
    second = item()
    registry = FakeRegistry(scripts(challenger=[first, second], weak_solver=[RIGHT, RIGHT, WRONG, WRONG]))
    out = await run(registry)
    assert out["status"] == "accepted"
    assert out["accepted"]["rounds"] == 2
    assert [r["reason"] for r in out["rounds"]] == ["too_easy", "accepted"]
    # the strong solver was skipped in round 1 (weak gate) and ran only in round 2
    assert len(registry.prompts("strong_solver")) == 2
    round_two_prompt = registry.prompts("challenger")[1]
    assert first["question"] in round_two_prompt
    assert "TOO EASY" in round_two_prompt and "weak mean 1.00" in round_two_prompt
    assert "Target a longer access sequence." in round_two_prompt  # orchestrator advice reaches it
    assert first["question"] not in registry.prompts("challenger")[0]


async def test_strong_solver_failure_is_rejected_and_reported():
    registry = FakeRegistry(scripts(challenger=items(2), strong_solver=[WRONG]))
    out = await run(registry, max_rounds=2)
    assert out["status"] == "exhausted"
    assert [r["reason"] for r in out["rounds"]] == ["strong_failed", "strong_failed"]
    assert "FAILED ON STRONG" in registry.prompts("challenger")[1]
    assert "accepted" not in out or not out.get("accepted")


async def test_quality_failure_skips_solving():
    registry = FakeRegistry(scripts(challenger=items(2), verifier=[VERIFIER_FAIL]))
    out = await run(registry, max_rounds=2)
    assert out["status"] == "exhausted"
    assert [r["reason"] for r in out["rounds"]] == ["quality", "quality"]
    assert registry.prompts("weak_solver") == []
    assert "FAILED QUALITY CHECK" in registry.prompts("challenger")[1]
    assert "answerable by recall" in registry.prompts("challenger")[1]


async def test_coded_rules_run_before_the_llm_verifier():
    answer = "The least recently used key B is evicted to make room for C."
    leaky = item(
        answer=answer, context="An LRU cache of size two sees A, B, A, C. " + answer + " " + item()["context"]
    )
    registry = FakeRegistry(scripts(challenger=[item(question="What is LRU? And why?"), leaky]))
    out = await run(registry, max_rounds=2)
    assert [r["reason"] for r in out["rounds"]] == ["format", "leakage"]
    assert registry.prompts("verifier") == []  # never paid for the LLM verifier


async def test_round_cap_rejects_document():
    registry = FakeRegistry(scripts(weak_solver=[RIGHT]))
    out = await run(registry, max_rounds=3)
    assert out["status"] == "exhausted"
    assert [r["round"] for r in out["rounds"]] == [1, 2, 3]
    assert len(registry.prompts("challenger")) == 3


async def test_malformed_structured_output_is_retried_then_a_failed_call():
    registry = FakeRegistry(scripts(judge=["not json at all"]))
    out = await run(registry, max_rounds=2, max_failed_attempts=2)
    judge_calls = [c for c in out["calls"] if c["role"] == "judge"]
    assert judge_calls and all(not c["ok"] for c in judge_calls)
    assert all(c["attempts"] == 3 for c in judge_calls)  # 1 try + 2 retries with the parse error fed back
    assert "malformed output" in judge_calls[0]["error"]
    assert out["status"] == "failed"  # never a crash, never a pass
    assert not out.get("accepted")
    assert all(not r["counted"] and r["reason"] == "call_failed" for r in out["rounds"])
    retries = [p for p in registry.prompts("judge") if "That reply was not valid" in p]
    assert len(retries) == 2 * len(judge_calls)


async def test_malformed_then_valid_reply_recovers():
    judge = rubric_judge()
    registry = FakeRegistry(scripts(judge=["{broken", judge]))
    out = await run(registry)
    assert out["status"] == "accepted"
    assert out["calls"][-1]["ok"]


async def test_transient_server_error_is_retried():
    registry = FakeRegistry(
        scripts(challenger=[server_error(), item()], strong_solver=[server_error(), RIGHT])
    )
    out = await run(registry)
    assert out["status"] == "accepted"
    challenger_call = next(c for c in out["calls"] if c["role"] == "challenger")
    assert challenger_call["ok"] and challenger_call["attempts"] == 2
    assert len(out["rounds"]) == 1  # an infrastructure retry does not count as a round


async def test_persistent_server_error_is_a_failed_call_not_a_round():
    registry = FakeRegistry(scripts(challenger=[server_error()]))
    out = await run(registry, max_failed_attempts=2)
    assert out["status"] == "failed"
    assert all(r["reason"] == "call_failed" and not r["counted"] for r in out["rounds"])
    assert all(c["attempts"] == 3 for c in out["calls"])  # 1 + max_retries


async def test_parallel_candidates_first_passing_one_is_solved():
    bad = item(question="What is LRU? And why?")
    registry = FakeRegistry(scripts(challenger=[bad, item()]))
    out = await run(registry, candidates=2)
    assert out["status"] == "accepted"
    assert len(registry.prompts("challenger")) == 2
    screenings = out["rounds"][0]["screenings"]
    assert sorted(s["reason"] for s in screenings) == ["format", "passed"]


async def test_judge_scores_unknown_criteria_as_unmet_and_recomputes_total():
    def judge(messages):
        graded = str(messages[-1].content).split("# Answer to grade")[-1]
        if "Key B is evicted" in graded or "I don't know" in graded:
            return rubric_judge()(messages)  # the judge check: full marks for the reference, none for null
        return {
            "scores": [{"criterion_id": 1, "verdict": "met"}, {"criterion_id": 9, "verdict": "met"}],
            "failure_modes": "partial",
        }

    registry = FakeRegistry(scripts(judge=[judge]))
    out = await run(registry, max_rounds=1)
    weak = out["rounds"][0]["weak"]
    assert [s["score"] for s in weak] == [0.5, 0.5]  # 3 of 6 positive points; id 9 ignored
    assert out["rounds"][0]["reason"] == "too_easy"


@pytest.mark.parametrize(
    ("weak", "expected"), [("Final answer: 2^{n+1} - 1", "too_easy"), ("Final answer: 2^n", "accepted")]
)
async def test_verifiable_mode_grades_in_code(weak, expected):
    math_item = item(
        question="For a(0)=1 and a(n)=2a(n-1)+1, what is a(n) in closed form?",
        answer="2^{n+1} - 1",
        rubric=[],
    )
    registry = FakeRegistry(
        scripts(
            challenger=[math_item],
            weak_solver=[weak],
            strong_solver=["Final answer: 2 \\cdot 2^n - 1"],
            judge=[],
        )
    )
    out = await run(registry, mode="verifiable", max_rounds=1)
    assert out["rounds"][0]["reason"] == expected
    assert "judge" not in {c["role"] for c in out["calls"]}  # decided by math-verify, no LLM


async def test_review_interrupts_before_accepting_and_resumes_with_a_decision():
    from langgraph.types import Command

    for accept, status in ((True, "accepted"), (False, "running")):
        registry = FakeRegistry(scripts())
        graph = build_graph(InMemorySaver())
        config = {"configurable": {"thread_id": f"review-{accept}"}}
        context = RunContext(models=registry, samples=2, max_rounds=1 if accept else 2, review=True)
        await graph.ainvoke({"document": DOC, "source": "doc.md"}, config, context=context)
        snapshot = await graph.aget_state(config)
        assert snapshot.next == ("decide",)
        (pending,) = snapshot.tasks[0].interrupts
        assert pending.value["question"] == item()["question"] and pending.value["strong_scores"] == [
            1.0,
            1.0,
        ]
        if accept:
            await graph.ainvoke(Command(resume={"accept": True}), config, context=context)
            out = (await graph.aget_state(config)).values
            assert out["status"] == status and out["accepted"]["question"] == item()["question"]
        else:
            await graph.ainvoke(
                Command(resume={"accept": False, "reason": "ambiguous"}), config, context=context
            )
            out = (await graph.aget_state(config)).values
            assert out["rounds"][0]["reason"] == "human_rejected"
            assert "ambiguous" in out["rounds"][0]["detail"]


async def test_solvers_use_n_where_the_endpoint_supports_it():
    from fakes import ScriptedChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class NChoices(ScriptedChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            n = kwargs.get("n", 1)
            self.seen.append(list(messages))
            usage = {"input_tokens": 10, "output_tokens": 5 * n, "total_tokens": 10 + 5 * n}
            gens = [
                ChatGeneration(message=AIMessage(content=RIGHT, usage_metadata=usage if i == 0 else None))
                for i in range(n)
            ]
            return ChatResult(generations=gens)

    registry = FakeRegistry(scripts())
    registry.models["strong_solver"] = NChoices(script=[RIGHT], seen=[])
    registry._settings["strong_solver"] = registry._settings["strong_solver"].model_copy(
        update={"supports_n": True}
    )
    out = await run(registry, samples=3)
    assert out["status"] == "accepted" and out["accepted"]["strong_scores"] == [1.0, 1.0, 1.0]
    strong_calls = [c for c in out["calls"] if c["role"] == "strong_solver"]
    assert len(strong_calls) == 1 and strong_calls[0]["output_tokens"] == 15  # one request, three answers
    assert len(registry.models["strong_solver"].seen) == 1
    assert len(registry.prompts("weak_solver")) == 3  # no n support: three requests


async def test_n_request_topped_up_when_the_endpoint_drops_choices():
    registry = FakeRegistry(scripts())  # ScriptedChatModel ignores n: one choice per request
    registry._settings["strong_solver"] = registry._settings["strong_solver"].model_copy(
        update={"supports_n": True}
    )
    out = await run(registry, samples=2)
    assert out["accepted"]["strong_scores"] == [1.0, 1.0]
    assert len(registry.prompts("strong_solver")) == 2


async def test_rejected_candidates_keep_their_question_for_feedback_and_records():
    registry = FakeRegistry(scripts(challenger=[item(question="What is LRU? And why?"), item()]))
    out = await run(registry, max_rounds=2)
    first = out["rounds"][0]
    assert first["reason"] == "format" and first["item"]["question"] == "What is LRU? And why?"
    assert "What is LRU? And why?" in registry.prompts("challenger")[1]
