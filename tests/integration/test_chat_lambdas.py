"""The three chat Lambdas end to end on moto: API Gateway event → verify → async worker → thread reply; archival.

The worker is a real moto Lambda invoked with InvocationType=Event; moto's docker-less backend runs its handler in
this process (functions.local_runner.moto_lambda). Slack is a loopback server speaking the Web API.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.chat import archiver_handler, events_handler
from functions.shared.adapters.conversations import ConversationTable, conversation_to_item
from functions.shared.chat_models import ChatMessage, Conversation, alert_context_from_pipeline
from functions.shared.models import Alert, AnalysisBody
from tests.support.chat_aws import BOT_TOKEN, BUCKET, REGION, SIGNING_SECRET, TABLE, WORKER, chat_account
from tests.support.events import load_event
from tests.support.fake_slack_api import FakeSlackApi
from tests.support.slack_signing import signed_request


@pytest.fixture
def slack():
    with FakeSlackApi(token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def account(monkeypatch, slack):
    with chat_account(monkeypatch, slack_api_url=slack.api_url) as acc:
        yield acc


def api_gateway_event(body: str, headers: dict[str, str]) -> dict:
    """A REST API proxy event for POST /slack/events, as API Gateway delivers it."""
    return {
        "resource": "/slack/events",
        "path": "/slack/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"resourcePath": "/slack/events", "httpMethod": "POST", "stage": "prod"},
        "body": body,
        "isBase64Encoded": False,
    }


def deliver(account, payload, *, secret=SIGNING_SECRET, retry_num=None) -> dict:
    body, headers = signed_request(payload, secret, retry_num=retry_num)
    return events_handler.handler(api_gateway_event(body, headers), account.context("alert-intel-slack-events"))


def test_a_mention_is_answered_once_in_its_thread(account, slack):
    # Given the documented app_mention, signed with the secret stored in Secrets Manager
    payload = load_event("slack_app_mention.json")

    # When API Gateway delivers it, and Slack later retries it
    first = deliver(account, payload)
    retry = deliver(account, payload, retry_num=1)

    # Then both are acknowledged, the worker ran once, and one answer was posted in the thread with the bot token
    assert first["statusCode"] == 200 and retry["statusCode"] == 200
    assert [i.function_name for i in account.lambdas.invocations] == [WORKER]
    assert account.lambdas.invocations[0].error_type is None
    [post] = slack.posts()
    assert post.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert post.args["channel"] == "C0LAN2Q65"
    assert post.args["thread_ts"] == "1515449522.000016"
    assert post.args["blocks"][-1]["type"] == "context"
    assert "CostAnalyst" in post.args["blocks"][-1]["elements"][0]["text"]

    # And the conversation is stored with both turns
    stored = ConversationTable(TABLE).latest("C0LAN2Q65-1515449522.000016")
    assert stored is not None
    assert [m.role for m in stored.messages] == ["user", "assistant"]
    assert stored.messages[1].agent == "CostAnalyst"
    assert stored.messages[1].slack_ts


def test_url_verification_through_api_gateway(account):
    response = deliver(account, load_event("slack_url_verification.json"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


def test_a_wrong_secret_gets_401_and_nothing_runs(account, slack):
    response = deliver(account, load_event("slack_app_mention.json"), secret="someone-elses-secret")
    assert response["statusCode"] == 401
    assert account.lambdas.invocations == []
    assert slack.posts() == []


def stream_record(event_name: str, item: dict, *, old: dict | None, new: dict | None, sequence: int) -> dict:
    """A DynamoDB stream record as Lambda receives it, for a real item read from the table.

    Built by hand because moto 5.2.5 cannot serve DynamoDB Streams to this botocore ("Not yet implemented").
    """
    change: dict = {
        "ApproximateCreationDateTime": 1732560000,
        "Keys": {k: item[k] for k in ("conversation_id", "timestamp")},
        "SequenceNumber": f"{sequence:021d}",
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    return {
        "eventID": f"c81e728d9d4c2f636f067f89cc14862{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": change,
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}/stream/2026-11-18T00:00:00.000",
    }


def stored_item(conversation_id: str, sort_key: str) -> dict:
    return boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"conversation_id": {"S": conversation_id}, "timestamp": {"S": sort_key}}
    )["Item"]


def archived_keys() -> list[str]:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    return [o["Key"] for o in listing.get("Contents", [])]


def archived(key: str) -> dict:
    return json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_an_expiring_conversation_is_archived_at_its_partitioned_key(account):
    # Given a stored conversation started on 18 November
    started = datetime(2026, 11, 18, 9, 30, 15, 123456, tzinfo=UTC)
    conversation = Conversation.start("C0ALERTS01-1732560000.000100", "C0ALERTS01", "1732560000.000100", now=started)
    conversation.append(ChatMessage(role="user", content="why did Lambda costs spike?", timestamp=started))
    ConversationTable(TABLE).save(conversation)
    item = stored_item(conversation.conversation_id, conversation.timestamp)

    # When TTL deletes it: the REMOVE record carries the old image and DynamoDB's service identity
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=TABLE,
        Key={"conversation_id": {"S": conversation.conversation_id}, "timestamp": {"S": conversation.timestamp}},
    )
    remove = stream_record("REMOVE", item, old=item, new=None, sequence=1)
    remove["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    result = archiver_handler.handler({"Records": [remove]}, account.context("alert-intel-chat-archiver"))

    # Then the conversation is in S3 at the partitioned key, marked expired
    key = "conversations/year=2026/month=11/day=18/C0ALERTS01-1732560000.000100-20261118T093015.123456Z.json"
    assert result == {"batchItemFailures": []}
    assert archived_keys() == [key]
    document = archived(key)
    assert document["archived_reason"] == "expired"
    assert document["conversation"]["messages"][0]["content"] == "why did Lambda costs spike?"
    assert document["conversation"]["ttl"] == conversation.ttl


def test_completing_a_conversation_archives_it(account, slack):
    # Given a conversation, then "done" in its thread
    deliver(account, load_event("slack_app_mention.json"))
    conversation = ConversationTable(TABLE).latest("C0LAN2Q65-1515449522.000016")
    assert conversation is not None
    before = stored_item(conversation.conversation_id, conversation.timestamp)
    done = load_event("slack_app_mention.json")
    done["event_id"] = "Ev0DONE0001"
    done["event"].update({"text": "<@U0LAN0Z89> done", "ts": "1515449600.000100", "thread_ts": "1515449522.000016"})
    deliver(account, done)
    after = stored_item(conversation.conversation_id, conversation.timestamp)

    # When the stream batch (INSERT of the first save, MODIFY of the completion) reaches the archiver
    records = [
        stream_record("INSERT", before, old=None, new=before, sequence=1),
        stream_record("MODIFY", after, old=before, new=after, sequence=2),
    ]
    result = archiver_handler.handler({"Records": records}, account.context("alert-intel-chat-archiver"))

    # Then exactly the completed conversation is archived, with all four turns
    assert result == {"batchItemFailures": []}
    [key] = archived_keys()
    assert key.startswith("conversations/year=") and "/C0LAN2Q65-1515449522.000016-" in key
    document = archived(key)
    assert document["archived_reason"] == "completed"
    assert len(document["conversation"]["messages"]) == 4
    assert len(slack.posts()) == 2


def test_item_serialisation_has_no_floats():
    # DynamoDB's serializer refuses Python floats; a conversation item must never contain one.
    item = conversation_to_item(Conversation.start("C-1.0", now=datetime.now(UTC)))
    assert "ttl" in item and time.time() < int(item["ttl"]["N"])


def test_a_question_under_an_alert_starts_from_the_context_the_pipeline_stored(account, slack):
    # Given the pipeline stored the alert's context, and the alert message (posted by webhook) shows its dedup key
    context = alert_context_from_pipeline(
        Alert(
            source="budget",
            alert_type="budget_exceeded",
            severity="critical",
            title="Budget monthly-aws-spend exceeded: $1,042.17 of $1,000.00",
            dedup_key="budget#monthly-aws-spend#2026-11",
        ),
        AnalysisBody(root_cause="Lambda ImageProcessor is in an invocation storm.", recommendations=["Stop it"]),
    )
    ConversationTable(TABLE).put_alert_context(context)
    footer = {"type": "mrkdwn", "text": "rule-based · dedup `budget#monthly-aws-spend#2026-11`"}
    alert_message: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "ts": "1732560000.000100",
        "text": "Budget exceeded",
    }
    alert_message["blocks"] = [{"type": "context", "elements": [footer]}]
    slack.set_thread("C0ALERTS01", "1732560000.000100", [alert_message])

    # When someone asks in that alert's thread
    deliver(account, load_event("slack_app_mention_in_thread.json"))

    # Then the worker read the thread's first message and the conversation starts from the alert's analysis
    assert [c.method for c in slack.calls] == ["conversations.replies", "chat.postMessage"]
    stored = ConversationTable(TABLE).latest("C0ALERTS01-1732560000.000100")
    assert stored is not None and stored.alert_context is not None
    assert stored.alert_context.root_cause == "Lambda ImageProcessor is in an invocation storm."
    assert slack.posts()[0].args["thread_ts"] == "1732560000.000100"
