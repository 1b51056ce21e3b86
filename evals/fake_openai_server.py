"""A fake OpenAI-compatible chat server whose replies pass the real pipeline (tests, fault tests, benchmarks).

The reply depends on the requested model name ``fake-<role>`` (``fake-challenger``, ``fake-verifier``,
``fake-weak_solver``, ``fake-strong_solver``, ``fake-judge``, ``fake-orchestrator``):

- challenger: one item from a small bank (rubric or verifiable, read from the requested JSON schema or,
  without one, from the prompt) that passes the coded format rules and the leakage check;
- verifier: every check PASS;
- weak solver: a wrong answer ending in ``Final answer: ...`` (right with ``weak_right_rate``);
- strong solver: the right answer;
- judge: per-criterion verdicts (or an equivalence verdict) consistent with whether the graded answer's final
  line matches the reference answer in the prompt;
- orchestrator: short advice.

Structured output works with every method of ``autodata.core.config.StructuredMethod``: the JSON comes back as
the message content (``response_format`` json_schema / json_object, in the body or in ``extra_body``) or as a
tool
call (``tools``). ``stream: true`` is answered with server-sent events (with a usage chunk when
``stream_options.include_usage`` is set, as OpenAI does; otherwise the usage rides on the chunk that carries
``finish_reason``, as vLLM and llama.cpp can do). Every reply carries ``usage`` (about 4 characters a token).

Knobs, for fault tests and throughput benchmarks: ``latency`` (seconds slept per request, with asyncio, so
requests overlap), ``max_parallel`` (requests served at once; the rest queue), ``fail_rate`` with ``seed``
(inject HTTP 500, HTTP 429 with ``Retry-After``, malformed JSON, or JSON truncated at ``finish_reason:
length``). Whether a request fails is a pure function of the seed, the request (model + messages) and how
many times that same request was seen before, so a run is reproducible whatever order parallel requests
arrive in, and a retried request gets a fresh draw.

Run it::

    python -m autodata.evals.fake_openai_server --port 8765 [--latency 0.2] [--max-parallel 4]
        [--fail-rate 0.2 --seed 1]
    autodata generate examples/ --out runs/fake --config tests/fake_models.toml
    # another port: --set all.base_url=http://127.0.0.1:PORT/v1

In process::

    with serve_in_thread(FakeOpenAIServer(latency=0.05)) as base_url:  # an ephemeral port
        ...

``GET /stats`` (not part of the OpenAI API) reports requests per role, injected faults and the peak number of
requests in flight; ``POST /stats/reset`` clears it (and the fault draws).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from autodata.core.config import ROLES
from autodata.rules.equivalence import answers_equivalent, extract_final_answer
from autodata.rules.grounding import check_type_label, source_sentences
from autodata.rules.leakage import check_leakage

MODEL_PREFIX = "fake-"
FAULTS = ("500", "429", "malformed", "truncated")
"""Injected faults: HTTP 500; HTTP 429 with ``Retry-After``; a reply whose JSON is malformed (for free-text
roles: garbled text without a final answer); a reply cut in the middle with ``finish_reason: length``.
``bad_body`` (an HTTP 200 whose body is not JSON) can be requested explicitly."""
ALL_FAULTS = (*FAULTS, "bad_body")


@dataclass(frozen=True)
class BankItem:
    item: dict[str, Any]
    right: str
    """The strong solver's final answer (equivalent to the reference answer)."""
    wrong: str
    """The weak solver's final answer."""
    reasoning: str


