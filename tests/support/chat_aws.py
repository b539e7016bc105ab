"""A simulated AWS account for the chat bot's integration tests: table, bucket, secrets, worker Lambda (moto)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from functions.chat import archiver_handler, events_handler
from functions.chat.settings import clear_chat_settings_caches
from functions.local_runner.moto_lambda import FakeLambdaContext, InProcessLambdas, in_process_lambdas
from functions.shared.adapters import conversations, slack_api
from functions.shared.adapters.aws import reset_clients
from functions.shared.adapters.bedrock import reset_bedrock
from functions.shared.settings import clear_settings_caches

REGION = "us-east-1"
TABLE = "alert-intel-conversations"
BUCKET = "alert-intel-conversation-archive"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
WORKER = "alert-intel-chat-worker"


def reset_chat_caches() -> None:
    clear_settings_caches()
    clear_chat_settings_caches()
    reset_clients()
    reset_bedrock()
    slack_api.read_slack_secret.cache_clear()
    slack_api._cached_slack_api.cache_clear()
    conversations.conversation_table.cache_clear()
    events_handler._verifier.cache_clear()
    events_handler._invoker.cache_clear()
    archiver_handler._archive.cache_clear()


def create_table(client) -> str:
    """The table as CDK defines it: string keys, TTL on `ttl`, stream NEW_AND_OLD_IMAGES. Returns the stream ARN."""
    answer = client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "conversation_id", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "conversation_id", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    return str(answer["TableDescription"]["LatestStreamArn"])


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "")
    return buffer.getvalue()


@dataclass
class ChatAccount:
    stream_arn: str
    lambdas: InProcessLambdas

    def context(self, name: str = WORKER) -> FakeLambdaContext:
        return FakeLambdaContext(function_name=name)


@contextmanager
def chat_account(monkeypatch: pytest.MonkeyPatch, slack_api_url: str | None = None) -> Iterator[ChatAccount]:
    """Environment as CDK sets it, caches reset, moto running with the worker Lambda running in-process."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "CONVERSATIONS_TABLE": TABLE,
        "ARCHIVE_BUCKET": BUCKET,
        "SLACK_SIGNING_SECRET_NAME": "alert-intel/slack-signing-secret",
        "SLACK_BOT_TOKEN_SECRET_NAME": "alert-intel/slack-bot-token",
        "CHAT_WORKER_FUNCTION_NAME": WORKER,
        "ALERT_INTEL_MODEL_ID": "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "ANTHROPIC_BEDROCK_BASE_URL", "ALERT_INTEL_ENV"):
        monkeypatch.delenv(name, raising=False)
    if slack_api_url:
        monkeypatch.setenv("SLACK_API_URL", slack_api_url)
    else:
        monkeypatch.delenv("SLACK_API_URL", raising=False)
    reset_chat_caches()
    try:
        with mock_aws(config={"lambda": {"use_docker": False}}), in_process_lambdas() as lambdas:
            stream_arn = create_table(boto3.client("dynamodb", region_name=REGION))
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
            secrets = boto3.client("secretsmanager", region_name=REGION)
            secrets.create_secret(Name=env["SLACK_SIGNING_SECRET_NAME"], SecretString=SIGNING_SECRET)
            secrets.create_secret(
                Name=env["SLACK_BOT_TOKEN_SECRET_NAME"], SecretString=f'{{"bot_token": "{BOT_TOKEN}"}}'
            )
            role = boto3.client("iam", region_name=REGION).create_role(
                RoleName="chat-worker", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]
            boto3.client("lambda", region_name=REGION).create_function(
                FunctionName=WORKER,
                Runtime="python3.12",
                Role=role,
                Handler="functions.chat.worker_handler.handler",
                Code={"ZipFile": _zip()},
            )
            yield ChatAccount(stream_arn=stream_arn, lambdas=lambdas)
    finally:
        reset_chat_caches()
