"""The Slack events endpoint: signature checks, url_verification, de-duplication, what counts as a question."""

from __future__ import annotations

import copy
import json
import time

import pytest
from slack_sdk.signature import SignatureVerifier

from functions.chat.events import handle_slack_request, strip_bot_mentions
from functions.chat.store import InMemoryConversationStore
from functions.shared.chat_models import ChatRequest
from tests.support.events import load_event
from tests.support.slack_signing import signed_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class Dispatched:
    def __init__(self, fail: bool = False) -> None:
        self.requests: list[ChatRequest] = []
        self.fail = fail

    def __call__(self, request: ChatRequest) -> None:
        if self.fail:
            raise RuntimeError("Lambda said no")
        self.requests.append(request)


@pytest.fixture
def claims() -> InMemoryConversationStore:
    return InMemoryConversationStore()


def post(payload, claims, dispatch, *, secret=SECRET, timestamp=None, retry_num=None):
    body, headers = signed_request(payload, secret, timestamp=timestamp, retry_num=retry_num)
    return handle_slack_request(body, headers, SignatureVerifier(SECRET), claims, dispatch)


def test_url_verification_answers_the_challenge(claims):
    # Given the documented url_verification payload, signed with the app's secret
    payload = load_event("slack_url_verification.json")
    dispatch = Dispatched()

    # When Slack posts it
    response = post(payload, claims, dispatch)

    # Then the challenge comes back and nothing is dispatched
    assert response.status == 200
    assert json.loads(response.body) == {"challenge": payload["challenge"]}
    assert dispatch.requests == []


def test_app_mention_is_handed_to_the_worker_without_the_mention(claims):
    # Given the documented app_mention payload
    payload = load_event("slack_app_mention.json")
    dispatch = Dispatched()

    # When it arrives
    response = post(payload, claims, dispatch)

    # Then the worker gets the question, to be answered in a thread under the mention
    assert (response.status, response.outcome) == (200, "dispatched")
    [request] = dispatch.requests
    assert request.text == "why did Lambda costs spike?"
    assert request.channel == "C0LAN2Q65"
    assert request.thread_ts == request.message_ts == "1515449522.000016"
    assert request.in_thread is False
    assert request.conversation_id == "C0LAN2Q65-1515449522.000016"
    assert request.bot_user_id == "U0LAN0Z89"


def test_mention_in_a_thread_keeps_the_thread(claims):
    # Given a mention posted under an alert
    dispatch = Dispatched()

    # When it arrives
    post(load_event("slack_app_mention_in_thread.json"), claims, dispatch)

    # Then the answer goes to the alert's thread
    [request] = dispatch.requests
    assert request.thread_ts == "1732560000.000100"
    assert request.message_ts == "1732561200.000300"
    assert request.in_thread is True


def test_wrong_secret_is_rejected_and_nothing_is_processed(claims):
    # Given a request signed with another secret
    dispatch = Dispatched()

    # When it arrives
    response = post(load_event("slack_app_mention.json"), claims, dispatch, secret="not-the-secret")

    # Then 401, and no claim or dispatch happened
    assert response.status == 401
    assert dispatch.requests == []
    assert claims.claims == set()


def test_stale_timestamp_is_rejected_even_with_a_valid_signature(claims):
    # Given a correctly signed request from six minutes ago (a replay)
    dispatch = Dispatched()
    six_minutes_ago = int(time.time()) - 6 * 60

    # When it arrives
    response = post(load_event("slack_app_mention.json"), claims, dispatch, timestamp=six_minutes_ago)

    # Then 401
    assert response.status == 401
    assert dispatch.requests == []


def test_missing_signature_headers_are_rejected(claims):
    body = json.dumps(load_event("slack_app_mention.json"))
    response = handle_slack_request(body, {}, SignatureVerifier(SECRET), claims, Dispatched())
    assert response.status == 401


