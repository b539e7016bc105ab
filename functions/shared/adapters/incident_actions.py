"""What a Slack button click reads and writes in AWS (`functions.chat.actions`).

* `IncidentActionsTable`: the incident record Post keeps (`ConversationTable.incident`), and `UpdateItem` of the
  click's own fields (acknowledged, muted), so a click never rewrites what Post wrote meanwhile (counts, status,
  blocks), nor Post a click (decision 0020).
* `PipelineRuns`: the input of a heartbeat run (`DescribeExecution`) and the start of an on-demand critical run
  (`StartExecution`) of the alert pipeline.
"""

from __future__ import annotations

from typing import Any, Literal

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.conversations import ConversationTable
from functions.shared.adapters.stepfunctions import ExecutionReader, StepFunctionsStarter


class IncidentActionsTable:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self._table = ConversationTable(table_name, client)

    @property
    def client(self) -> Any:
        return self._client or aws_client("dynamodb")

    def incident(self, key: str) -> dict[str, Any] | None:
        """Raises ConversationStoreError (see `ConversationTable.incident`)."""
        return self._table.incident(key)

    def update_incident(self, key: str, fields: dict[str, Any], *, message_ts: str) -> dict[str, Any]:
        """Set `fields` inside the stored incident record, leaving its other fields as they are, while the record is
        still the message `message_ts` (the one clicked); returns the record as stored after the update.

        Raises:
            IncidentRecordConflictError: the record is gone (expired) or belongs to another message now.
            ConversationStoreError: the write failed.
        """
        return self._table.update_incident(key, fields, expect={"ts": message_ts})


class PipelineRuns:
    """Executions of the alert pipeline `state_machine_arn`."""

    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._reader = ExecutionReader(client)
        self._starter = StepFunctionsStarter(state_machine_arn, client)

    def execution_arn(self, name: str) -> str:
        """`arn:…:stateMachine:<machine>` → `arn:…:execution:<machine>:<name>`."""
        head, _, machine = self.state_machine_arn.rpartition(":stateMachine:")
        return f"{head}:execution:{machine}:{name}"

    def execution_input(self, name: str) -> str | None:
        """The input of the execution `name`, or None when it cannot be read. Never raises."""
        return self._reader.execution_input(self.execution_arn(name))

    def start(self, name: str, input_json: str) -> Literal["started", "duplicate"]:
        """Raises botocore ClientError for any failure but a name already used (see `StepFunctionsStarter`)."""
        return self._starter.start(name, input_json)
