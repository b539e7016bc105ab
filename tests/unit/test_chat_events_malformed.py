"""The Slack events endpoint against hostile and malformed requests: always 200, 400, 401 or 413, never an exception.

Anyone who knows the URL can send anything, so whatever does not verify is 401 before anything is parsed, and a
signed body that is not an event is 400 or an acknowledged "ignored". Signatures are computed against the current
time, so these tests pass on any date.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from functions.chat.events import MAX_BODY_BYTES, HttpResponse, handle_slack_request, request_headers
from functions.chat.store import InMemoryConversationStore
from functions.shared.chat_models import ChatRequest
from tests.support.events import load_event

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ANSWERS = {200, 400, 401, 413}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Dispatched:
    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []

    def __call__(self, request: ChatRequest) -> None:
        self.requests.append(request)


class BrokenClaims(InMemoryConversationStore):
    """A claims store whose backend is down (DynamoDB unreachable)."""

    def claim(self, key: str) -> bool:
        raise ConnectionError("table unreachable")


def signed_headers(raw: bytes, *, timestamp: str | None = None, secret: str = SECRET) -> dict[str, str]:
    """Headers Slack would send with `raw`, signed over the exact bytes at the current time."""
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def answer(body: bytes | str | None, headers: Any, claims: InMemoryConversationStore | None = None) -> HttpResponse:
    return handle_slack_request(
        body, headers, SignatureVerifier(SECRET), claims or InMemoryConversationStore(), Dispatched()
    )


def signed(payload: Any) -> tuple[bytes, dict[str, str]]:
    raw = (payload if isinstance(payload, str) else json.dumps(payload)).encode("utf-8")
    return raw, signed_headers(raw)


def mention(**event_changes: Any) -> dict[str, Any]:
    payload = load_event("slack_app_mention.json")
    payload["event"].update(event_changes)
    return payload


# --- Property: whatever arrives, the answer is one of four statuses -------------------------------------------------

header_names = st.sampled_from(
    ["X-Slack-Request-Timestamp", "X-Slack-Signature", "x-slack-signature", "Content-Type", "X-Slack-Retry-Num"]
) | st.text(max_size=20)
header_values = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.integers(),
    st.floats(),
    st.lists(st.one_of(st.none(), st.text(max_size=80), st.integers()), max_size=3),
    st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,30}(\.[0-9]+)?", fullmatch=True),
)
any_headers = st.one_of(
    st.none(),
    st.dictionaries(header_names, header_values, max_size=6),
    st.lists(st.tuples(header_names, header_values), max_size=6),
    st.integers(),
    st.text(max_size=10),
)
any_body = st.one_of(st.none(), st.binary(max_size=300), st.text(max_size=300))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
event_keys = st.sampled_from(
    ["type", "user", "text", "channel", "ts", "thread_ts", "subtype", "channel_type", "bot_id", "bot_profile"]
)
envelopes = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["event_callback", "url_verification"]) | json_values,
        "event": st.dictionaries(event_keys, json_values, max_size=8) | json_values,
    },
    optional={
        "event_id": json_values,
        "team_id": json_values,
        "challenge": json_values,
        "authorizations": json_values | st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=3)),
    },
)


@FAST
@given(body=any_body, headers=any_headers)
def test_unsigned_requests_are_always_401(body, headers):
    # Given anything at all as headers and body, without a valid signature
    # When it arrives
    response = answer(body, headers)

    # Then it is rejected, without an exception
    assert response.status == 401


@FAST
@given(body=any_body)
def test_any_signed_body_gets_200_400_or_413(body):
    # Given any body, correctly signed over its bytes at the current time
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    headers = signed_headers(raw)

    # When it arrives
    response = answer(body, headers)

    # Then a body Slack could send (UTF-8) is answered 200 or 400, anything else (no body, not UTF-8) 401
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert response.status == 401
    else:
        assert response.status == 401 if body is None else response.status in {200, 400}


@FAST
@given(envelope=envelopes)
def test_any_signed_envelope_gets_an_answer_and_any_dispatched_request_serialises(envelope):
    # Given a signed envelope whose fields hold arbitrary JSON
    raw, headers = signed(envelope)
    dispatch = Dispatched()

    # When it arrives
    response = handle_slack_request(raw, headers, SignatureVerifier(SECRET), InMemoryConversationStore(), dispatch)

    # Then it is answered, and whatever was handed over is a well-formed request
    assert response.status in ANSWERS
    for request in dispatch.requests:
        assert ChatRequest.model_validate_json(request.model_dump_json()) == request


# --- Headers and bodies that fail verification are 401 --------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        "not-a-number",
        "1700000000.5",  # fractional: slack_sdk's int() raised ValueError
        "",
        " 1700000000",
        "1700000000\n",
        "-1",
        "+1700000000",
        "9" * 5000,  # huge: int() of more than 4,300 digits raises too
        "\u0661" * 10,  # Arabic-Indic digit one, which int() accepts
        "0x6553F100",
    ],
)
def test_a_malformed_timestamp_is_401(timestamp):
    # Given a body signed correctly over a timestamp that is not plain epoch seconds
    raw = json.dumps(load_event("slack_url_verification.json")).encode()

    # When it arrives
    response = answer(raw, signed_headers(raw, timestamp=timestamp))

    # Then 401, not an exception
    assert response.status == 401


def test_the_current_time_as_a_fraction_is_401_even_when_signed():
    raw = json.dumps(load_event("slack_url_verification.json")).encode()
    response = answer(raw, signed_headers(raw, timestamp=f"{time.time():.3f}"))
    assert response.status == 401


@pytest.mark.parametrize(
    "signature",
    [
        "v0=" + "é" * 64,  # non-ASCII: hmac.compare_digest raised TypeError
        "v0=" + "a" * 63 + "\u00e9",
        "v0=" + "A" * 64,
        "v0=" + "a" * 65,
        "v1=" + "a" * 64,
        "",
        "v0=",
        "\x00" * 67,
    ],
)
def test_a_malformed_signature_is_401(signature):
    raw = json.dumps(load_event("slack_url_verification.json")).encode()
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": signature}
    assert answer(raw, headers).status == 401


def test_a_signature_that_is_a_valid_signature_of_the_text_but_not_of_the_bytes_is_401():
    # Given a body that is not UTF-8, signed over a lossy decoding of it
    raw = b'{"type": "url_verification", "challenge": "\xff"}'
    headers = signed_headers(raw.decode("utf-8", "replace").encode())

    # Then neither version verifies
    assert answer(raw, headers).status == 401


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\xfd", b'{"type": "url_verification", "challenge": "\xc3"}', b"\xed\xa0\x80"],
    ids=["garbage", "truncated sequence", "encoded surrogate"],
)
def test_a_body_that_is_not_utf8_is_401_even_when_signed(raw):
    assert answer(raw, signed_headers(raw)).status == 401


def test_a_text_body_with_a_lone_surrogate_is_401():
    # A str body that cannot be the bytes that were sent (what a JSON-decoded Lambda event can hold)
    assert answer('{"type": "\ud83d"}', signed_headers(b'{"type": "?"}')).status == 401


def test_a_missing_body_is_401():
    assert answer(None, signed_headers(b"")).status == 401


@pytest.mark.parametrize(
    "headers",
    [
        None,
        [],
        "X-Slack-Signature: v0=abc",
        42,
        {"X-Slack-Request-Timestamp": None, "X-Slack-Signature": None},
        {"X-Slack-Request-Timestamp": 1700000000, "X-Slack-Signature": ["v0=" + "a" * 64]},
        {None: "x", 3: "y"},
    ],
)
def test_headers_that_are_missing_none_or_of_the_wrong_type_are_401(headers):
    assert answer(b"{}", headers).status == 401


def test_headers_given_as_lists_verify_when_they_hold_one_value():
    # Given the signed headers as API Gateway's multiValueHeaders (one value each)
    raw, headers = signed(load_event("slack_url_verification.json"))
    multi = {name: [value] for name, value in headers.items()}

    # Then they verify
    assert answer(raw, multi).status == 200


def test_a_header_with_two_different_values_counts_as_missing():
    # Given a valid signature plus a second, different X-Slack-Signature (a case-changed duplicate)
    raw, headers = signed(load_event("slack_url_verification.json"))
    forged = {**headers, "x-slack-signature": "v0=" + "0" * 64}

    # Then it is rejected rather than chosen by order
    assert answer(raw, forged).status == 401
    assert "x-slack-signature" not in request_headers(forged)


# --- Signed bodies that are not events are 400, 413 or ignored -------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[1, 2, 3]",
        '"a string"',
        "null",
        "1" * 5000,  # an integer longer than int() converts
        "\ufeff{}",
        "[" * 100_000 + "]" * 100_000,  # json.loads raises RecursionError
        '{"a":' * 100_000 + "1" + "}" * 100_000,
    ],
    ids=["empty", "text", "list", "string", "null", "huge int", "bom", "deep list", "deep object"],
)
def test_a_signed_body_that_is_not_a_json_object_is_400(body):
    raw, headers = signed(body)
    response = answer(raw, headers)
    assert (response.status, response.outcome) == (400, "bad_request")


def test_a_signed_body_over_one_mebibyte_is_413():
    raw, headers = signed({"type": "event_callback", "padding": "x" * MAX_BODY_BYTES})
    assert answer(raw, headers).status == 413


def test_nesting_deep_enough_to_parse_but_not_to_use_is_ignored():
    # Given an event nested 500 levels deep (json.loads copes; nothing downstream should have to)
    raw = json.dumps(mention(text="DEEP")).replace('"DEEP"', "[" * 500 + "]" * 500).encode()
    headers = signed_headers(raw)

    # Then it is acknowledged and dropped
    assert answer(raw, headers).outcome == "ignored:malformed text"


def test_a_non_string_challenge_is_400():
    raw, headers = signed({"type": "url_verification", "challenge": {"nested": True}})
    assert answer(raw, headers).status == 400


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"text": ["why", "costs"]}, "malformed text"),
        ({"text": {"a": 1}}, "malformed text"),
        ({"type": ["app_mention"]}, "malformed type"),  # unhashable: `in {...}` raised TypeError
        ({"subtype": {"x": 1}}, "malformed subtype"),
        ({"user": 42}, "malformed user"),
        ({"channel": ["C1"]}, "malformed channel"),
        ({"ts": 1515449522.000016}, "malformed ts"),
        ({"thread_ts": True}, "malformed thread_ts"),
        ({"user": "U" * 5000}, "malformed user"),
    ],
)
def test_event_fields_of_the_wrong_type_are_ignored(change, reason):
    # Given a signed mention with one field of a type Slack never sends
    raw, headers = signed(mention(**change))
    dispatch = Dispatched()

    # When it arrives
    response = handle_slack_request(raw, headers, SignatureVerifier(SECRET), InMemoryConversationStore(), dispatch)

    # Then it is acknowledged (so Slack does not retry) and dropped
    assert (response.status, response.outcome) == (200, f"ignored:{reason}")
    assert dispatch.requests == []


@pytest.mark.parametrize(
    ("envelope_change", "reason"),
    [
        ({"authorizations": "U0LAN0Z89"}, "malformed authorizations"),  # iterating a string called str.get
        ({"authorizations": [1, 2]}, "malformed authorizations"),
        ({"authorizations": {"user_id": "U0LAN0Z89"}}, "malformed authorizations"),
        ({"authorizations": [{"user_id": ["U0LAN0Z89"], "is_bot": True}]}, "malformed user_id"),
        ({"team_id": 12345}, "malformed team_id"),  # ChatRequest raised ValidationError
        ({"event_id": {"id": 1}}, "malformed event_id"),
        ({"event_id": "E" * 10_000}, "malformed event_id"),
    ],
)
def test_envelope_fields_of_the_wrong_type_are_ignored(envelope_change, reason):
    payload = mention()
    payload.update(envelope_change)
    raw, headers = signed(payload)
    response = answer(raw, headers)
    assert (response.status, response.outcome) == (200, f"ignored:{reason}")


@pytest.mark.parametrize("event", [None, [], "app_mention", 5])
def test_an_event_callback_without_an_event_object_is_ignored(event):
    payload = mention()
    payload["event"] = event
    raw, headers = signed(payload)
    response = answer(raw, headers)
    assert response.status == 200 and response.outcome.startswith("ignored")


def test_a_signed_body_with_lone_surrogates_is_handed_over_with_replacement_characters():
    # Given a signed mention whose text holds half an emoji (JSON-escaped, so the bytes are valid UTF-8)
    raw = json.dumps(mention(text="<@U0LAN0Z89> why \ud83d?")).encode()
    assert b"\\ud83d" in raw
    dispatch = Dispatched()

    # When it arrives
    response = handle_slack_request(
        raw, signed_headers(raw), SignatureVerifier(SECRET), InMemoryConversationStore(), dispatch
    )

    # Then the question goes to the worker with U+FFFD in place of the surrogate, and serialises
    assert response.outcome == "dispatched"
    [request] = dispatch.requests
    assert request.text == "why \ufffd?"
    assert request.model_dump_json()


def test_a_claims_store_that_is_down_is_500_not_an_exception():
    # Given a valid mention and a claims table that cannot be reached (not the caller's fault: Slack retries)
    raw, headers = signed(mention())

    # When it arrives
    response = answer(raw, headers, claims=BrokenClaims())

    # Then 500, answered rather than raised
    assert (response.status, response.outcome) == (500, "dispatch_failed")
