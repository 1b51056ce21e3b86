"""What the fake OpenAI-compatible server (evals/fake_openai_server.py) answers each role: items from
a small bank that pass the real pipeline's coded rules, verdicts, solver answers (right or wrong) and judge
grades consistent with them. Pure, no I/O."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from autodata.core.config import ROLES
from autodata.rules.equivalence import answers_equivalent, extract_final_answer
from autodata.rules.evidence import source_sentences
from autodata.rules.grounding import check_type_label
from autodata.rules.leakage import check_leakage

MODEL_PREFIX = "fake-"


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
