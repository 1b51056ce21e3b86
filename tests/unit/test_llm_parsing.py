import pytest

from autodata.llm.dialects import grammar_schema
from autodata.llm.parsing import MalformedOutput, extract_json_object, parse_structured
from autodata.rules.schemas import RubricItemOut, RubricJudgeOut, VerifierOut


def test_extracts_json_from_fences_prose_and_raw_newlines():
    assert extract_json_object('Sure!\n```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json_object('Here: {"a": "line one\nline two"} done') == {"a": "line one\nline two"}
    with pytest.raises(MalformedOutput):
        extract_json_object("no object here")


def test_parse_unwraps_one_level_and_truncates_long_strings():
    judge = {
        "RubricJudgeOut": {"scores": [{"criterion_id": 1, "verdict": "met"}], "failure_modes": "x" * 999}
    }
    parsed = parse_structured(judge, RubricJudgeOut)
    assert parsed.scores[0].verdict == "met" and len(parsed.failure_modes) == 240


def test_parse_rejects_wrong_enum_with_a_useful_message():
    reply = '{"scores": [{"criterion_id": 1, "verdict": "7"}], "failure_modes": ""}'
    with pytest.raises(MalformedOutput, match="verdict"):
        parse_structured(reply, RubricJudgeOut)


def test_verifier_schema_requires_every_verdict():
    with pytest.raises(MalformedOutput):
        parse_structured('{"self_contained": "YES", "problem": ""}', VerifierOut)


def test_grammar_schema_drops_only_lengths_llama_cpp_cannot_compile():
    schema = grammar_schema({"properties": {"a": {"maxLength": 1000}, "b": {"maxLength": 4000}}})
    assert schema == {"properties": {"a": {"maxLength": 1000}, "b": {}}}
    schema = grammar_schema(RubricItemOut.model_json_schema())
    assert schema["properties"]["skills"]["minItems"] == 2
    # grammar-constrained decoding writes the quotes first, then the facts, the conclusion, the question
    order = ["evidence", "context", "answer", "question", "question_type", "skills", "rubric"]
    assert schema["required"] == order


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value)) if value else set()
    return set()


def test_one_sentence_answers_are_a_grammar_pattern_for_llama_cpp_only():
    import re

    from autodata.llm.dialects import GRAMMAR_PATTERN, response_format_for, tool_for
    from autodata.rules.format_rules import check_format

    grammar = response_format_for("json_object_schema", RubricItemOut)["schema"]
    answer = grammar["properties"]["answer"]
    assert "pattern" in answer and "maxLength" not in answer  # the pattern carries the length bound
    for other in (response_format_for("json_schema", RubricItemOut), tool_for(RubricItemOut)):
        assert GRAMMAR_PATTERN not in _keys(other) and "pattern" not in _keys(other)

    # the grammar admits exactly the one-sentence answers the coded format rule accepts
    pattern = re.compile(answer["pattern"])
    base = {"question": "Which key is evicted?", "context": "word " * 20, "question_type": "t"}
    for text in [
        "It evicts key B.",
        "It evicts key B. Then it keeps C.",
        "The ratio is 3.5 to one",
        "Key B goes! Key C stays.",
        "B, because A was used more recently than B?",
    ]:
        rule = {r.name: r.passed for r in check_format({**base, "answer": text}, "rubric")}
        assert bool(pattern.match(text)) == rule["answer_one_sentence"], text


def test_grammar_with_the_answer_pattern_compiles_in_llama_cpp():
    import json

    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    from autodata.llm.dialects import response_format_for
    from autodata.rules.schemas import VerifiableItemOut

    for schema in (RubricItemOut, VerifiableItemOut):
        grammar = response_format_for("json_object_schema", schema)["schema"]
        gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(grammar))
        assert llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False) is not None


def test_one_sentence_grammar_admits_escaped_quotes_and_latex_but_not_two_sentences():
    import json
    import re

    from autodata.rules.schemas import ONE_SENTENCE

    pattern = ONE_SENTENCE.format(low=1, high=120)
    raw = {
        a: json.dumps(a)[1:-1] for a in ("t = sqrt(2h/g)", r"\frac{1}{2}", 'The "tenant" pays.', "One. Two.")
    }
    assert [bool(re.match(pattern, r)) for r in raw.values()] == [True, True, True, False]
    assert not re.match(pattern, 'an "unescaped quote')  # raw JSON: a bare quote would end the string
