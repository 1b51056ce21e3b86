"""Withheld-result items: a passage that works something out becomes a question whose answer is the passage's
own result, taken out of the context. Pure, no I/O.

The embedded 1.5B challenger invents cases whose answers are wrong more often than right, and when asked to
copy a passage's result it copied the worked example's or invented one. So code finds the result: when the
passage states one derived from what comes before it ("..., with roots 2 and 3", "..., because then sequences
finish together"), the reference answer is the source's own words, the context is the passage up to the
clause that states it, and the model only writes the question.
"""

from __future__ import annotations

import re

_CLAUSE = re.compile(
    r"(,?\s+(so|thus|hence|therefore|and therefore|and so|which gives|giving|because|since|with)\b|[,;:]\s)",
    re.IGNORECASE,
)
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
"""Where one sentence ends and the next begins (also the focus passages' splitter,
autodata/rules/windows.py)."""
_NAMED_FORMULA_HEAD = re.compile(
    r"\b(?:is|are|equals|has|have|becomes)\s+(?:the|a|an)\s+(?:[A-Za-z-]{2,}\s+){1,2}$", re.IGNORECASE
)
"""A head that ends naming what follows ("... has the fixed point "): a result formula is cut there."""
MIN_KEPT_WORDS = 4
"""A sentence cut to fewer words than this before its result is dropped whole."""


def _flat(text: str) -> str:
    return " ".join(text.split())


def _find(result: str, text: str) -> int:
    """Start of ``result`` in ``text`` (whitespace-normalised, case-insensitive, final full stop ignored)."""
    needle = _flat(result).rstrip(".").lower()
    return text.lower().find(needle) if needle else -1


def withhold(passage: str, result: str) -> str | None:
    """The passage without ``result``: the sentences before the one that states it, that sentence up to the
    last clause boundary before the result (ended with a full stop), and the sentences after it that do not
    repeat the result (nor, for an equation, its left-hand side). None when ``result`` is not copied from
    the passage."""
    text = _flat(passage)
    start = _find(result, text)
    if start < 0:
        return None
    # a later "G(x) = ..." gives an equation's answer again in another form ("G(x) = 2/(1 - 2x) - 1/(1 - x)")
    restated = f"{result.split('=')[0].strip().lower()} =" if result.count("=") == 1 else ""
    sentences, offset = [], 0
    for piece in SENTENCE_BREAK.split(text):
        sentences.append((offset, piece))
        offset += len(piece) + 1
    kept: list[str] = []
    for s_start, sentence in sentences:
        s_end = s_start + len(sentence)
        if s_end <= start:
            kept.append(sentence)
        elif s_start <= start < s_end:
            head = sentence[: start - s_start]
            if not _NAMED_FORMULA_HEAD.search(head):  # "... has the fixed point" reads whole without it
                cuts = [m.start() for m in _CLAUSE.finditer(head)]
                head = head[: cuts[-1]] if cuts else ""
            head = head.rstrip(" ,;:-")
            if len(head.split()) >= MIN_KEPT_WORDS:
                kept.append(head if head[-1] in ".!?" else f"{head}.")
        elif _find(result, sentence) < 0 and not (restated and restated in sentence.lower()):
            kept.append(sentence)
    return " ".join(kept)


def copied_from(result: str, passage: str) -> bool:
    return _find(result, _flat(passage)) >= 0


_RESULT = re.compile(
    r"(?P<connective>,\s+(?:so|thus|hence|therefore|and therefore|and so|with(?!\s+or\b))"
    r"|\b(?:gives|giving|because|yields))\s+"
    r"(?P<result>[^,;]+?)(?=,\s|;|\.\s|\.$|\s+where\b|$)",
    re.IGNORECASE,
)
_MATH_START = re.compile(r"[()^=\d]|^[A-Za-z]$")
MAX_RESULT_WORDS = 12


