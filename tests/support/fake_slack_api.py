"""The loopback Slack Web API server the tests use: the runtime one (`functions.local_runner.slack_web_api`), so
`alert-intel run --slack web` and the tests speak to the same server."""

from __future__ import annotations

from functions.local_runner.slack_web_api import ApiCall, FakeSlackApi, QueuedAnswer

__all__ = ["ApiCall", "FakeSlackApi", "QueuedAnswer"]
