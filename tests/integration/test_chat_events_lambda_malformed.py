"""The Slack events Lambda against hostile and malformed API Gateway events, on moto: never raises, never 502.

Before, a non-numeric or fractional X-Slack-Request-Timestamp, a non-ASCII X-Slack-Signature, a body that was not
base64 or not UTF-8, or a deeply nested one made the handler raise, which API Gateway answers 502, for anyone who
knows the URL. Signatures are computed against the current time, so these tests pass on any date.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.chat import events_handler
from functions.chat.settings import clear_chat_settings_caches
from tests.support.chat_aws import SIGNING_SECRET, chat_account
from tests.support.events import load_event

ANSWERS = {200, 400, 401, 413}
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def account(monkeypatch):
    with chat_account(monkeypatch) as acc:
        yield acc


def signed_headers(raw: bytes, *, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def proxy_event(body: Any, headers: Any, *, base64_encoded: Any = False, multi: Any = None) -> dict[str, Any]:
    return {
        "resource": "/slack/events",
        "path": "/slack/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": multi,
        "requestContext": {"resourcePath": "/slack/events", "httpMethod": "POST", "stage": "prod"},
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def invoke(account, event: Any) -> dict[str, Any]:
    return events_handler.handler(event, account.context("alert-intel-slack-events"))


CHALLENGE = json.dumps(load_event("slack_url_verification.json")).encode()


# --- Property: any event gets an answer, and an unsigned one is 401 -------------------------------------------------

values = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.integers(),
    st.lists(st.one_of(st.none(), st.text(max_size=60)), max_size=3),
    st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,6})?", fullmatch=True),
)
names = st.sampled_from(["X-Slack-Request-Timestamp", "X-Slack-Signature", "x-slack-signature"]) | st.text(max_size=12)
header_maps = st.one_of(st.none(), st.dictionaries(names, values, max_size=5), st.lists(st.text(max_size=5)))


@PROPERTY
@given(
    body=st.one_of(st.none(), st.text(max_size=200), st.integers(), st.binary(max_size=50).map(base64.b64encode)),
    headers=header_maps,
    multi=header_maps,
    base64_encoded=st.one_of(st.booleans(), st.none(), st.text(max_size=3)),
)
def test_any_unsigned_event_is_401(account, body, headers, multi, base64_encoded):
    # Given an API Gateway event holding anything as headers and body
    event = proxy_event(body, headers, base64_encoded=base64_encoded, multi=multi)

    # When the Lambda handles it
    response = invoke(account, event)

    # Then it is answered 401, without raising
    assert response["statusCode"] == 401


@PROPERTY
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_signed_base64_body_is_answered(account, raw):
    # Given any bytes, signed by Slack's rules, base64-encoded by API Gateway
    event = proxy_event(base64.b64encode(raw).decode(), signed_headers(raw), base64_encoded=True)

    # When the Lambda handles it
    status = invoke(account, event)["statusCode"]

    # Then UTF-8 bodies are answered 200/400 and the rest 401
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert status == 401
    else:
        assert status in {200, 400}


# --- The reported defects ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", ["soon", "1700000000.25", "-5", "1" * 400, "\uff11" * 10])
def test_a_malformed_timestamp_is_401_not_502(account, timestamp):
    event = proxy_event(CHALLENGE.decode(), signed_headers(CHALLENGE, timestamp=timestamp))
    assert invoke(account, event)["statusCode"] == 401


def test_a_fractional_current_timestamp_is_401_not_502(account):
    event = proxy_event(CHALLENGE.decode(), signed_headers(CHALLENGE, timestamp=f"{time.time():.6f}"))
    assert invoke(account, event)["statusCode"] == 401


@pytest.mark.parametrize("signature", ["v0=" + "ß" * 64, "v0=☃", "v0=" + "a" * 63 + "\u0430"])
def test_a_non_ascii_signature_is_401_not_502(account, signature):
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": signature}
    assert invoke(account, proxy_event(CHALLENGE.decode(), headers))["statusCode"] == 401


@pytest.mark.parametrize(
    "body", ["abc", "%%%%", "YQ", "\ud83d", "=" * 9], ids=["padding", "alphabet", "short", "surrogate", "pad"]
)
def test_a_body_that_is_not_base64_is_401(account, body):
    event = proxy_event(body, signed_headers(CHALLENGE), base64_encoded=True)
    assert invoke(account, event)["statusCode"] == 401


def test_a_base64_body_that_is_not_utf8_is_401_even_when_signed(account):
    raw = b'{"type": "url_verification", "challenge": "\xff\xfe"}'
    event = proxy_event(base64.b64encode(raw).decode(), signed_headers(raw), base64_encoded=True)
    assert invoke(account, event)["statusCode"] == 401


def test_a_signed_base64_body_is_decoded_and_verified(account):
    event = proxy_event(base64.b64encode(CHALLENGE).decode(), signed_headers(CHALLENGE), base64_encoded=True)
    response = invoke(account, event)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["challenge"].startswith("3eZbrw1aBm2r")


def test_a_text_body_with_a_lone_surrogate_is_401(account):
    # API Gateway's JSON can carry "\ud83d"; such a string cannot be the bytes that were signed
    event = proxy_event('{"type": "\ud83d"}', signed_headers(b'{"type": "?"}'))
    assert invoke(account, event)["statusCode"] == 401


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_a_deeply_nested_signed_body_is_400(account, depth):
    raw = ("[" * depth + "]" * depth).encode()
    assert invoke(account, proxy_event(raw.decode(), signed_headers(raw)))["statusCode"] == 400


def test_a_signed_event_with_fields_of_the_wrong_type_is_acknowledged(account):
    payload = load_event("slack_app_mention.json")
    payload["event"]["text"] = ["not", "a", "string"]
    payload["authorizations"] = "nobody"
    raw = json.dumps(payload).encode()
    assert invoke(account, proxy_event(raw.decode(), signed_headers(raw)))["statusCode"] == 200
    assert account.lambdas.invocations == []


def test_a_missing_body_is_401(account):
    assert invoke(account, proxy_event(None, signed_headers(b"")))["statusCode"] == 401


def test_a_signed_empty_body_is_400(account):
    assert invoke(account, proxy_event("", signed_headers(b"")))["statusCode"] == 400


@pytest.mark.parametrize("headers", [None, [], {}, {"X-Slack-Signature": None}, {"X-Slack-Signature": ["a", "b"]}])
def test_missing_or_malformed_headers_are_401(account, headers):
    assert invoke(account, proxy_event(CHALLENGE.decode(), headers))["statusCode"] == 401


def test_headers_only_in_multi_value_headers_verify(account):
    # Given a REST API event whose single-value `headers` is null and multiValueHeaders holds the signature
    multi = {name: [value] for name, value in signed_headers(CHALLENGE).items()}

    # Then it verifies
    assert invoke(account, proxy_event(CHALLENGE.decode(), None, multi=multi))["statusCode"] == 200


def test_conflicting_single_and_multi_value_signatures_are_401(account):
    headers = signed_headers(CHALLENGE)
    multi = {"X-Slack-Signature": ["v0=" + "0" * 64]}
    assert invoke(account, proxy_event(CHALLENGE.decode(), headers, multi=multi))["statusCode"] == 401


@pytest.mark.parametrize("event", [None, [], "POST /slack/events", 42])
def test_an_event_that_is_not_an_object_is_400(account, event):
    assert invoke(account, event)["statusCode"] == 400


def test_an_unexpected_failure_is_400_not_an_exception(account, monkeypatch):
    # Given a bug that some input reaches
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(events_handler, "handle_slack_request", boom)

    # When a request arrives, Then the caller gets 400 rather than API Gateway's 502
    assert invoke(account, proxy_event(CHALLENGE.decode(), signed_headers(CHALLENGE)))["statusCode"] == 400


def test_a_missing_table_setting_is_500_and_does_not_raise(account, monkeypatch):
    # Given a deployment without CONVERSATIONS_TABLE (configuration, not input)
    monkeypatch.delenv("CONVERSATIONS_TABLE")
    clear_chat_settings_caches()

    # When a request arrives
    response = invoke(account, proxy_event(CHALLENGE.decode(), signed_headers(CHALLENGE)))

    # Then 500 (Slack retries), returned rather than raised
    assert response["statusCode"] == 500
    clear_chat_settings_caches()