def _expression(span: str) -> str:
    """A formula without the words that name it ("the characteristic equation r^2 - 5r + 6 = 0" ->
    "r^2 - 5r + 6 = 0"); other spans unchanged."""
    if "=" not in span:
        return span
    words = span.split()
    start = next((i for i, w in enumerate(words) if _MATH_START.search(w)), 0)
    return " ".join(words[start:])


def _span(match: re.Match[str]) -> str:
    """The result a match states: a formula without its naming words, a reason without its "then"
    ("because then sequences finish together" -> "sequences finish together")."""
    span = _expression(match.group("result").strip().rstrip("."))
    return re.sub(r"^then\s+", "", span, flags=re.IGNORECASE) if " " in span else span


_STATING_VERB = frozenset({"is", "are", "equals", "has", "have", "becomes"})
_MATH_TOKEN = re.compile(r"[-+*/=^<>]+|\d+|[A-Za-z]|[\w.]*[()^/*=+][\w()^/*=+.-]*")
_OPERATOR = re.compile(r"[-+*/^=]")
_NAMING_WORD = re.compile(r"(?!(?:which|that|for|where|when|if|to|of)\b)[A-Za-z-]{2,}", re.IGNORECASE)


def _is_result_formula(formula: str) -> bool:
    """An expression that can be worked out: an operator, balanced brackets, not a bare operator or number
    and no comparison (inequalities in prose define things more often than they conclude them)."""
    return (
        bool(_OPERATOR.search(formula))
        and not re.fullmatch(r"[-+*/=^<>]+", formula.split()[0])
        and not re.fullmatch(r"[\d.,]+", formula)
        and not re.search(r"[<>]", formula)
        and formula.count("(") == formula.count(")")
    )


MAX_NAMING_WORDS = 4
"""Words that may name a formula between its verb and itself ("has the fixed point d/(1 - c)", "is the node
at index (k - 1) // 2")."""


def _stated_formulas(text: str) -> list[tuple[int, str]]:
    """Formulas the text states as what something is, has or equals ("... has the fixed point d/(1 - c);",
    "... is the node at index (k - 1) // 2"), with their offsets: derivable results in mathematical prose.
    A bare number is not one (a rate or a period a text stipulates cannot be worked out again)."""
    tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    found: list[tuple[int, str]] = []
    for i, (_, word) in enumerate(tokens):
        if word.lower() not in _STATING_VERB:
            continue
        j = i + 1
        while j <= i + MAX_NAMING_WORDS and j < len(tokens) and _NAMING_WORD.fullmatch(tokens[j][1]):
            j += 1
        run: list[str] = []
        for _, token in tokens[j:]:
            core = token.rstrip(".,;:")
            if not core or not _MATH_TOKEN.fullmatch(core):
                break
            run.append(core)
            if core != token:  # a clause ends with this token
                break
        formula = " ".join(run)
        if run and _is_result_formula(formula):
            found.append((tokens[j][0], formula))
    return found


def _connective(match: re.Match[str]) -> str:
    """The connective a result match opens with, lower-cased and without its comma (", so" -> "so")."""
    return re.sub(r"^,\s+", "", match.group("connective").lower())


def _requirement(text: str, match: re.Match[str]) -> bool:
    """ ", with ..." after words alone states what something needs or has ("an iterable of numbers, with at
    least two values"), not what was worked out: only after a formula ("r^2 - 5r + 6 = 0, with roots 2 and
    3") is it a result."""
    if _connective(match) != "with":
        return False
    head = SENTENCE_BREAK.split(text[: match.start()])[-1]
    return not _FORMULA_MARK.search(head)


def result_spans(passage: str) -> list[str]:
    """What the passage works out, in order: the clause after ", so", ", with", "gives", "because" ... up to
    the clause's end, and a formula it states as what something is or has, each at most MAX_RESULT_WORDS
    words (a formula without the words naming it)."""
    text = _flat(passage)
    found = [(m.start(), _span(m)) for m in _RESULT.finditer(text) if not _requirement(text, m)]
    found += _stated_formulas(text)
    spans: list[str] = []
    for _, span in sorted(found):
        if 1 <= len(span.split()) <= MAX_RESULT_WORDS and span not in spans:
            spans.append(span)
    return spans


