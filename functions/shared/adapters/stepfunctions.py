"""Starting alert-pipeline executions (ingest) and reading a failed one's input (recover)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from botocore.exceptions import ClientError

from functions.shared.adapters.aws import aws_client
from functions.shared.settings import get_ingest_settings

StartStatus = Literal["started", "duplicate"]

# Step Functions answers StartExecution with the *existing* execution when the same name and input arrive while
# it is still running; an execution that started this long before our call is such an earlier one.
_EARLIER_EXECUTION_SLACK = timedelta(seconds=2)


class StepFunctionsStarter:
    """Starts executions of one state machine, treating a name already used as a duplicate delivery."""

    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("stepfunctions", self.state_machine_arn.split(":")[3] or None)
        return self._client

    def start(self, name: str, input_json: str) -> StartStatus:
        """Start execution `name` with `input_json`.

        Returns "started" for a new execution and "duplicate" when an execution of that name already exists
        (ExecutionAlreadyExists, or the idempotent answer for the same name and input while it still runs).

        Raises:
            botocore.exceptions.ClientError: any other StartExecution failure (throttling, missing state machine,
                access denied); the caller's delivery retry (SNS / EventBridge / Lambda async) tries again.
        """
        called_at = datetime.now(UTC)
        try:
            response = self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=input_json)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return "duplicate"
            raise
        started_at = response.get("startDate")
        if isinstance(started_at, datetime):
            started_at = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
            if started_at < called_at - _EARLIER_EXECUTION_SLACK:
                return "duplicate"
        return "started"


@lru_cache(maxsize=1)
def step_functions_starter() -> StepFunctionsStarter:
    """The starter for the configured state machine (STATE_MACHINE_ARN).

    Raises:
        ConfigurationError: STATE_MACHINE_ARN is not set.
    """
    return StepFunctionsStarter(get_ingest_settings().state_machine_arn)


class ExecutionReader:
    """Reads one execution's input, for the recover stage when EventBridge left the input out (it was large)."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    def execution_input(self, execution_arn: str) -> str | None:
        """The execution's input as JSON text, or None when it cannot be read (the message then says so).

        Never raises: the minimal message is posted with or without the input.
        """
        try:
            client = self._client or aws_client("stepfunctions", execution_arn.split(":")[3] or None)
            response = client.describe_execution(executionArn=execution_arn)
        except Exception:
            return None
        value = response.get("input")
        return value if isinstance(value, str) else None
