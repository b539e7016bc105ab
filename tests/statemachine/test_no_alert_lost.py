"""Every alert becomes a message: the cases that once lost one, on the real state machine.

Each test sends what arrived through ingest (as AWS would deliver it) and the real ASL, and asserts that one message
was posted, that it says what the alert is, and that no state's output grew past the 32 KB target.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from functions.ingest.logic import pipeline_inputs_from_event, pipeline_inputs_from_raw
from functions.local_runner.runner import RunResult, SimulatedAccount, simulated_account
from functions.shared.models import PipelineInput
from functions.shared.payload_bounds import MAX_STATE_OUTPUT_BYTES
from functions.shared.stage_io import bounded_stage
from functions.shared.untrusted_text import has_invisible_controls
from tests.support.events import load_event

BIDI_AND_ZERO_WIDTH = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufeff\u200b"


@pytest.fixture(scope="module")
def account() -> Iterator[SimulatedAccount]:
    with simulated_account(quick_retries=True) as acct:
        yield acct


@pytest.fixture(autouse=True)
def _no_overrides(account: SimulatedAccount) -> Iterator[None]:
    yield
    account.lambdas.overrides.clear()
    account.sink.queued.clear()


def _run(account: SimulatedAccount, pipeline_input: PipelineInput) -> RunResult:
    return account.execute(pipeline_input, name=f"test-{uuid.uuid4().hex[:12]}")


def _sns_event(message: str, topic: str = "critical-alerts", subject: str | None = None) -> dict[str, Any]:
    sns: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": f"arn:aws:sns:us-east-1:123456789012:{topic}",
        "Message": message,
        "Timestamp": "2026-11-18T14:00:00.000Z",
    }
    if subject is not None:
        sns["Subject"] = subject
    return {"Records": [{"EventSource": "aws:sns", "Sns": sns}]}


def _one_input(event: Any) -> PipelineInput:
    (pipeline_input,) = pipeline_inputs_from_event(event)
    return pipeline_input


def _posted_text(result: RunResult) -> str:
    """Every string in the posted message, joined: what a reader could see."""
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(result.slack_posts)
    return "\n".join(strings)


def _assert_posted_once_within_bounds(result: RunResult) -> dict[str, Any]:
    assert len(result.slack_posts) == 1, (result.status, result.error, result.cause)
    assert result.max_state_output_bytes <= MAX_STATE_OUTPUT_BYTES, [(s.name, s.output_bytes) for s in result.states]
    message = result.slack_posts[0]
    assert message["text"].strip()
    assert json.dumps(message).encode("utf-8")  # a lone surrogate would fail here
    return message


def _header(message: dict[str, Any]) -> str:
    return next(b["text"]["text"] for b in message["blocks"] if b["type"] == "header")


def _alarm(reason: str, *, name: str = "ImageProcessor-Errors", description: str = "Errors on ImageProcessor") -> str:
    alarm = json.loads(load_event("cloudwatch_alarm_sns.json")["Records"][0]["Sns"]["Message"])
    alarm.update({"AlarmName": name, "AlarmDescription": description, "NewStateReason": reason})
    return json.dumps(alarm, ensure_ascii=False)


def test_a_lone_surrogate_in_an_sns_message_is_posted(account: SimulatedAccount) -> None:
    # Given an application that cut an emoji in half: JSON.stringify writes a lone surrogate escape
    message = (
        '{"service": "checkout", "severity": "critical", "message": "Payment failed \\ud83d", "error": "E\\udc00"}'
    )
    pipeline_input = _one_input(_sns_event(message))

    # When it runs
    result = _run(account, pipeline_input)

    # Then it is posted, with the broken character replaced
    assert result.succeeded, result.cause
    _assert_posted_once_within_bounds(result)
    assert "Payment failed \ufffd" in _posted_text(result)


def test_an_alarm_reason_of_58000_astral_characters_is_posted_as_that_alarm(account: SimulatedAccount) -> None:
    # Given a valid 234 KB SNS message: a CloudWatch alarm whose reason is 58,000 emoji
    pipeline_input = _one_input(_sns_event(_alarm("😀" * 58_000)))

    # When it runs
    result = _run(account, pipeline_input)

    # Then it is posted as the CloudWatch alarm it is, and no state grew past the target
    assert result.succeeded, result.cause
    _assert_posted_once_within_bounds(result)
    classified = next(s for s in result.states if s.name == "Classify Alert").output
    assert classified["alert"]["source"] == "cloudwatch_alarm"
    assert classified["alert"]["details"]["alarm_name"] == "ImageProcessor-Errors"


def test_a_50kb_alarm_description_keeps_every_state_small(account: SimulatedAccount) -> None:
    result = _run(account, _one_input(_sns_event(_alarm("Threshold Crossed", description="d" * 50_000))))
    assert result.succeeded, result.cause
    _assert_posted_once_within_bounds(result)


def test_a_custom_error_with_a_200kb_stack_trace_stays_a_critical_application_error(
    account: SimulatedAccount,
) -> None:
    # Given a valid custom application error whose stack trace is 200 KB
    event = load_event("custom_app_error.json")
    assert isinstance(event, dict)
    event["stack_trace"] = "Traceback (most recent call last):\n" + '  File "app.py", line 1, in handler\n' * 6_000
    pipeline_input = pipeline_inputs_from_raw(json.dumps(event))[0]

    # When it runs
    result = _run(account, pipeline_input)

    # Then classification still sees the application error from its service, at its severity
    assert result.succeeded, result.cause
    _assert_posted_once_within_bounds(result)
    alert = next(s for s in result.states if s.name == "Classify Alert").output["alert"]
    assert alert["source"] == "custom"
    assert alert["severity"] == "critical"
    assert alert["details"].get("payload_truncated") is True


def test_a_deeply_nested_document_is_posted_raw(account: SimulatedAccount) -> None:
    # Given a file nested 100,000 levels deep
    raw = "[" * 100_000 + "]" * 100_000

    # When it runs
    (pipeline_input,) = pipeline_inputs_from_raw(raw)
    result = _run(account, pipeline_input)

    # Then it is posted as an unrecognised alert, raw
    assert result.succeeded, result.cause
    message = _assert_posted_once_within_bounds(result)
    assert "[[[" in json.dumps(message)


def test_bidi_and_zero_width_controls_never_reach_the_message(account: SimulatedAccount) -> None:
    # Given an alarm whose name and reason hide text direction overrides and zero-width characters
    name = f"Invoice{BIDI_AND_ZERO_WIDTH}Errors"
    result = _run(account, _one_input(_sns_event(_alarm(f"Reason {BIDI_AND_ZERO_WIDTH} here", name=name))))

    # Then none reaches any posted text, and they are shown visibly instead
    assert result.succeeded, result.cause
    _assert_posted_once_within_bounds(result)
    assert not has_invisible_controls(_posted_text(result))
    classified = next(s for s in result.states if s.name == "Classify Alert").output
    assert "\\u202e" in classified["alert"]["details"]["alarm_name"]


def test_a_budget_notification_with_an_appended_name_line_keeps_the_first(account: SimulatedAccount) -> None:
    # Given AWS's budget template, then a second "Budget Name:" line appended by someone else
    message = load_event("budget_notification_sns.json")["Records"][0]["Sns"]["Message"]
    message += "\nBudget Name: CEO-approved-no-action-needed\n"
    result = _run(account, _one_input(_sns_event(message, topic="critical-alerts")))

    assert result.succeeded, result.cause
    _assert_posted_once_within_bounds(result)
    alert = next(s for s in result.states if s.name == "Classify Alert").output["alert"]
    assert alert["details"]["budget_name"] == "monthly-aws-spend"
    assert alert["resource"]["name"] == "monthly-aws-spend"
    assert "CEO-approved" not in _posted_text(result)


def test_a_failing_stage_before_post_still_posts_a_minimal_message(account: SimulatedAccount) -> None:
    # Given a Classify stage that fails on everything
    def broken_classify(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise MemoryError("out of memory while classifying")

    account.lambdas.overrides["alert-intel-classify"] = broken_classify
    pipeline_input = pipeline_inputs_from_raw(json.dumps(load_event("cloudwatch_alarm_eventbridge.json")))[0]

    # When an alert runs
    result = _run(account, pipeline_input)

    # Then the Catch posted the minimal message: the error's name, the source, an excerpt of what arrived
    assert result.succeeded, result.cause
    assert "Post Minimal Message" in [s.name for s in result.states]
    message = _assert_posted_once_within_bounds(result)
    assert "could not process this alert: MemoryError" in _header(message)
    body = json.dumps(message["blocks"])
    assert "CloudWatch alarm" in body
    assert "Raw alert" in body


def test_a_format_failure_posts_the_minimal_message_too(account: SimulatedAccount) -> None:
    def broken_format(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise ValueError("cannot render " + "x" * 100_000)

    # (wrapped as every real stage is, so its 100 KB message is bounded before it reaches the state)
    account.lambdas.overrides["alert-intel-format"] = bounded_stage()(broken_format)
    result = _run(account, pipeline_inputs_from_raw(json.dumps(load_event("custom_app_error.json")))[0])
    assert result.succeeded, result.cause
    message = _assert_posted_once_within_bounds(result)
    assert "ValueError" in _header(message)


def test_an_uncatchable_runtime_error_is_posted_by_the_failed_execution_rule(account: SimulatedAccount) -> None:
    # Given a Format stage whose output lacks what Post's Parameters select: a States.Runtime error, which no
    # Catch sees, fails the whole run
    account.lambdas.overrides["alert-intel-format"] = lambda event, context: {"unexpected": True}
    pipeline_input = pipeline_inputs_from_raw(json.dumps(load_event("custom_app_error.json")))[0]

    # When it runs
    result = _run(account, pipeline_input)

    # Then the run failed, and the failed-execution rule's recover stage posted the minimal message
    assert result.status == "FAILED"
    assert result.recovery is not None and result.recovery["posted"] is True
    message = _assert_posted_once_within_bounds(result)
    assert "could not process this alert" in _header(message)


def test_a_failure_of_post_itself_is_not_posted_again(account: SimulatedAccount) -> None:
    # Given Slack refusing every message
    for _ in range(8):
        account.sink.queue(404, "no_service")

    result = _run(account, pipeline_inputs_from_raw(json.dumps(load_event("custom_app_error.json")))[0])

    # Then the run fails loudly (the failed-runs alarm), and recover does not try again
    assert result.status == "FAILED"
    assert result.recovery is not None and result.recovery["posted"] is False
    assert "Post itself failed" in result.recovery["reason"]
