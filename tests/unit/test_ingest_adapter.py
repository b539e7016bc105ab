"""The Step Functions starter's reading of StartExecution answers (with a stub client: no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.shared.adapters.stepfunctions import StepFunctionsStarter

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:alert-intel-pipeline"


class StubClient:
    def __init__(self, answer: dict[str, Any] | None = None, error_code: str | None = None) -> None:
        self.answer = answer or {}
        self.error_code = error_code
        self.calls: list[dict[str, Any]] = []

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "no"}}, "StartExecution")
        return self.answer


def test_new_execution_is_started() -> None:
    # Given
    client = StubClient({"executionArn": "arn:x", "startDate": datetime.now(UTC)})
    # When
    status = StepFunctionsStarter(ARN, client).start("critical-alarm-1", '{"route": "critical"}')
    # Then
    assert status == "started"
    assert client.calls == [{"stateMachineArn": ARN, "name": "critical-alarm-1", "input": '{"route": "critical"}'}]


def test_execution_already_exists_is_a_duplicate() -> None:
    assert StepFunctionsStarter(ARN, StubClient(error_code="ExecutionAlreadyExists")).start("n", "{}") == "duplicate"


def test_idempotent_answer_with_an_old_start_date_is_a_duplicate() -> None:
    # Given Step Functions handing back the running execution started a minute ago
    client = StubClient({"executionArn": "arn:x", "startDate": datetime.now(UTC) - timedelta(minutes=1)})
    # Then
    assert StepFunctionsStarter(ARN, client).start("n", "{}") == "duplicate"


@pytest.mark.parametrize("code", ["ThrottlingException", "StateMachineDoesNotExist", "AccessDeniedException"])
def test_other_failures_propagate_for_the_delivery_retry(code: str) -> None:
    with pytest.raises(ClientError):
        StepFunctionsStarter(ARN, StubClient(error_code=code)).start("n", "{}")
