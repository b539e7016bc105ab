"""Slack webhook URLs from Secrets Manager, cached across invocations.

The secret (name in `Settings.slack_webhooks_secret_name`) is a JSON object with one webhook URL per route:
`{"critical": "https://hooks.slack.com/services/...", "heartbeat": "https://hooks.slack.com/services/..."}`.
It is read with Powertools' parameters utility and kept for `SECRET_MAX_AGE_SECONDS`, so a warm Lambda does not
call Secrets Manager on every alert, and a rotated webhook is picked up within five minutes.

A missing `heartbeat` URL falls back to the `critical` webhook with a logged warning: a heartbeat that lands in
the critical channel is noisy, but a heartbeat that is silently dropped defeats its purpose.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities import parameters

from functions.shared.adapters.aws import aws_client
from functions.shared.errors import ConfigurationError
from functions.shared.models import Route
from functions.shared.observability import logger
from functions.shared.settings import get_settings

SECRET_MAX_AGE_SECONDS = 300


def _provider() -> parameters.SecretsProvider:
    return _provider_for(aws_client("secretsmanager"))


@lru_cache(maxsize=1)
def _provider_for(client: Any) -> parameters.SecretsProvider:
    # Built on the project's client factory (same timeouts and retries as every other AWS call) and keyed by that
    # client: `reset_clients()` yields a new client, hence a new provider with an empty cache.
    return parameters.SecretsProvider(boto3_client=client)


def reset_secret_cache() -> None:
    """Forget cached secret values (tests; or after rotating a webhook by hand)."""
    _provider_for.cache_clear()
    parameters.clear_caches()


def read_webhook_secret(secret_name: str | None = None) -> dict[str, Any]:
    """The decoded webhook secret (cached for five minutes).

    Raises:
        ConfigurationError: the secret does not exist, cannot be read, or is not a JSON object.
    """
    name = secret_name or get_settings().slack_webhooks_secret_name
    try:
        value = _provider().get(name, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.TransformParameterError as exc:
        raise ConfigurationError(
            f'Secret {name!r} is not JSON; expected {{"critical": "<webhook url>", "heartbeat": ...}}'
        ) from exc
    except parameters.GetParameterError as exc:
        raise ConfigurationError(f"Cannot read the Slack webhook secret {name!r}: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"Secret {name!r} must be a JSON object of route -> webhook URL")
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