def _result_match(passage: str, result: str) -> tuple[str, re.Match[str]] | None:
    """The flattened passage and the connective match that states ``result`` in it (result_spans' own)."""
    text = _flat(passage)
    match = next((m for m in _RESULT.finditer(text) if _span(m) == result), None)
    return (text, match) if match else None


def relation_of(passage: str, result: str) -> str:
    """How ``result`` follows in ``passage``: ``"reason"`` when the passage gives it as the reason for what
    comes before it ("..., because ..."), else ``"consequence"``."""
    found = _result_match(passage, result)
    return "reason" if found and _connective(found[1]) == "because" else "consequence"


def _stated_before(passage: str, result: str, connectives: frozenset[str]) -> str | None:
    """The sentence that states ``result`` up to its connective, when that is one of ``connectives`` and the
    part is long enough to stand as a fact."""
    found = _result_match(passage, result)
    if found is None:
        return None
    text, match = found
    if _connective(match) not in connectives:
        return None
    fact = SENTENCE_BREAK.split(text[: match.start()])[-1].strip().rstrip(" ,;:-")
    return fact if len(fact.split()) >= MIN_KEPT_WORDS else None


_REASON = frozenset({"because"})


def reason_fact(passage: str, result: str) -> str | None:
    """The fact a reason-``result`` explains: its sentence up to the "because" ("The gain was smallest when
    all requests had the same length"), or None when ``result`` is no reason or that part is too short to
    stand as a fact."""
    return _stated_before(passage, result, _REASON)


_CONSEQUENCE = frozenset({"so", "thus", "hence", "therefore", "and therefore", "and so"})
_FORMULA_MARK = re.compile(r"[=^*/+<>]")


def consequence_premise(passage: str, result: str) -> str | None:
    """The fact a consequence-``result`` in words follows from: its sentence up to the ", so" ("Paged
    attention stores the cache in blocks that need not be contiguous"). None for a formula (what it solves
    for is asked instead, see formula_subject), for ", with" and "gives" (what they attach names its own
    result better: "the roots of r^2 - 5r + 6 = 0"), and for a part too short to stand as a fact."""
    if _FORMULA_MARK.search(result):
        return None
    return _stated_before(passage, result, _CONSEQUENCE)


def chosen_result(passage: str) -> str | None:
    """The result a withheld-result item asks for: the second one the passage works out when there are
    several (the first usually has no premise left in the passage once it is cut), else the only one."""
    spans = result_spans(passage)
    return (spans[1:] + spans[:1])[0] if spans else None


MIN_PASSAGE_WORDS = 25
"""Shorter passages leave too little context once their result is taken out (autodata/rules/format_rules.py
asks for at least MIN_CONTEXT_WORDS)."""


def withheld_result(passage: str) -> str | None:
    """The result a withheld-result item of ``passage`` asks for (chosen_result), or None when the passage
    works nothing out or is too short to keep a context without its result: then it gets a case item."""
    return chosen_result(passage) if len(passage.split()) >= MIN_PASSAGE_WORDS else None


def works_something_out(passage: str) -> bool:
    """Whether the withheld-result item fits the passage (see withheld_result)."""
    return withheld_result(passage) is not None


_SUBJECT = re.compile(r"[A-Za-z][A-Za-z0-9_']*(?:\([^()=]*\))?")


def formula_subject(result: str, context: str) -> str | None:
    """What a withheld equation ``NAME = ...`` solves for ("G(x)" in "G(x) = 1/((1 - x)(1 - 2x))") when the
    context states no other equation for it: then "What is G(x)?" asks for exactly the result. None for any
    other result (a reason, a value, an equation whose left side names nothing)."""
    if result.count("=") != 1:
        return None
    left, right = (side.strip() for side in result.split("="))
    if not right or not _SUBJECT.fullmatch(left):
        return None
    defined = re.compile(re.escape(left).replace(r"\ ", r"\s*") + r"\s*=(?!=)")
    return None if defined.search(context) else left
