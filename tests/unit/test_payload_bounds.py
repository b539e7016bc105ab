"""Strings from outside are cleaned once; payloads are bounded in bytes without losing their shape."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.shared.payload_bounds import json_size, shrink_json
from functions.shared.stage_io import bounded_error
from functions.shared.untrusted_text import clean_json, clean_text, has_invisible_controls

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=6),
    max_leaves=40,
)


def test_lone_surrogates_become_replacement_characters_and_encode() -> None:
    cleaned = clean_text("cut emoji \ud83d and \udc00 here")
    assert cleaned == "cut emoji \ufffd and \ufffd here"
    cleaned.encode("utf-8")


def test_bidi_and_zero_width_controls_are_shown_visibly() -> None:
    assert clean_text("invoice\u202efdp.exe") == "invoice\\u202efdp.exe"
    assert clean_text("a\u200bb\ufeffc\u2066d\u061ce") == "a\\u200bb\\ufeffc\\u2066d\\u061ce"
    assert clean_text("tabs\tand\nnewlines stay") == "tabs\tand\nnewlines stay"


def test_keys_are_cleaned_and_nesting_is_bounded_without_recursion() -> None:
    deep: Any = "leaf"
    for _ in range(100_000):
        deep = [deep]
    cleaned = clean_json({"na\u202eme": deep, "n": float("nan")})
    assert "na\\u202eme" in cleaned
    assert cleaned["n"] == "nan"
    assert len(json.dumps(cleaned)) < 1_000


@settings(max_examples=200, deadline=None)
@given(value=JSON)
def test_cleaned_json_never_holds_an_invisible_control_and_always_encodes(value: Any) -> None:
    text = json.dumps(clean_json(value), ensure_ascii=False)
    text.encode("utf-8")
    assert not has_invisible_controls(text)


def test_a_large_payload_keeps_its_keys_and_short_fields() -> None:
    payload = {"service": "checkout", "severity": "critical", "stack_trace": "frame\n" * 50_000, "tags": ["a"]}
    bounded = shrink_json(payload, 8_000)
    assert json_size(bounded) <= 8_000
    assert set(bounded) == set(payload)
    assert bounded["service"] == "checkout" and bounded["severity"] == "critical" and bounded["tags"] == ["a"]
    assert bounded["stack_trace"].startswith("frame\n") and "cut" in bounded["stack_trace"]


def test_astral_characters_are_counted_as_their_escaped_size() -> None:
    bounded = shrink_json({"reason": "😀" * 58_000}, 32_000)
    assert len(json.dumps(bounded)) <= 32_000  # ensure_ascii=True: each emoji is 12 bytes escaped


@settings(max_examples=200, deadline=None)
@given(value=JSON, budget=st.integers(min_value=64, max_value=4_000))
def test_shrink_always_fits_its_budget(value: Any, budget: int) -> None:
    assert json_size(shrink_json(value, budget)) <= budget


def test_a_bounded_error_keeps_its_class_and_drops_its_traceback() -> None:
    def recurse(n: int) -> int:
        return recurse(n + 1)

    try:
        recurse(0)
    except RecursionError as exc:
        bounded = bounded_error(exc)
    assert type(bounded) is RecursionError and bounded.__traceback__ is None

    huge = ValueError("x" * 100_000)
    assert type(bounded_error(huge)) is ValueError
    assert len(str(bounded_error(huge))) <= 800


def test_one_field_nested_past_the_parser_becomes_a_marker_and_the_rest_parses() -> None:
    from functions.shared.untrusted_text import loads_bounded

    text = '{"service": "checkout", "quote": "[{\\"", "ctx": ' + "[" * 50_000 + "]" * 50_000 + ', "tail": [1]}'
    parsed = loads_bounded(text)
    assert parsed["service"] == "checkout" and parsed["quote"] == '[{"' and parsed["tail"] == [1]
    assert "omitted" in json.dumps(parsed["ctx"])


def test_only_console_hosts_are_clickable() -> None:
    from functions.shared.console_links import is_console_url

    assert is_console_url("https://us-east-1.console.aws.amazon.com/lambda/home")
    assert is_console_url("https://health.aws.amazon.com/health/home#/account/event-log")
    for url in (
        "https://signin.aws.amazon.com/oauth?redirect_uri=https://evil.example",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/x.html",
        "https://aws.amazon.com.evil.example/",
        "https://user@us-east-1.console.aws.amazon.com/",
        "https://console.aws.amazon.com:8443/",
        "http://us-east-1.console.aws.amazon.com/",
        "https://us-east-1.console.aws.amazon.com/lambda/home#/functions/Image%5Cu202eProcessor",
    ):
        assert not is_console_url(url), url


def test_a_region_from_alert_text_is_checked_before_a_client_is_made() -> None:
    import pytest

    from functions.shared.adapters.aws import aws_client
    from functions.shared.errors import AwsReadUnavailableError

    with pytest.raises(AwsReadUnavailableError, match="not an AWS region"):
        aws_client("lambda", "evil[.]com#")
