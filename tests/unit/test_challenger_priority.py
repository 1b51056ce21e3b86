"""A unit whose rounds fail screening asks for its next challenger call behind units whose rounds reach the
solvers (nodes/routing.py: rounds_screened_out, autodata/llm/limits.py: the waiters' order)."""

from __future__ import annotations

import contextlib

from fakes import FakeRegistry
from hypothesis import given
from hypothesis import strategies as st
from scripts import VERIFIER_FAIL, VERIFIER_PASS, items
from test_graph import run, scripts

from autodata.nodes.routing import rounds_screened_out


def rnd(reason: str, solved: bool = False, counted: bool = True) -> dict:
    samples = [{"score": 0.0}] if solved else []
    return {"reason": reason, "counted": counted, "weak": samples, "strong": []}


def test_counts_the_last_rounds_that_ended_before_the_solvers():
    assert rounds_screened_out([]) == 0
    assert rounds_screened_out([rnd("quality"), rnd("repeat")]) == 2
    assert rounds_screened_out([rnd("quality"), rnd("too_easy", solved=True), rnd("grounding")]) == 1
    assert rounds_screened_out([rnd("quality"), rnd("too_easy", solved=True)]) == 0


def test_an_infrastructure_failure_says_nothing_about_the_unit():
    assert rounds_screened_out([rnd("quality"), rnd("infra", counted=False)]) == 1
    assert rounds_screened_out([rnd("too_easy", solved=True), rnd("infra", counted=False)]) == 0


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=12))
def test_a_round_that_reaches_the_solvers_resets_the_count(flags):
    rounds = [rnd("x", solved=solved, counted=counted) for solved, counted in flags]
    n = rounds_screened_out(rounds)
    assert 0 <= n <= sum(counted for _, counted in flags)
    assert rounds_screened_out([*rounds, rnd("too_easy", solved=True)]) == 0
    assert rounds_screened_out([*rounds, rnd("quality")]) == n + 1


class RecordingLimiter:
    def __init__(self):
        self.slots: list[tuple[str, int]] = []

    @contextlib.asynccontextmanager
    async def slot(self, role=None, defer=0):
        self.slots.append((role, defer))
        yield

    def record_tokens(self, tokens):
        pass


class LimitedRegistry(FakeRegistry):
    def __init__(self, scripts):
        super().__init__(scripts)
        self.recorder = RecordingLimiter()

    def limiter(self, role):
        return self.recorder


async def test_the_challenger_call_carries_how_many_rounds_were_screened_out():
    registry = LimitedRegistry(
        scripts(challenger=items(4), verifier=[VERIFIER_FAIL, VERIFIER_FAIL, VERIFIER_PASS])
    )
    out = await run(registry, max_rounds=4)
    assert [r["reason"] for r in out["rounds"]][:3] == ["quality", "quality", "accepted"]
    challengers = [defer for role, defer in registry.recorder.slots if role == "challenger"]
    assert challengers == [0, 1, 2]
    assert {defer for role, defer in registry.recorder.slots if role != "challenger"} == {0}
