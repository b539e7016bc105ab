"""Lambda and EC2 reads: a function's configuration and concurrency, an instance's state and status checks."""

from __future__ import annotations

from typing import Any

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read, aws_read_or_none
from functions.shared.cache import cache_key, cached

_NOT_FOUND = frozenset({"ResourceNotFoundException", "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"})


class LambdaReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("lambda", region)
        self._region = region

    def function(self, name: str) -> dict[str, Any] | None:
        """`GetFunction`'s Configuration plus `ReservedConcurrentExecutions` when set; None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("lambda:GetFunction"), AwsReadUnavailableError.
        """
        return cached(cache_key("lambda.get_function", self._region, name), lambda: self._function(name))

    def _function(self, name: str) -> dict[str, Any] | None:
        response = aws_read_or_none(
            "lambda:GetFunction", self._client.get_function, not_found=_NOT_FOUND, FunctionName=name
        )
        if response is None:
            return None
        configuration = dict(response.get("Configuration", {}))
        reserved = (response.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
        if reserved is not None:
            configuration["ReservedConcurrentExecutions"] = reserved
        return configuration

    def function_names(self, limit: int = 50) -> list[str]:
        """Up to `limit` function names of the region.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("lambda:ListFunctions"), AwsReadUnavailableError.
        """
        return cached(cache_key("lambda.list_functions", self._region, limit), lambda: self._names(limit))

    def _names(self, limit: int) -> list[str]:
        names: list[str] = []
        marker: str | None = None
        while len(names) < limit:
            params: dict[str, Any] = {"MaxItems": min(50, limit - len(names))}
            if marker:
                params["Marker"] = marker
            response = aws_read("lambda:ListFunctions", self._client.list_functions, **params)
            names.extend(f["FunctionName"] for f in response.get("Functions", []))
            marker = response.get("NextMarker")
            if not marker:
                break
        return names[:limit]


class Ec2Reader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("ec2", region)
        self._region = region

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        """`DescribeInstances` for one instance; None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ec2:DescribeInstances"), AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "ec2:DescribeInstances", self._client.describe_instances, not_found=_NOT_FOUND, InstanceIds=[instance_id]
        )
        for reservation in (response or {}).get("Reservations", []):
            for instance in reservation.get("Instances", []):
                return dict(instance)
        return None

    def running_instances(self, limit: int = 200) -> list[dict[str, Any]]:
        """Running instances of the region, at most `limit`.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ec2:DescribeInstances"), AwsReadUnavailableError.
        """
        return cached(cache_key("ec2.running_instances", self._region, limit), lambda: self._running(limit))

    def _running(self, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while len(found) < limit:
            params: dict[str, Any] = {
                "Filters": [{"Name": "instance-state-name", "Values": ["running"]}],
                "MaxResults": 100,
            }
            if token:
                params["NextToken"] = token
            response = aws_read("ec2:DescribeInstances", self._client.describe_instances, **params)
            for reservation in response.get("Reservations", []):
                found.extend(dict(i) for i in reservation.get("Instances", []))
            token = response.get("NextToken")
            if not token:
                break
        return found[:limit]

    def instance_status(self, instance_id: str) -> dict[str, Any] | None:
        """`DescribeInstanceStatus` (system and instance status checks, scheduled events); None when not running.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ec2:DescribeInstanceStatus"), AwsReadUnavailableError.
        """
        response = aws_read(
            "ec2:DescribeInstanceStatus",
            self._client.describe_instance_status,
            InstanceIds=[instance_id],
            IncludeAllInstances=True,
        )
        statuses = response.get("InstanceStatuses", [])
        return dict(statuses[0]) if statuses else None
