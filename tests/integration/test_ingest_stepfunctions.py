"""Ingest against Step Functions (moto): one execution per alert, and a redelivery starts nothing new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from functions.ingest.handler import handler
from functions.ingest.logic import execution_name, pipeline_inputs_from_event, start_pipeline
from functions.shared.adapters.aws import reset_clients
from functions.shared.adapters.stepfunctions import StepFunctionsStarter, step_functions_starter
from functions.shared.errors import ConfigurationError
from functions.shared.models import PipelineInput
from functions.shared.settings import clear_settings_caches
from tests.support.events import load_event

PASS_DEFINITION = json.dumps({"StartAt": "Accept", "States": {"Accept": {"Type": "Pass", "End": True}}})


class _Context:
    function_name = "alert-intel-ingest"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:alert-intel-ingest"
    aws_request_id = "9a8b7c6d-0000-4000-8000-000000000002"


def _reset_caches() -> None:
    clear_settings_caches()
    reset_clients()
    step_functions_starter.cache_clear()


@pytest.fixture
def state_machine_arn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        arn = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
            name="alert-intel-pipeline",
            definition=PASS_DEFINITION,
            roleArn="arn:aws:iam::123456789012:role/alert-intel-pipeline",
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        _reset_caches()
        yield arn
    _reset_caches()


def _executions(state_machine_arn: str) -> list[dict]:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    return client.list_executions(stateMachineArn=state_machine_arn)["executions"]


def test_handler_starts_one_execution_and_a_redelivery_starts_nothing(state_machine_arn: str) -> None:
    # Given the demo alarm delivered by SNS
    event = load_event("cloudwatch_alarm_sns.json")
    # When it is delivered twice
    first = handler(event, _Context())
    second = handler(event, _Context())
    # Then
    assert (first["started"], first["duplicates"]) == (1, 0)
    assert (second["started"], second["duplicates"]) == (0, 1)
    executions = _executions(state_machine_arn)
    assert len(executions) == 1
    assert executions[0]["name"] == first["executions"][0]["execution_name"]
    assert executions[0]["name"].startswith("critical-alarm-ImageProcessor-Invocations-Spike-")


def test_execution_input_is_the_pipeline_input(state_machine_arn: str) -> None:
    # Given
    handler(load_event("budget_notification_sns.json"), _Context())
    (execution,) = _executions(state_machine_arn)
    client = boto3.client("stepfunctions", region_name="us-east-1")
    # When
    described = client.describe_execution(executionArn=execution["executionArn"])
    # Then
    pipeline_input = PipelineInput.model_validate_json(described["input"])
    assert pipeline_input.route == "critical"
    assert pipeline_input.delivery == "sns"
    assert pipeline_input.payload.startswith("AWS Budget Notification")
    assert execution["name"] == execution_name(pipeline_input)


def test_security_hub_event_starts_one_execution_per_finding(state_machine_arn: str) -> None:
    # When
    summary = handler(load_event("securityhub_findings_imported.json"), _Context())
    # Then
    assert summary["started"] == 2
    assert len(_executions(state_machine_arn)) == 2


def test_subscription_confirmation_starts_nothing_and_says_so(state_machine_arn: str) -> None:
    # When
    summary = handler(load_event("sns_subscription_confirmation.json"), _Context())
    # Then
    assert summary["started"] == 0
    assert "SubscriptionConfirmation" in summary["notices"][0]
    assert _executions(state_machine_arn) == []


def test_same_name_and_same_input_starts_nothing_new(state_machine_arn: str) -> None:
    # Given the very same execution input sent twice (Step Functions answers idempotently while it runs)
    inputs = pipeline_inputs_from_event(load_event("custom_app_error.json"), now=datetime(2026, 11, 25, tzinfo=UTC))
    starter = StepFunctionsStarter(state_machine_arn)
    # When
    start_pipeline(inputs, starter)
    start_pipeline(inputs, starter)
    # Then
    assert len(_executions(state_machine_arn)) == 1


def test_missing_state_machine_arn_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    _reset_caches()
    # When / Then
    with pytest.raises(ConfigurationError, match="STATE_MACHINE_ARN"):
        step_functions_starter()
    _reset_caches()
