"""Slack webhook URLs from Secrets Manager, cached across invocations.

The secret (name in `Settings.slack_webhooks_secret_name`) is a JSON object with one webhook URL per route:
`{"critical": "https://hooks.slack.com/services/...", "heartbeat": "https://hooks.slack.com/services/..."}`.
It is read with the project's botocore client (`GetSecretValue`, as `slack_api.read_slack_secret` reads the bot
token) and kept for `SECRET_MAX_AGE_SECONDS`, so a warm Lambda does not call Secrets Manager on every alert, and a
rotated webhook is picked up within five minutes. Not Powertools' parameters utility: for this one call it imported
boto3, s3transfer and multiprocessing (its AppConfig and DynamoDB providers) into Post's and Recover's cold start
(decision 0021).

A missing `heartbeat` URL falls back to the `critical` webhook with a logged warning: a heartbeat that lands in
the critical channel is noisy, but a heartbeat that is silently dropped defeats its purpose.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.shared.adapters.aws import aws_client
from functions.shared.errors import ConfigurationError
from functions.shared.models import Route
from functions.shared.observability import logger
from functions.shared.settings import get_settings

SECRET_MAX_AGE_SECONDS = 300


@lru_cache(maxsize=1)
def _cache_for(client: Any) -> dict[str, tuple[float, dict[str, Any]]]:
    # Keyed by the client from the project's factory: `reset_clients()` yields a new client (a new container, in
    # tests), hence an empty cache. Values: (monotonic time read, decoded secret).
    return {}


def reset_secret_cache() -> None:
    """Forget cached secret values (tests; or after rotating a webhook by hand)."""
    _cache_for.cache_clear()


def _read_json_secret(client: Any, name: str) -> Any:
    try:
        raw = client.get_secret_value(SecretId=name).get("SecretString") or ""
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown")
        raise ConfigurationError(f"Cannot read the Slack webhook secret {name!r}: {code}") from exc
    except BotoCoreError as exc:
        raise ConfigurationError(f"Cannot read the Slack webhook secret {name!r}: {exc}") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f'Secret {name!r} is not JSON; expected {{"critical": "<webhook url>", "heartbeat": ...}}'
        ) from exc


def read_webhook_secret(secret_name: str | None = None) -> dict[str, Any]:
    """The decoded webhook secret (cached for five minutes).

    Raises:
        ConfigurationError: the secret does not exist, cannot be read, or is not a JSON object.
    """
    name = secret_name or get_settings().slack_webhooks_secret_name
    client = aws_client("secretsmanager")
    cache = _cache_for(client)
    hit = cache.get(name)
    if hit is not None and time.monotonic() - hit[0] < SECRET_MAX_AGE_SECONDS:
        return hit[1]
    value = _read_json_secret(client, name)
    if not isinstance(value, dict):
        raise ConfigurationError(f"Secret {name!r} must be a JSON object of route -> webhook URL")
    cache[name] = (time.monotonic(), value)
    return value


def webhook_url_for(route: Route, secret_name: str | None = None) -> str:
    """The webhook URL for `route`; a missing heartbeat URL falls back to the critical one (with a warning).

    Raises:
        ConfigurationError: the secret is unreadable, or has no usable URL for the route (https:// outside the
            local environment).
    """
    secret = read_webhook_secret(secret_name)
    name = secret_name or get_settings().slack_webhooks_secret_name
    url = secret.get(route)
    if not url and route == "heartbeat" and secret.get("critical"):
        logger.warning(
            "No heartbeat webhook configured; posting the heartbeat to the critical webhook",
            extra={"secret_name": name},
        )
        url = secret.get("critical")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"Secret {name!r} has no webhook URL for route {route!r} (keys present: {sorted(secret)})"
        )
    if url.startswith("http://") and get_settings().environment != "local":
        # Alert content must not travel in clear text; plain http is only for the local webhook sink.
        raise ConfigurationError(f"Secret {name!r}: the {route!r} webhook must be an https:// URL")
    return url
