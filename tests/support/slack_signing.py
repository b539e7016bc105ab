"""Requests signed the way Slack signs them: `v0=` + HMAC-SHA256(signing secret, `v0:{timestamp}:{body}`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_request(
    payload: dict[str, Any] | str,
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> tuple[str, dict[str, str]]:
    """The raw body and headers of an Events API POST; `timestamp` defaults to now (a fresh request)."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret, stamp, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return body, headers
