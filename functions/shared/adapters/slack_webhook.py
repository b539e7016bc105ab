"""Posting one message to a Slack incoming webhook.

Slack's `Retry-After` is honoured once inside the function (waiting at most `max_retry_after_seconds`, so the
Lambda timeout holds); a second 429, or a `Retry-After` longer than that, becomes `SlackRateLimitedError` and the
state machine retries with backoff. Any other failure (400 invalid_payload, 403, 404 no_service, 410
channel_is_archived, connection errors) is `SlackPostError`: retrying cannot fix a bad webhook or payload, so the
run fails loudly.

slack_sdk is imported on the first send (`slack_retries`): importing it loads its Web API client and asyncio, and
Recover, which imports this module, posts only when a run left its alert without a message. Post, which sends on
every invocation, calls `import_webhook_client()` from its handler module, so it loads in Post's init.

Every body goes out with `unfurl_links: false` and `unfurl_media: false`: a message quotes alert text, and Slack must
not fetch or preview a page it names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.shared.errors import SlackPostError, SlackRateLimitedError
from functions.shared.models import Route

DEFAULT_TIMEOUT_SECONDS = 10
DEFAULT_MAX_RETRY_AFTER_SECONDS = 20.0
# Sent with every body (they win over the body's own values): no previews of pages named in a message.
NO_UNFURLING = {"unfurl_links": False, "unfurl_media": False}


# What Slack answers (HTTP 400) when the message itself is at fault, not the webhook.
PAYLOAD_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_payload",
        "invalid_attachments",
        "too_many_attachments",
        "msg_too_long",
        "no_text",
    }
)


class SlackRejectedError(SlackPostError):
    """Slack answered with a status other than 200 or 429; `slack_error` is its short reason, e.g. no_service."""

    def __init__(self, message: str, *, status_code: int, slack_error: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.slack_error = slack_error

    @property
    def payload_rejected(self) -> bool:
        """True when the webhook works but Slack refused this message's content (blocks, size)."""
        return self.status_code == 400 and self.slack_error.strip() in PAYLOAD_ERRORS


@dataclass(frozen=True)
class WebhookDelivery:
    status_code: int
    attempts: int
    body: str


def import_webhook_client() -> None:
    """Import slack_sdk's webhook client now: for a stage that posts on every invocation, from its handler module."""
    import functions.shared.adapters.slack_retries  # noqa: F401  (imported for its cost, at init)


class SlackWebhook:
    """Sends a message body to the webhook of a route.

    `webhook_url` resolves a route to its URL (normally `functions.shared.adapters.secrets.webhook_url_for`);
    `sleep` is injectable so tests can check the honoured wait without waiting.
    """

    def __init__(
        self,
        webhook_url: Callable[[Route], str],
        *,
        timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
        max_retry_after_seconds: float = DEFAULT_MAX_RETRY_AFTER_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._webhook_url = webhook_url
        self._timeout = timeout_seconds
        self._max_wait = max_retry_after_seconds
        self._sleep = sleep

    def send(self, route: Route, body: dict[str, Any]) -> WebhookDelivery:
        """POST `body` to the route's webhook, as given plus `NO_UNFURLING`.

        Raises:
            ConfigurationError: no webhook URL for the route (from the resolver).
            SlackRateLimitedError: still 429 after honouring Retry-After once, or Slack asked to wait too long.
            SlackRejectedError: any other non-200 answer (a SlackPostError carrying the status and Slack's reason).
            SlackPostError: the webhook could not be reached.
        """
        from functions.shared.adapters.slack_retries import Attempts, webhook_client  # see the module docstring

        url = self._webhook_url(route)
        attempts = Attempts()
        client = webhook_client(url, self._timeout, attempts, max_wait=self._max_wait, sleep=self._sleep)
        try:
            response = client.send_dict({**body, **NO_UNFURLING})
        except Exception as exc:  # urllib raises several unrelated types for an unreachable host
            raise SlackPostError(
                f"Slack webhook for route {route!r} unreachable after {attempts.count} attempt(s): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        status = int(response.status_code or 0)
        text = str(response.body or "")
        if status == 200:
            return WebhookDelivery(status, attempts.count, text)
        if status == 429:
            wait = attempts.last_retry_after
            raise SlackRateLimitedError(
                f"Slack rate-limited the {route!r} webhook after {attempts.count} attempt(s)"
                + (f" (Retry-After: {wait:g} s)" if wait is not None else "")
            )
        raise SlackRejectedError(
            f"Slack rejected the message for route {route!r}: HTTP {status} {text[:300]!r} "
            f"after {attempts.count} attempt(s)",
            status_code=status,
            slack_error=text[:300],
        )
