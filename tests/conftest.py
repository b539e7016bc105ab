"""What every test shares: one pinned clock, dummy AWS credentials, and no state left behind between tests.

The suite must pass on any date and in any order (pytest-randomly shuffles it). So:

* "now" is one pinned instant for the whole session (`PINNED_NOW`, a mid-month weekday afternoon), ticking forward
  from there so timeouts and sleeps still behave. Code under test reads the clock as usual; the calendar edges
  (the 1st of a month, 1 January, 29 February, a daylight-saving change) are tested explicitly with `travel_to`.
* AWS credentials are dummies, so nothing can reach a real account, and every Bedrock test signs with them.
* The anthropic SDK caches one boto3 session per process; a test that ran inside moto would otherwise leave moto's
  keys behind for the next test's Bedrock signature.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import time_machine

PINNED_NOW = datetime(2026, 11, 18, 14, 30, 0, tzinfo=UTC)

DUMMY_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def travel_to(moment: datetime, *, tick: bool = True) -> Iterator[None]:
    """Run the block with the clock at `moment` (nested inside the session's pinned clock)."""
    with time_machine.travel(moment, tick=tick):
        yield


@pytest.fixture(scope="session", autouse=True)
def pinned_clock() -> Iterator[datetime]:
    """The session's clock starts at `PINNED_NOW`, whatever the machine's date."""
    with time_machine.travel(PINNED_NOW, tick=True):
        yield PINNED_NOW


@pytest.fixture(scope="session", autouse=True)
def dummy_aws_credentials() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (*DUMMY_AWS_ENVIRONMENT, "AWS_PROFILE")}
    os.environ.update(DUMMY_AWS_ENVIRONMENT)
    os.environ.pop("AWS_PROFILE", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def no_metrics_carried_over() -> Iterator[None]:
    """Powertools keeps one metric set per process, shared by every `Metrics()`: a test that adds metrics without a
    flush (logic called without its handler's decorator) would otherwise hand them, and their dimensions, to the
    next test that serializes a record."""
    from aws_lambda_powertools import Metrics

    Metrics().clear_metrics()
    yield
    Metrics().clear_metrics()


@pytest.fixture(autouse=True)
def forget_cached_sessions() -> Iterator[None]:
    """Forget the anthropic SDK's cached boto3 session before and after each test (see the module docstring)."""
    _forget_anthropic_sessions()
    yield
    _forget_anthropic_sessions()


def _forget_anthropic_sessions() -> None:
    try:
        from anthropic.lib.aws import _auth
    except ImportError:  # pragma: no cover - the SDK moved its internals
        return
    cache_clear = getattr(_auth._get_session, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()