def test_tampered_body_is_rejected(claims):
    # Given a signed body changed after signing
    body, headers = signed_request(load_event("slack_app_mention.json"), SECRET)
    tampered = body.replace("why did Lambda costs spike?", "delete everything")

    # When it arrives
    response = handle_slack_request(tampered, headers, SignatureVerifier(SECRET), claims, Dispatched())

    # Then 401
    assert response.status == 401


def test_retried_event_never_produces_a_second_answer(claims):
    # Given an event that was already handed over
    payload = load_event("slack_app_mention.json")
    dispatch = Dispatched()
    post(payload, claims, dispatch)

    # When Slack retries it (same event_id, X-Slack-Retry-Num)
    first_retry = post(payload, claims, dispatch, retry_num=1)
    second_retry = post(payload, claims, dispatch, retry_num=2)

    # Then it is acknowledged but not handed over again
    assert (first_retry.status, first_retry.outcome) == (200, "duplicate")
    assert (second_retry.status, second_retry.outcome) == (200, "duplicate")
    assert len(dispatch.requests) == 1


def test_the_same_message_delivered_as_two_events_is_answered_once(claims):
    # Given the app_mention of a message, handed over
    payload = load_event("slack_app_mention.json")
    dispatch = Dispatched()
    post(payload, claims, dispatch)

    # When a second event (another event_id) about the same message arrives
    other = copy.deepcopy(payload)
    other["event_id"] = "Ev0OTHER0001"
    response = post(other, claims, dispatch)

    # Then it is dropped
    assert response.outcome == "duplicate"
    assert len(dispatch.requests) == 1


def test_a_failed_hand_over_lets_slacks_retry_through(claims):
    # Given the worker cannot be invoked for the first delivery
    payload = load_event("slack_app_mention.json")
    failing = Dispatched(fail=True)
    first = post(payload, claims, failing)

    # When Slack retries
    working = Dispatched()
    retry = post(payload, claims, working, retry_num=1)

    # Then the first answer was 500 and the retry is processed
    assert first.status == 500
    assert retry.outcome == "dispatched"
    assert len(working.requests) == 1


def test_direct_messages_are_questions_without_a_mention(claims):
    dispatch = Dispatched()
    response = post(load_event("slack_message_im.json"), claims, dispatch)
    assert response.outcome == "dispatched"
    assert dispatch.requests[0].text == "show me errors in the ImageProcessor logs"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bot_id": "B0SOMEBOT"}, "bot message"),
        ({"user": "U0LAN0Z89"}, "own post"),
        ({"subtype": "message_changed"}, "subtype message_changed"),
    ],
)
def test_bot_messages_own_posts_and_edits_are_ignored(claims, change, reason):
    # Given a direct message that is not a person's question
    payload = load_event("slack_message_im.json")
    payload["event"].update(change)
    dispatch = Dispatched()

    # When it arrives
    response = post(payload, claims, dispatch)

    # Then 200 (so Slack does not retry) and nothing happens
    assert (response.status, response.outcome) == (200, f"ignored:{reason}")
    assert dispatch.requests == []


def test_documented_bot_message_is_ignored(claims):
    dispatch = Dispatched()
    response = post(load_event("slack_bot_message.json"), claims, dispatch)
    assert response.status == 200
    assert dispatch.requests == []


def test_plain_channel_messages_are_not_questions(claims):
    payload = load_event("slack_message_im.json")
    payload["event"]["channel_type"] = "channel"
    dispatch = Dispatched()
    response = post(payload, claims, dispatch)
    assert response.outcome.startswith("ignored")
    assert dispatch.requests == []


def test_only_the_bots_own_mention_is_stripped():
    assert strip_bot_mentions("<@U0BOT> ask <@U0ALICE> about costs", {"U0BOT"}) == "ask <@U0ALICE> about costs"
    assert strip_bot_mentions("  <@U0BOT|aws-assistant>   hi ", set()) == "hi"
