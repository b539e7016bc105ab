"""Posting one message to a Slack incoming webhook.

Slack's `Retry-After` is honoured once inside the function (waiting at most `max_retry_after_seconds`, so the
Lambda timeout holds); a second 429, or a `Retry-After` longer than that, becomes `SlackRateLimitedError` and the
state machine retries with backoff. Any other failure (400 invalid_payload, 403, 404 no_service, 410
channel_is_archived, connection errors) is `SlackPostError`: retrying cannot fix a bad webhook or payload, so the
run fails loudly.

Every body goes out with `unfurl_links: false` and `unfurl_media: false`: a message quotes alert text, and Slack must
not fetch or preview a page it names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

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


def retry_after_seconds(headers: dict[str, Any]) -> float | None:
    """Slack's Retry-After header in seconds (header values may be strings or one-element lists)."""
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


class _Attempts:
    def __init__(self) -> None:
        self.count = 1
        self.last_retry_after: float | None = None


class _HonourRetryAfterOnce(RateLimitErrorRetryHandler):
    """Slack's own rate-limit handler, but with a bounded wait and no retry when Slack asks for too long."""

    def __init__(self, attempts: _Attempts, max_wait: float, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=1)
        self._attempts = attempts
        self._max_wait = max_wait
        self._sleep = sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(dict(response.headers))
        self._attempts.last_retry_after = wait
        return wait is None or wait <= self._max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = self._attempts.last_retry_after
        self._sleep(1.0 if wait is None else wait)
        state.next_attempt_requested = True
        state.increment_current_attempt()
        self._attempts.count += 1


class _Counted(RetryHandler):
    """One of slack_sdk's retry decisions (server error, connection error), with our sleep and attempt count."""

    def __init__(self, inner: RetryHandler, attempts: _Attempts, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator)
        self._inner = inner
        self._attempts = attempts
        self._sleep = sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return self._inner.can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()
        self._attempts.count += 1


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
        url = self._webhook_url(route)
        attempts = _Attempts()
        client = WebhookClient(
            url,
            timeout=self._timeout,
            retry_handlers=[
                _HonourRetryAfterOnce(attempts, self._max_wait, self._sleep),
                _Counted(ServerErrorRetryHandler(max_retry_count=1), attempts, self._sleep),
                _Counted(ConnectionErrorRetryHandler(max_retry_count=1), attempts, self._sleep),
            ],
        )
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
