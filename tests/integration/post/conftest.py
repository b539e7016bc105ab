"""Fixtures for the Post stage: moto Secrets Manager holding webhook URLs of a local Slack webhook sink."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from functions.local_runner.slack_sink import SlackWebhookSink
from functions.post import handler as post_handler
from functions.post.handler import slack_webhook as cached_slack_webhook
from functions.shared.adapters.aws import reset_clients
from functions.shared.adapters.secrets import reset_secret_cache
from functions.shared.adapters.slack_webhook import SlackWebhook
from functions.shared.settings import get_settings

SECRET_NAME = "alert-intel/slack-webhooks"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SLACK_WEBHOOKS_SECRET_NAME": SECRET_NAME,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    reset_clients()
    reset_secret_cache()
    cached_slack_webhook.cache_clear()
    with mock_aws():
        yield
    reset_clients()
    reset_secret_cache()
    cached_slack_webhook.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def sink() -> Iterator[SlackWebhookSink]:
    with SlackWebhookSink() as running:
        yield running


def store_webhooks(webhooks: dict[str, str] | str) -> None:
    value = webhooks if isinstance(webhooks, str) else json.dumps(webhooks)
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name=SECRET_NAME, SecretString=value)


@pytest.fixture
def webhooks(aws: None, sink: SlackWebhookSink) -> SlackWebhookSink:
    """Both routes configured, each pointing at its own path on the sink."""
    store_webhooks({"critical": sink.webhook_url("critical"), "heartbeat": sink.webhook_url("heartbeat")})
    return sink


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the handler's webhook record the Retry-After waits it honours instead of sleeping through them."""
    recorded: list[float] = []
    from functions.shared.adapters.secrets import webhook_url_for

    webhook = SlackWebhook(webhook_url_for, sleep=recorded.append)
    monkeypatch.setattr(post_handler, "slack_webhook", lambda: webhook)
    return recorded
