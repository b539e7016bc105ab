"""The Format Lambda's boundary: the event shape the state machine sends, and what it returns for Post."""

from __future__ import annotations

import pytest

from functions.format.handler import handler
from functions.local_runner.moto_lambda import FakeLambdaContext
from functions.shared.errors import InvalidStageInputError
from functions.shared.models import PostInput

ALERT = {
    "source": "budget",
    "alert_type": "budget_threshold_exceeded",
    "severity": "critical",
    "title": "monthly-total exceeded 100% of $500.00",
    "details": {"budget_name": "monthly-total", "budgeted_amount": 500, "actual_amount": 612.4},
    "dedup_key": "budget:123456789012:monthly-total:100",
}
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:alert-intel-pipeline:abc"


def invoke(event: dict) -> dict:
    return handler(event, FakeLambdaContext(function_name="alert-intel-format"))


def test_state_envelope_becomes_a_post_input() -> None:
    # Given the event as "Format Slack Message" builds it, after the analysis failed entirely
    event = {
        "state": {
            "route": "critical",
            "alert": ALERT,
            "context": {"cost": {"name": "cost", "status": "ok"}},
            "analysis_failure": {"Error": "Lambda.Unknown", "Cause": "boom"},
        },
        "execution_id": EXECUTION,
        "started_at": "2026-11-25T19:00:00.123Z",
    }

    # When
    output = invoke(event)

    # Then the output is exactly what "Post To Slack" selects from
    assert output["route"] == "critical"
    assert output["dedup_key"] == "budget:123456789012:monthly-total:100"
    assert output["title"] == "monthly-total exceeded 100% of $500.00"
    post_input = PostInput.model_validate(
        {"route": output["route"], "dedup_key": output["dedup_key"], "message": output["message"]}
    )
    footer = [e["text"] for e in post_input.message.blocks[-1]["elements"]]
    assert footer[-1].endswith(f"#/v2/executions/details/{EXECUTION}|View run>")
    assert output["thread"]["blocks"]  # the evidence goes to the thread
    assert "Lambda.Unknown" in post_input.message.model_dump_json()


def test_a_bare_format_input_is_accepted_too() -> None:
    output = invoke({"route": "heartbeat", "alert": ALERT})
    assert output["route"] == "heartbeat"


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_state_without_an_alert_is_rejected_by_name() -> None:
    with pytest.raises(InvalidStageInputError, match="alert"):
        invoke({"state": {"route": "critical"}, "execution_id": EXECUTION})
