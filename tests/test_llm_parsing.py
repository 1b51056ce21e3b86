import pytest

from autodata.llm import MalformedOutput, extract_json_object, grammar_schema, parse_structured
from autodata.nodes.schemas import RubricItemOut, RubricJudgeOut, VerifierOut


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
        parse_structured('{"analysis": "fine", "feedback": ""}', VerifierOut)


def test_grammar_schema_drops_only_lengths_llama_cpp_cannot_compile():
    schema = grammar_schema({"properties": {"a": {"maxLength": 1000}, "b": {"maxLength": 4000}}})
    assert schema == {"properties": {"a": {"maxLength": 1000}, "b": {}}}
    schema = grammar_schema(RubricItemOut.model_json_schema())
    assert schema["properties"]["skills"]["minItems"] == 2
    assert schema["required"] == ["question_type", "skills", "context", "question", "answer", "rubric"]
