"""The CoT Self-Instruct baseline reasons before it writes: ``reasoning`` is the first, required property of
its item schemas, so grammar-constrained decoding writes it before the item and cannot skip it."""

import pytest
from pydantic import ValidationError
from scripts import item

from autodata.llm.dialects import response_format_for
from autodata.nodes.cot_challenger import (
    REASONING_MIN_CHARS,
    CotRubricItemOut,
    CotVerifiableItemOut,
)
from autodata.nodes.items import to_item
from autodata.rules.schemas import RubricItemOut, VerifiableItemOut

COT = [(CotVerifiableItemOut, VerifiableItemOut), (CotRubricItemOut, RubricItemOut)]
REASONING = "After A, B, A the cache holds A and B; A was used last, so C evicts B."


@pytest.mark.parametrize(("cot", "base"), COT)
def test_reasoning_is_the_first_required_property(cot, base):
    schema = cot.model_json_schema()
    assert list(schema["properties"]) == ["reasoning", *base.model_json_schema()["properties"]]
    assert "reasoning" in schema["required"]
    assert set(schema["required"]) == set(base.model_json_schema()["required"]) | {"reasoning"}
    assert schema["properties"]["reasoning"]["minLength"] == REASONING_MIN_CHARS > 0


@pytest.mark.parametrize(("cot", "base"), COT)
@pytest.mark.parametrize("method", ["json_schema", "json_object_schema"])
def test_the_schema_sent_to_the_endpoint_starts_with_reasoning(cot, base, method):
    response_format = response_format_for(method, cot)
    schema = response_format.get("schema") or response_format["json_schema"]["schema"]
    assert next(iter(schema["properties"])) == "reasoning" and "reasoning" in schema["required"]


@pytest.mark.parametrize(("cot", "base"), COT)
@pytest.mark.parametrize("reasoning", [None, "", "   ", "B."])
def test_missing_or_empty_reasoning_is_invalid(cot, base, reasoning):
    data = item() if reasoning is None else {**item(), "reasoning": reasoning}
    with pytest.raises(ValidationError):
        cot.model_validate(data)


@pytest.mark.parametrize(("cot", "base"), COT)
def test_items_are_the_same_as_without_reasoning(cot, base):
    parsed = cot.model_validate({**item(), "reasoning": f"  {REASONING}  "})
    assert parsed.reasoning == REASONING
    assert to_item(parsed) == to_item(base.model_validate(item()))
