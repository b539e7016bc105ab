"""Slack Web API for the chat bot (`chat.postMessage`, `conversations.replies`) and its two secrets.

In Lambda the signing secret and bot token come from Secrets Manager (names in SLACK_SIGNING_SECRET_NAME and
SLACK_BOT_TOKEN_SECRET_NAME; the secret is the bare value, or JSON with one of the keys `signing_secret`,
`bot_token`, `token`, `value`). Locally SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN win. SLACK_API_URL points the
WebClient elsewhere (a loopback server in tests, e.g. `http://127.0.0.1:PORT/api/`).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from functions.shared.adapters.aws import aws_client
from functions.shared.errors import ConfigurationError, SlackPostError, SlackRateLimitedError

_SECRET_KEYS = ("signing_secret", "bot_token", "token", "value")


def _secret_value(raw: str) -> str:
    text = raw.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return text
        for key in _SECRET_KEYS:
            if isinstance(document.get(key), str):
                return str(document[key])
    return text


@lru_cache(maxsize=8)
def read_slack_secret(env_value_name: str, env_secret_name: str) -> str:
    """The value in env var `env_value_name`, else the Secrets Manager secret named by `env_secret_name`.

    Cached per cold start.

    Raises:
        ConfigurationError: neither is set, or the secret cannot be read or is empty.
    """
    direct = os.environ.get(env_value_name, "")
    if direct:
        return direct
    secret_name = os.environ.get(env_secret_name, "")
    if not secret_name:
        raise ConfigurationError(f"set {env_value_name} or {env_secret_name}")
    try:
        raw = aws_client("secretsmanager").get_secret_value(SecretId=secret_name).get("SecretString", "")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown")
        raise ConfigurationError(f"cannot read secret {secret_name}: {code}") from exc
    value = _secret_value(raw or "")
    if not value:
        raise ConfigurationError(f"secret {secret_name} is empty")
    return value


def signing_secret() -> str:
    """Raises ConfigurationError (see `read_slack_secret`)."""
    return read_slack_secret("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET_NAME")


def bot_token() -> str:
    """Raises ConfigurationError (see `read_slack_secret`)."""
    return read_slack_secret("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN_SECRET_NAME")


def slack_api_base_url() -> str | None:
    url = os.environ.get("SLACK_API_URL", "")
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


class SlackApi:
    """The few Web API methods the chat bot calls, with Slack's failures turned into our named errors."""

    def __init__(self, token: str, base_url: str | None = None, timeout_seconds: int = 10) -> None:
        kwargs: dict[str, Any] = {"token": token, "timeout": timeout_seconds}
        if base_url:
            kwargs["base_url"] = base_url
        self.client = WebClient(**kwargs)
        # One polite retry honouring Retry-After; after that the caller decides.
        self.client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str:
        """Post `text` (the notification fallback) and `blocks` to `channel`, in `thread_ts` when given, with link
        and media unfurling off (an answer quotes alert and log text; Slack must not preview pages it names).

        Returns the posted message's ts.

        Raises:
            SlackRateLimitedError: Slack still answered 429 after one retry.
            SlackPostError: Slack refused the message (bad token, channel, blocks) or could not be reached.
        """
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise SlackRateLimitedError("chat.postMessage rate limited") from exc
            raise SlackPostError(f"chat.postMessage failed: {exc.response.get('error', 'unknown')}") from exc
        except (SlackClientError, OSError) as exc:
            raise SlackPostError(f"chat.postMessage could not reach Slack: {exc}") from exc
        return str(response.get("ts", ""))

    def update_message(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Edit the message `ts` in `channel` (`chat.update`): an incident's header when it fires again or resolves.

        Raises:
            SlackRateLimitedError: Slack still answered 429 after one retry.
            SlackPostError: Slack refused the edit (message not found, not the bot's, bad blocks) or was unreachable.
        """
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise SlackRateLimitedError("chat.update rate limited") from exc
            raise SlackPostError(f"chat.update failed: {exc.response.get('error', 'unknown')}") from exc
        except (SlackClientError, OSError) as exc:
            raise SlackPostError(f"chat.update could not reach Slack: {exc}") from exc

    def thread_parent(self, channel: str, thread_ts: str) -> dict[str, Any] | None:
        """The first message of a thread (e.g. the alert the question was asked under), or None if unreadable."""
        try:
            response = self.client.conversations_replies(channel=channel, ts=thread_ts, limit=1, inclusive=True)
        except (SlackClientError, OSError):
            return None
        messages = response.get("messages") or []
        return messages[0] if messages else None


def slack_api() -> SlackApi:
    """A SlackApi with the bot token and SLACK_API_URL. Raises ConfigurationError without a token."""
    return _cached_slack_api(bot_token(), slack_api_base_url())


@lru_cache(maxsize=4)
def _cached_slack_api(token: str, base_url: str | None) -> SlackApi:
    return SlackApi(token, base_url)
