"""What the "Post Minimal Message" state and the failed-execution rule hand to the recover stage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.models import Route


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CaughtFailure(_Model):
    """A Catch's error output, as Step Functions writes it."""

    error: str = Field(default="States.ALL", alias="Error")
    cause: Any = Field(default=None, alias="Cause")


class CaughtFailureInput(_Model):
    """From the state machine's own Catch: the failure, the execution input as it arrived, and the run's id."""

    failure: CaughtFailure = Field(default_factory=CaughtFailure)
    execution_input: Any = None
    execution_id: str | None = None


class ExecutionStatusDetail(_Model):
    """`detail` of EventBridge's "Step Functions Execution Status Change" event."""

    execution_arn: str = Field(default="", alias="executionArn")
    state_machine_arn: str = Field(default="", alias="stateMachineArn")
    status: str = ""
    input: str | None = None  # the execution input as JSON text; left out by EventBridge when it is too large
    error: str | None = None
    cause: str | None = None


class ExecutionStatusEvent(_Model):
    source: Literal["aws.states"]
    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatusDetail


class RecoverResult(_Model):
    posted: bool
    route: Route = "critical"
    reason: str = ""  # why nothing was posted, e.g. "Post itself failed: left to the dead-letter alarm"
    status_code: int | None = None