RUBRIC_BANK = (
    BankItem(
        item={
            "question_type": "procedural simulation",
            "skills": ["state tracking", "rule application"],
            "context": (
                "A cache keeps recently used values so that repeated lookups avoid the slow backing store. "
                "When the cache is full, inserting a new key evicts the least recently used key to make "
                "room for it."
            ),
            "question": "Which key does a full LRU cache of size two evict when it sees A, B, A, C?",
            "answer": "Key B is evicted.",
            "rubric": [
                {"description": "Names key B as the evicted key", "points": 3},
                {"description": "Notes that A was used more recently than B", "points": 2},
                {"description": "Says C is inserted", "points": 1},
            ],
        },
        right="Key B is evicted.",
        wrong="Key A is evicted.",
        reasoning="After A, B, A the cache holds A and B, and A was used last, so B is least recent.",
    ),
    BankItem(
        item={
            "question_type": "statutory application",
            "skills": ["rule application", "date arithmetic"],
            "context": (
                "In a periodic tenancy with monthly rental periods that run from the first to the last day "
                "of each calendar month, a tenant's written notice must be at least one full rental period "
                "long and must end on the last day of a rental period."
            ),
            "question": "If a monthly tenant gives written notice on 10 March, on which day does the tenancy "
            "end?",
            "answer": "The tenancy ends on 30 April.",
            "rubric": [
                {"description": "Requires a full rental period of notice after 10 March", "points": 3},
                {"description": "Ends the tenancy on the last day of a rental period", "points": 2},
                {"description": "Names 30 April as the end date", "points": 3},
            ],
        },
        right="The tenancy ends on 30 April.",
        wrong="The tenancy ends on 10 April.",
        reasoning="March is already running, so the first full period is April, which ends on 30 April.",
    ),
)

VERIFIABLE_BANK = (
    BankItem(
        item={
            "question_type": "recurrence solving",
            "skills": ["pattern generalisation", "algebraic manipulation"],
            "context": (
                "A sequence starts with a(0) = 1, and every later term is twice the previous term plus one, "
                "so a(1) = 3 and a(2) = 7. Recurrences of this kind can be solved by shifting the sequence "
                "by a suitable constant."
            ),
            "question": "What is a closed form for a(n) that holds for every n >= 0?",
            "answer": "a(n) = 2^(n+1) - 1",
        },
        right="a(n) = 2^(n+1) - 1",
        wrong="a(n) = 2^n + 1",
        reasoning="Adding one to every term doubles it each step, so a(n) + 1 = 2^(n+1).",
    ),
    BankItem(
        item={
            "question_type": "recurrence solving",
            "skills": ["characteristic equation", "solving linear systems"],
            "context": (
                "A sequence satisfies a(n) = 5 a(n-1) - 6 a(n-2) for n >= 2, with the initial values "
                "a(0) = 2 and a(1) = 5. Its characteristic equation has two distinct roots, and the general "
                "solution is a combination of their powers."
            ),
            "question": "What is the closed form of a(n) for every n >= 0?",
            "answer": "a(n) = 2^n + 3^n",
        },
        right="a(n) = 2^n + 3^n",
        wrong="a(n) = 3^n + 1",
        reasoning="The roots are 2 and 3; A + B = 2 and 2A + 3B = 5 give A = B = 1.",
    ),
)

BANK = {item.item["question"]: item for item in (*RUBRIC_BANK, *VERIFIABLE_BANK)}

VERIFIER_PASS = {"self_contained": "YES", "answer_correct": "YES", "problem": ""}
ADVICE = (
    "Target a longer chain of reasoning from a different part of the source; keep the context free of the "
    "answer and ask exactly one thing."
)


# ---------------------------------------------------------------------------------------------- replies


def role_of(model: str) -> str | None:
    role = model.removeprefix(MODEL_PREFIX) if model.startswith(MODEL_PREFIX) else None
    return role if role in ROLES else None


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def messages_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(_content_text(m.get("content")) for m in messages)


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the request asks for (``response_format`` or the forced tool), if any."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema") or {}
    if fmt.get("type") == "json_object":
        return fmt.get("schema") or {}
    tools = body.get("tools") or []
    if tools:
        return (tools[0].get("function") or {}).get("parameters") or {}
    return None


