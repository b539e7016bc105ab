"""slack_sdk's retry handlers as the webhook adapter uses them: Retry-After honoured once and bounded, one retry
on a server or connection error, every attempt counted. Imported by `slack_webhook` on its first send, so a Lambda
that never posts never loads slack_sdk (see that module's docstring)."""

from __future__ import annotations

from collections.abc import Callable
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


class Attempts:
    """How many requests one send made, and the last Retry-After Slack sent."""

    def __init__(self) -> None:
        self.count = 1
        self.last_retry_after: float | None = None


class _HonourRetryAfterOnce(RateLimitErrorRetryHandler):
    """Slack's own rate-limit handler, but with a bounded wait and no retry when Slack asks for too long."""

    def __init__(self, attempts: Attempts, max_wait: float, sleep: Callable[[float], None]) -> None:
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

    def __init__(self, inner: RetryHandler, attempts: Attempts, sleep: Callable[[float], None]) -> None:
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


def webhook_client(
    url: str, timeout: int, attempts: Attempts, *, max_wait: float, sleep: Callable[[float], None]
) -> WebhookClient:
    """slack_sdk's webhook client for `url`, retrying as the module docstring says and counting into `attempts`."""
    return WebhookClient(
        url,
        timeout=timeout,
        retry_handlers=[
            _HonourRetryAfterOnce(attempts, max_wait, sleep),
            _Counted(ServerErrorRetryHandler(max_retry_count=1), attempts, sleep),
            _Counted(ConnectionErrorRetryHandler(max_retry_count=1), attempts, sleep),
        ],
    )
