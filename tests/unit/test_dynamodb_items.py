"""The conversations table's item encoding: what boto3's serializer would write, without importing boto3."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from functions.shared.adapters.conversations import attribute_value, from_item, to_item

json_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=20) | st.integers(-(10**12), 10**12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_it_writes_what_boto3s_serializer_writes(value: Any) -> None:
    assert attribute_value(value) == TypeSerializer().serialize(value)


@given(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=6))
def test_an_item_reads_back_as_it_was_written(values: dict[str, Any]) -> None:
    written = {k: v for k, v in values.items() if v is not None}
    assert from_item(to_item(values)) == written


def test_floats_are_written_as_exact_decimal_numbers() -> None:
    # boto3 refuses floats; model_dump(mode="json") yields them (costs, confidences), so they become N exactly
    assert attribute_value(0.1) == {"N": "0.1"}
    assert attribute_value(Decimal("1042.17")) == {"N": "1042.17"}
    assert from_item({"cost": attribute_value(0.0123)}) == {"cost": 0.0123}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"raw", object()])
def test_what_dynamodb_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        attribute_value(value)