def section(text: str, title: str) -> str:
    """The body of a ``# Title`` section of a prompt (up to the next ``# `` heading)."""
    match = re.search(rf"^# {re.escape(title)}[^\n]*\n(.*?)(?=^# |\Z)", text, re.DOTALL | re.MULTILINE)
    body = match.group(1) if match else ""
    return re.sub(r"^\s*</?(answer|source|item)>\s*$", "", body, flags=re.MULTILINE).strip()  # fences


def _pick(bank: tuple[BankItem, ...], key: str) -> BankItem:
    return bank[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(bank)]


def _closest(bank: tuple[BankItem, ...], text: str) -> BankItem:
    """The bank item sharing most words with ``text`` (the passage a challenger was given): a sensible
    challenger writes about what it read; ties are broken by a stable hash of the text."""
    words = set(re.findall(r"[a-z]{4,}", text.lower()))

    def shared(b: BankItem) -> int:
        return len(words & set(re.findall(r"[a-z]{4,}", f"{b.item['context']} {b.item['question']}".lower())))

    best = max(shared(b) for b in bank)
    return _pick(tuple(b for b in bank if shared(b) == best), text)


def source_evidence(text: str) -> str:
    """The first sentence of the prompt's ``<source>`` (what a grounded challenger quotes), or ''."""
    match = re.search(r"^<source>\n(.*?)\n</source>$", text, re.DOTALL | re.MULTILINE)
    if not match:
        return ""
    body = re.sub(r"^---.*?---\s*", "", match.group(1), flags=re.DOTALL)  # front matter
    body = re.sub(r"^#.*$", "", body, flags=re.MULTILINE)  # headings
    return next((s for s in source_sentences(body) if len(s.split()) >= 6), "")


WITHHELD: dict[str, str] = {}
"""Question -> result of the withheld-result items this process wrote (the strong solver finds them again)."""


def withheld_reply(passage: str, result: str) -> dict[str, Any]:
    """The question a sensible challenger writes for the passage's ``result``: it names what comes before."""
    lead = " ".join(passage[: max(0, passage.find(result))].split()[-8:]).rstrip(" ,;:")
    question = f"Working from the facts given, what follows after {lead}?"
    WITHHELD[question] = result
    return {"question": question, "question_type": "derivation"}


