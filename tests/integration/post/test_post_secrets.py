"""The webhook secret: read with GetSecretValue through the project's client and cached across invocations."""

from __future__ import annotations

import json

import boto3
import pytest

from functions.local_runner.slack_sink import SlackWebhookSink
from functions.shared.adapters.aws import reset_clients
from functions.shared.adapters.secrets import read_webhook_secret, webhook_url_for
from functions.shared.errors import ConfigurationError
from functions.shared.settings import get_settings
from tests.integration.post.conftest import SECRET_NAME, store_webhooks


def test_secret_is_cached_between_invocations(aws: None) -> None:
    # Given a secret read once
    store_webhooks({"critical": "https://hooks.slack.com/services/T/B/old"})
    assert webhook_url_for("critical") == "https://hooks.slack.com/services/T/B/old"

    # When the webhook is rotated in Secrets Manager
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=SECRET_NAME, SecretString=json.dumps({"critical": "https://hooks.slack.com/services/T/B/new"})
    )

    # Then a warm container keeps the cached value; a fresh client (new container) reads the new one
    assert webhook_url_for("critical") == "https://hooks.slack.com/services/T/B/old"
    reset_clients()
    assert webhook_url_for("critical") == "https://hooks.slack.com/services/T/B/new"


def test_secret_name_can_be_given_explicitly(aws: None, sink: SlackWebhookSink) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="other/webhooks", SecretString=json.dumps({"heartbeat": sink.webhook_url("heartbeat")})
    )
    assert read_webhook_secret("other/webhooks") == {"heartbeat": sink.webhook_url("heartbeat")}
    assert webhook_url_for("heartbeat", "other/webhooks") == sink.webhook_url("heartbeat")


def test_plain_http_webhooks_are_refused_outside_local_runs(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployed environment whose secret holds an http:// URL
    monkeypatch.setenv("ALERT_INTEL_ENV", "prod")
    get_settings.cache_clear()
    store_webhooks({"critical": "http://hooks.slack.com/services/T/B/x"})

    # When / Then
    with pytest.raises(ConfigurationError, match="must be an https:// URL"):
        webhook_url_for("critical")


def test_a_rotated_webhook_is_read_again_once_the_cached_value_is_five_minutes_old(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.shared.adapters import secrets

    clock = [1_000.0]
    monkeypatch.setattr(secrets.time, "monotonic", lambda: clock[0])
    store_webhooks({"critical": "https://hooks.slack.com/services/T/B/old"})
    assert webhook_url_for("critical").endswith("/old")
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=SECRET_NAME, SecretString=json.dumps({"critical": "https://hooks.slack.com/services/T/B/new"})
    )

    clock[0] += secrets.SECRET_MAX_AGE_SECONDS - 1
    assert webhook_url_for("critical").endswith("/old")
    clock[0] += 2
    assert webhook_url_for("critical").endswith("/new")
