"""Asynchronous Lambda invocation (InvocationType=Event): how the Slack endpoint hands work to the chat worker."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from functions.shared.adapters.aws import aws_client
from functions.shared.errors import AlertIntelError


class AsyncInvokeError(AlertIntelError):
    """Lambda did not accept the asynchronous invocation (throttled, missing function, no permission)."""


class AsyncLambdaInvoker:
    def __init__(self, function_name: str, client: Any | None = None) -> None:
        self.function_name = function_name
        self._client = client

    def invoke(self, payload: dict[str, Any]) -> None:
        """Queue `payload` for the function; returns once Lambda accepted it (HTTP 202).

        Raises:
            AsyncInvokeError: Lambda refused or failed the request.
        """
        client = self._client or aws_client("lambda")
        try:
            answer = client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps(payload).encode("utf-8"),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise AsyncInvokeError(f"async invoke of {self.function_name} failed: {code}") from exc
        status = answer.get("StatusCode")
        if status != 202:
            raise AsyncInvokeError(f"async invoke of {self.function_name} answered {status}")
