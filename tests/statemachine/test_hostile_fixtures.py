"""Hostile but valid alerts an independent review wrote (tests/events/hostile/), on the real state machine.

Each once got through: a Security Hub remediation URL on an AWS host that is not a console became a clickable link
(with an attacker's redirect, or a phishing label); a console link was built from a name that held a bidi control;
a valid alert with one absurdly deep field lost its classification; an alert-supplied region reached botocore.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from functions.ingest.logic import pipeline_inputs_from_raw
from functions.local_runner.runner import RunResult, SimulatedAccount, simulated_account
from functions.shared.console_links import is_console_url
from functions.shared.payload_bounds import MAX_STATE_OUTPUT_BYTES
from tests.support.events import EVENTS_DIR
from tests.support.slack_safety import slack_safety_violations

HOSTILE = EVENTS_DIR / "hostile"
_LINK = re.compile(r"<(https?://[^|>]+)\|")


@pytest.fixture(scope="module")
def account() -> Iterator[SimulatedAccount]:
    with simulated_account(quick_retries=True) as acct:
        yield acct


def _run(account: SimulatedAccount, name: str) -> RunResult:
    (pipeline_input, *_) = pipeline_inputs_from_raw((HOSTILE / name).read_bytes())
    result = account.execute(pipeline_input, name=f"test-{uuid.uuid4().hex[:12]}")
    assert result.succeeded, result.cause
    assert len(result.slack_posts) == 1
    assert result.max_state_output_bytes <= MAX_STATE_OUTPUT_BYTES
    return result


def _links(message: dict[str, Any]) -> list[str]:
    text = json.dumps(message, ensure_ascii=False)
    buttons = [
        element["url"]
        for block in message.get("blocks", [])
        for element in block.get("elements", [])
        if isinstance(element, dict) and element.get("url")
    ]
    return _LINK.findall(text) + buttons


def _classified(result: RunResult) -> dict[str, Any]:
    return next(s for s in result.states if s.name == "Classify Alert").output["alert"]


@pytest.mark.parametrize("name", ["sh-remediation-signin-redirect.json", "sh-remediation-docs-label.json"])
def test_a_remediation_url_on_a_non_console_aws_host_is_not_clickable(account: SimulatedAccount, name: str) -> None:
    message = _run(account, name).slack_posts[0]
    links = _links(message)
    assert all(is_console_url(url) for url in links), links
    assert not any("signin.aws.amazon.com" in url or "docs.aws.amazon.com" in url for url in links)
    assert slack_safety_violations(message) == []


def test_no_console_link_is_built_from_a_name_that_held_a_bidi_control(account: SimulatedAccount) -> None:
    message = _run(account, "cw-sns-bidi-name.json").slack_posts[0]
    links = _links(message)
    assert links, "the message still links the consoles it can"
    assert not any("%5C" in url.upper() or "\\" in url for url in links), links


@pytest.mark.parametrize(
    ("name", "source"), [("cw-eb-deep-nesting-desc.json", "cloudwatch_alarm"), ("app-deep-nesting.json", "custom")]
)
def test_one_absurdly_deep_field_does_not_cost_the_alert_its_classification(
    account: SimulatedAccount, name: str, source: str
) -> None:
    alert = _classified(_run(account, name))
    assert alert["source"] == source
    assert alert["severity"] == "critical"


def test_an_alert_supplied_region_that_is_not_a_region_reaches_no_aws_client(account: SimulatedAccount) -> None:
    result = _run(account, "cw-eb-region-evil.json")
    failures = [s for s in result.states if s.error == "InvalidRegionError"]
    assert failures == []
    text = json.dumps(result.slack_posts[0], ensure_ascii=False)
    assert "InvalidRegionError" not in text