def challenger_reply(text: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    props = (schema or {}).get("properties") or {}
    wanted = re.search(r"^<answer>\n(.*?)\n</answer>$", text, re.DOTALL | re.MULTILINE)
    if wanted and "solution" not in props and "evidence" not in props:  # a withheld-result prompt
        block = re.search(r"^<source>\n(.*?)\n</source>$", text, re.DOTALL | re.MULTILINE)
        result = wanted.group(1).strip()
        reply = withheld_reply(" ".join((block.group(1) if block else text).split()), result)
        if "rubric" in props:
            reply["rubric"] = [
                {"description": f"Gives the result: {result}", "points": 3},
                {"description": "Reaches it from the facts given, not by guessing", "points": 2},
            ]
        return reply
    rubric = "rubric" in props if props else bool(re.search(r"\brubric\b", text))
    block = re.search(r"^<source>\n(.*?)\n</source>$", text, re.DOTALL | re.MULTILINE)
    user = block.group(1) if block else text  # the text, not its path: picks are stable
    evidence = source_evidence(text)
    bank = RUBRIC_BANK if rubric else VERIFIABLE_BANK
    if evidence:  # an item whose type label fits the source's domain, as a sensible challenger writes
        bank = tuple(b for b in bank if check_type_label(b.item["question_type"], user).passed) or bank
        # nor one whose answer the passage already states
        bank = (
            tuple(b for b in bank if not check_leakage(b.item["answer"], user, b.item["question"]).leaked)
            or bank
        )
    picked = _closest(bank, user)
    chosen = dict(picked.item)
    if "program" in props:  # a case item whose answer its program prints: the passage's sentence it applies
        # and the reasoning in its code (autodata/rules/grounding.py check_case_uses_passage), then the answer
        comment = " ".join(f"{evidence} {picked.reasoning}".split())
        bracketed = f"[{chosen['answer']}]"  # a fixed text is not an answer (prints_fixed_text): unwrap one
        chosen["program"] = f"rule = {comment!r}\nprint({bracketed!r}[1:-1])"
        return {k: v for k, v in chosen.items() if k not in ("evidence", "answer", "skills")}
    if "solution" in props:  # a case item: the case apart from the passage, and a solution that names the
        # passage's sentence it applies (code checks it does: autodata/rules/grounding.py
        # check_case_uses_passage)
        chosen["solution"] = f"{evidence} {picked.reasoning}".strip()
        return {k: v for k, v in chosen.items() if k != "evidence"}
    if evidence:  # grounded: quote the source and carry it in the context
        chosen["evidence"] = [evidence]
        chosen["context"] = f"{evidence.rstrip('.!?')}. {chosen['context']}"
    else:  # a prompt without a <source> block: quote the item's own context
        chosen["evidence"] = [chosen["context"].split(". ")[0] + "."]
    reasoning = {"reasoning": chosen_reasoning(chosen)} if "reasoning" in props else {}
    return {**reasoning, "evidence": chosen.pop("evidence"), **chosen}


def chosen_reasoning(item: dict[str, Any]) -> str:
    """What a CoT challenger writes first (the baseline's schema asks for it)."""
    return (
        f"The source states: {item['evidence'][0]} A question of type {item['question_type']} can build "
        "on it without stating the answer."
    )


def verifier_reply(text: str) -> dict[str, Any]:
    """A pass; the item's question and reference answer are noted, so that the strong solver also finds the
    result of a withheld item whose question code wrote (no challenger call saw it)."""
    item = section(text, "Item")
    question = re.search(r"^question: (.*)$", item, re.MULTILINE)
    answer = re.search(r"^reference answer: (.*)$", item, re.MULTILINE)
    if question and answer and (asked := question.group(1).strip()) not in BANK:
        WITHHELD.setdefault(asked, answer.group(1).strip())
    return dict(VERIFIER_PASS)


def solver_reply(text: str, strong: bool) -> str:
    question = section(text, "Question")
    known = BANK.get(question)
    if known is None and question in WITHHELD:
        if strong:
            return f"The facts given lead to the result.\nFinal answer: {WITHHELD[question]}"
        return "The pattern suggests the simplest option.\nFinal answer: unknown"
    if known is None:
        return "I could not work this out from the context.\nFinal answer: unknown"
    if strong:
        return f"{known.reasoning}\nFinal answer: {known.right}"
    return f"The pattern suggests the simplest option.\nFinal answer: {known.wrong}"


def _is_right(reference: str, response: str) -> bool:
    final = extract_final_answer(response) if response.strip() else ""
    return bool(final) and answers_equivalent(reference, final) is True


TAXONOMY_TYPES = (
    {"name": "procedural simulation", "definition": "Trace a process step by step.", "category": "reasoning"},
    {"name": "closed-form derivation", "definition": "Derive an exact expression.", "category": "reasoning"},
    {"name": "rule application", "definition": "Apply a stated rule to a case.", "category": "mixed"},
)


def taxonomy_reply(text: str, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """Replies to ``autodata taxonomy`` prompts (discover, consolidate, assign), or None for other prompts."""
    props = (schema or {}).get("properties") or {}
    if "assignments" in props or "classify question/answer items" in text:
        names = re.findall(
            r"^- (.+?) \((?:reasoning|knowledge|mixed)\):", section(text, "Types"), re.MULTILINE
        )
        numbers = re.findall(r"^(\d+)\. ", section(text, "Items"), re.MULTILINE)
        return {"assignments": [{"item": int(n), "type": _pick(tuple(names), n)} for n in numbers if names]}
    if "consolidate proposed question types" in text:
        return {"types": list(TAXONOMY_TYPES)}
    if "discover what kinds of questions" in text:
        return {"types": [{"name": t["name"], "definition": t["definition"]} for t in TAXONOMY_TYPES]}
    return None


def judge_reply(text: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    taxonomy = taxonomy_reply(text, schema)
    if taxonomy is not None:
        return taxonomy
    props = (schema or {}).get("properties") or {}
    reference = section(text, "Reference answer")
    if "verdict" in props or (not props and "# Candidate answer" in text):
        right = _is_right(reference, section(text, "Candidate answer"))
        return {"verdict": "EQUIVALENT" if right else "DIFFERENT"}
    right = _is_right(reference, section(text, "Answer to grade"))
    scores = []
    for line in section(text, "Rubric").splitlines():
        match = re.match(r"\s*\[(\d+)\]\s*\(([+-]?\d+) points?\)", line)
        if match:
            penalty = int(match.group(2)) < 0  # "met" means the answer made the penalised mistake
            scores.append(
                {"criterion_id": int(match.group(1)), "verdict": "met" if right != penalty else "unmet"}
            )
    return {
        "scores": scores,
        "failure_modes": "" if right else "the final answer differs from the reference answer",
    }


def reply_for(role: str, body: dict[str, Any], *, weak_right: bool = False) -> str:
    """The reply text (a JSON object for structured roles) a well-behaved model of ``role`` would give."""
    text = messages_text(body.get("messages") or [])
    schema = requested_schema(body)
    if role == "challenger":
        return json.dumps(challenger_reply(text, schema))
    if role == "verifier":
        return json.dumps(verifier_reply(text))
    if role == "judge":
        return json.dumps(judge_reply(text, schema))
    if role in ("weak_solver", "strong_solver"):
        return solver_reply(text, strong=role == "strong_solver" or weak_right)
    return ADVICE


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


# ---------------------------------------------------------------------------------------------- server


class FakeOpenAIServer:
    """The ASGI app (``.app``) and its state: options, fault draws and statistics."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        max_parallel: int | None = None,
        fail_rate: float = 0.0,
        seed: int = 0,
        faults: tuple[str, ...] | list[str] = FAULTS,
        retry_after: float = 0.05,
        weak_right_rate: float = 0.0,
        record_requests: bool = False,
    ):
        unknown = set(faults) - set(ALL_FAULTS)
        if unknown or not faults:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; choose from {list(ALL_FAULTS)}")
        if not 0.0 <= fail_rate <= 1.0 or not 0.0 <= weak_right_rate <= 1.0:
            raise ValueError("fail_rate and weak_right_rate must be in [0, 1]")
        self.latency = max(0.0, latency)
        self.max_parallel = max_parallel if max_parallel and max_parallel > 0 else None
        self.fail_rate = fail_rate
        self.seed = seed
        self.faults = tuple(faults)
        self.retry_after = retry_after
        self.weak_right_rate = weak_right_rate
        self.record_requests = record_requests
        self.requests: list[dict[str, Any]] = []
        """Request bodies, in arrival order (only with ``record_requests``)."""
        self._lock = threading.Lock()
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/models", self.models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/stats", self.stats_endpoint, methods=["GET"]),
                Route("/stats/reset", self.reset_endpoint, methods=["POST"]),
            ]
        )

    # -- state

    def reset(self) -> None:
        with self._lock:
            self._seen: Counter[str] = Counter()
            self._counter = 0
            self.by_role: Counter[str] = Counter()
            self.fault_counts: Counter[str] = Counter()
            self.in_flight = 0
            self.max_in_flight = 0
            self.completed = 0
            self.requests.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self.by_role.values()),
                "by_role": dict(self.by_role),
                "faults": dict(self.fault_counts),
                "completed": self.completed,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
            }

    def _draw(self, key: str, salt: str) -> float:
        """A uniform number in [0, 1) from the seed, the request and how often it was seen before."""
        with self._lock:
            occurrence = self._seen[key + salt]
            self._seen[key + salt] += 1
        digest = hashlib.sha256(f"{self.seed}|{salt}|{key}|{occurrence}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def fault_for(self, key: str) -> str | None:
        if self.fail_rate <= 0:
            return None
        draw = self._draw(key, "fault")
        if draw >= self.fail_rate:
            return None
        return self.faults[int(draw / self.fail_rate * len(self.faults)) % len(self.faults)]

    def _semaphore(self) -> asyncio.Semaphore | None:
        if self.max_parallel is None:
            return None
        loop_id = id(asyncio.get_running_loop())
        with self._lock:
            if loop_id not in self._semaphores:
                self._semaphores[loop_id] = asyncio.Semaphore(self.max_parallel)
            return self._semaphores[loop_id]

    # -- endpoints

    async def models(self, request: Request) -> Response:
        data = [
            {"id": MODEL_PREFIX + role, "object": "model", "created": 0, "owned_by": "autodata-fake"}
            for role in ROLES
        ]
        return JSONResponse({"object": "list", "data": data})

    async def stats_endpoint(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    async def reset_endpoint(self, request: Request) -> Response:
        self.reset()
        return JSONResponse(self.stats())

    async def chat_completions(self, request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "invalid_request_error", "the request body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "invalid_request_error", "'messages' is required")
        model = str(body.get("model", ""))
        role = role_of(model)
        if role is None:
            names = ", ".join(MODEL_PREFIX + r for r in ROLES)
            return _error(404, "model_not_found", f"model {model!r} does not exist; use one of {names}")
        with self._lock:
            self.by_role[role] += 1
            self._counter += 1
            number = self._counter
            if self.record_requests:
                self.requests.append(body)
        semaphore = self._semaphore()
        async with semaphore if semaphore is not None else contextlib.nullcontext():
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.latency:
                    await asyncio.sleep(self.latency)
                return self._respond(role, model, body, number)
            finally:
                with self._lock:
                    self.in_flight -= 1
                    self.completed += 1

    def _respond(self, role: str, model: str, body: dict[str, Any], number: int) -> Response:
        key = hashlib.sha256(
            json.dumps([model, body.get("messages")], sort_keys=True, default=str).encode()
        ).hexdigest()
        fault = self.fault_for(key)
        if fault is not None:
            with self._lock:
                self.fault_counts[fault] += 1
        if fault == "500":
            return _error(500, "server_error", "injected fault: the fake upstream failed")
        if fault == "429":
            return _error(
                429,
                "rate_limit_error",
                "injected fault: rate limited",
                headers={"Retry-After": f"{self.retry_after:g}"},
            )
        if fault == "bad_body":
            return Response('{"id": "chatcmpl-broken", "choices": [', media_type="application/json")

        weak_right = (
            role == "weak_solver"
            and self.weak_right_rate > 0
            and (self._draw(key, "weak") < self.weak_right_rate)
        )
        structured = requested_schema(body) is not None
        n = max(1, int(body.get("n") or 1))
        texts = []
        finish = "stop"
        for _ in range(n):
            text = reply_for(role, body, weak_right=weak_right)
            if fault == "malformed":
                text = _malform(text, structured)
            elif fault == "truncated":
                text, finish = text[: max(1, len(text) // 2)], "length"
            texts.append(text)
        prompt_tokens = tokens(messages_text(body["messages"]))
        completion_tokens = sum(tokens(t) for t in texts)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        tool = _forced_tool(body)
        completion_id = f"chatcmpl-fake-{number}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = _stream_events(completion_id, model, texts, finish, tool, usage, include_usage)
            return StreamingResponse(events, media_type="text/event-stream")
        choices = []
        for index, text in enumerate(texts):
            if tool:
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": f"call_{number}_{index}",
                            "type": "function",
                            "function": {"name": tool, "arguments": text},
                        }
                    ],
                }
                reason = "tool_calls" if finish == "stop" else finish
            else:
                message, reason = {"role": "assistant", "content": text}, finish
            choices.append({"index": index, "message": message, "finish_reason": reason, "logprobs": None})
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
                "usage": usage,
            }
        )


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": kind}}, status, headers=headers
    )


def _malform(text: str, structured: bool) -> str:
    if structured:  # single quotes and a trailing comma: not JSON, even to a lenient parser
        return text.replace('"', "'").rstrip("}") + ",}"
    return "%% garbled output: the model lost track of the question %%"


def _forced_tool(body: dict[str, Any]) -> str | None:
    tools = body.get("tools") or []
    if not tools:
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name") or tools[0]["function"]["name"]
    return tools[0]["function"]["name"]


async def _stream_events(
    completion_id: str,
    model: str,
    texts: list[str],
    finish: str,
    tool: str | None,
    usage: dict[str, int],
    include_usage: bool,
) -> AsyncIterator[str]:
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(data)}\n\n"

    for index, text in enumerate(texts):
        pieces = [text[i : i + 64] for i in range(0, len(text), 64)] or [""]
        if tool:
            first = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": f"call_{completion_id}_{index}",
                        "type": "function",
                        "function": {"name": tool, "arguments": ""},
                    }
                ],
            }
            yield chunk([{"index": index, "delta": first, "finish_reason": None}])
            for piece in pieces:
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                yield chunk([{"index": index, "delta": delta, "finish_reason": None}])
        else:
            yield chunk(
                [{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
            )
            for piece in pieces:
                yield chunk([{"index": index, "delta": {"content": piece}, "finish_reason": None}])
        reason = "tool_calls" if tool and finish == "stop" else finish
        last = index == len(texts) - 1 and not include_usage
        extra = {"usage": usage} if last else {}
        yield chunk([{"index": index, "delta": {}, "finish_reason": reason}], **extra)
    if include_usage:
        yield chunk([], usage=usage)
    yield "data: [DONE]\n\n"


# ---------------------------------------------------------------------------------------------- running


@contextlib.contextmanager
def serve_in_thread(
    server: FakeOpenAIServer | None = None, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[str]:
    """Serve ``server`` (or a new one built from ``options``) in a background thread; yields the base URL
    (``http://host:port/v1``). Port 0 picks a free port."""
    import uvicorn

    server = server or FakeOpenAIServer(**options)
    config = uvicorn.Config(
        server.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="fake-openai-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            uv.should_exit = True
            raise RuntimeError(f"the fake OpenAI server did not start on {host}:{port}")
        time.sleep(0.01)
    # uvicorn binds the port itself (a socket handed in would lack TCP_NODELAY: 40 ms per request)
    actual_port = uv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{actual_port}/v1"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autodata.evals.fake_openai_server",
        description="Fake OpenAI-compatible server: models fake-<role> whose replies pass the pipeline.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept per request (async)")
    parser.add_argument("--max-parallel", type=int, default=0, help="requests served at once (0: no limit)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of requests given a fault")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"comma-separated fault kinds to inject, from {','.join(ALL_FAULTS)}",
    )
    parser.add_argument("--retry-after", type=float, default=0.05, help="Retry-After seconds sent with 429")
    parser.add_argument(
        "--weak-right-rate", type=float, default=0.0, help="share of weak-solver answers that are right"
    )
    parser.add_argument("--log-level", default="warning")
    return parser


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    args = build_parser().parse_args(argv)
    server = FakeOpenAIServer(
        latency=args.latency,
        max_parallel=args.max_parallel,
        fail_rate=args.fail_rate,
        seed=args.seed,
        faults=tuple(f.strip() for f in args.faults.split(",") if f.strip()),
        retry_after=args.retry_after,
        weak_right_rate=args.weak_right_rate,
    )
    print(f"fake OpenAI server on http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(server.app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
