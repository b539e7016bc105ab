"""ECS, Step Functions (customer state machines) and API Gateway reads: what an SRE opens first for each.

Every call is a bounded read wrapped in `aws_read` with the IAM action it needs; a resource that does not exist
reads as None (or empty), never as an error, so the investigation can say "not found" in words.
"""

from __future__ import annotations

from typing import Any

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read, aws_read_or_none
from functions.shared.cache import cache_key, cached

_NOT_FOUND = frozenset(
    {
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "StateMachineDoesNotExist",
        "ExecutionDoesNotExist",
        "InvalidArn",
        "NotFoundException",
        "ResourceNotFoundException",
    }
)


class EcsReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("ecs", region)
        self._region = region

    def service(self, cluster: str, service: str) -> dict[str, Any] | None:
        """`DescribeServices` for one service (deployments, events, counts); None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ecs:DescribeServices"), AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "ecs:DescribeServices",
            self._client.describe_services,
            not_found=_NOT_FOUND,
            cluster=cluster,
            services=[service],
        )
        if response is None:
            return None
        found = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
        return dict(found[0]) if found else None

    def services(self, cluster: str, limit: int = 10) -> list[dict[str, Any]]:
        """The cluster's services (at most `limit`, described: counts, deployments, events).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ecs:ListServices", "ecs:DescribeServices"),
            AwsReadUnavailableError.
        """
        listed = aws_read_or_none(
            "ecs:ListServices", self._client.list_services, not_found=_NOT_FOUND, cluster=cluster, maxResults=limit
        )
        arns = (listed or {}).get("serviceArns", [])
        if not arns:
            return []
        response = aws_read(
            "ecs:DescribeServices", self._client.describe_services, cluster=cluster, services=arns[:limit]
        )
        return [dict(s) for s in response.get("services", []) if s.get("status") != "INACTIVE"]

    def cluster(self, cluster: str) -> dict[str, Any] | None:
        """`DescribeClusters` for one cluster (task counts, container instances, capacity providers).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ecs:DescribeClusters"), AwsReadUnavailableError.
        """
        response = aws_read("ecs:DescribeClusters", self._client.describe_clusters, clusters=[cluster])
        found = response.get("clusters", [])
        return dict(found[0]) if found else None

    def stopped_tasks(self, cluster: str, service: str | None, limit: int = 5) -> list[dict[str, Any]]:
        """The most recently stopped tasks of a service (or of the cluster), at most `limit`, newest first.
        ECS keeps stopped tasks for about an hour, so these are the recent ones.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ecs:ListTasks", "ecs:DescribeTasks"), AwsReadUnavailableError.
        """
        params: dict[str, Any] = {"cluster": cluster, "desiredStatus": "STOPPED", "maxResults": 50}
        if service:
            params["serviceName"] = service
        listed = aws_read_or_none("ecs:ListTasks", self._client.list_tasks, not_found=_NOT_FOUND, **params)
        arns = (listed or {}).get("taskArns", [])
        if not arns:
            return []
        tasks = aws_read("ecs:DescribeTasks", self._client.describe_tasks, cluster=cluster, tasks=arns[:50])
        stopped = [dict(t) for t in tasks.get("tasks", [])]
        stopped.sort(key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""), reverse=True)
        return stopped[:limit]

    def task_definition(self, task_definition: str) -> dict[str, Any] | None:
        """`DescribeTaskDefinition`: memory, cpu and the containers (their log configuration).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ecs:DescribeTaskDefinition"), AwsReadUnavailableError.
        """
        return cached(
            cache_key("ecs.task_definition", self._region, task_definition),
            lambda: self._task_definition(task_definition),
        )

    def _task_definition(self, task_definition: str) -> dict[str, Any] | None:
        response = aws_read_or_none(
            "ecs:DescribeTaskDefinition",
            self._client.describe_task_definition,
            not_found=_NOT_FOUND,
            not_found_message="Unable to describe task definition",
            taskDefinition=task_definition,
        )
        return dict((response or {}).get("taskDefinition") or {}) or None


class WorkflowReader:
    """A customer's state machine: its definition's dates and its recent failed executions."""

    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("stepfunctions", region)
        self._region = region

    def state_machine(self, arn: str) -> dict[str, Any] | None:
        """`DescribeStateMachine`; None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("states:DescribeStateMachine"), AwsReadUnavailableError.
        """
        machine = aws_read_or_none(
            "states:DescribeStateMachine",
            self._client.describe_state_machine,
            not_found=_NOT_FOUND,
            stateMachineArn=arn,
        )
        return None if machine is None else dict(machine)

    def executions(self, arn: str, status: str, limit: int = 5) -> list[dict[str, Any]]:
        """The newest executions with `status` ("FAILED", "TIMED_OUT"), at most `limit`.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("states:ListExecutions"), AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "states:ListExecutions",
            self._client.list_executions,
            not_found=_NOT_FOUND,
            stateMachineArn=arn,
            statusFilter=status,
            maxResults=limit,
        )
        return [dict(e) for e in (response or {}).get("executions", [])][:limit]

    def last_events(self, execution_arn: str, limit: int = 25) -> list[dict[str, Any]]:
        """The execution's last `limit` history events, newest first (where it failed is at the end).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("states:GetExecutionHistory"), AwsReadUnavailableError.
        """
        response = aws_read(
            "states:GetExecutionHistory",
            self._client.get_execution_history,
            executionArn=execution_arn,
            reverseOrder=True,
            maxResults=limit,
            includeExecutionData=False,
        )
        events = [dict(e) for e in response.get("events", [])]
        # moto ignores reverseOrder: order by id, newest first, either way.
        events.sort(key=lambda e: int(e.get("id") or 0), reverse=True)
        return events[:limit]


class ApiGatewayReader:
    """REST APIs (API Gateway v1) by name and HTTP APIs (v2) by id: integrations and stage settings."""

    def __init__(self, rest: Any = None, http: Any = None, region: str | None = None) -> None:
        self._rest = rest or aws_client("apigateway", region)
        self._http = http or aws_client("apigatewayv2", region)
        self._region = region

    def rest_api_id(self, name: str) -> str | None:
        """The id of the REST API named `name` (CloudWatch names REST APIs by name), None when there is none.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("apigateway:GET"), AwsReadUnavailableError.
        """
        apis = aws_read("apigateway:GET", self._rest.get_rest_apis, limit=500).get("items", [])
        return next((str(a["id"]) for a in apis if a.get("name") == name and a.get("id")), None)

    def rest_integrations(self, api_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """Each method's integration (path, httpMethod, type, uri, timeoutInMillis), at most `limit`.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("apigateway:GET"), AwsReadUnavailableError.
        """
        resources = aws_read(
            "apigateway:GET", self._rest.get_resources, restApiId=api_id, limit=100, embed=["methods"]
        ).get("items", [])
        found: list[dict[str, Any]] = []
        for resource in resources:
            for method, detail in (resource.get("resourceMethods") or {}).items():
                integration = (detail or {}).get("methodIntegration")
                if integration is None:
                    integration = self._rest_integration(api_id, str(resource.get("id")), method)
                if integration:
                    found.append({**integration, "path": resource.get("path"), "httpMethod": method})
                if len(found) >= limit:
                    return found
        return found

    def _rest_integration(self, api_id: str, resource_id: str, method: str) -> dict[str, Any] | None:
        response = aws_read_or_none(
            "apigateway:GET",
            self._rest.get_integration,
            not_found=_NOT_FOUND,
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=method,
        )
        if response is None:
            return None
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def rest_stage(self, api_id: str, stage: str) -> dict[str, Any] | None:
        """The stage's settings (method throttling, logging, deployment); None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("apigateway:GET"), AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "apigateway:GET", self._rest.get_stage, not_found=_NOT_FOUND, restApiId=api_id, stageName=stage
        )
        if response is None:
            return None
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def http_integrations(self, api_id: str) -> list[dict[str, Any]]:
        """The HTTP API's integrations (type, uri, timeoutInMillis); empty when the API does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("apigateway:GET"), AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "apigateway:GET", self._http.get_integrations, not_found=_NOT_FOUND, ApiId=api_id, MaxResults="25"
        )
        return [dict(i) for i in (response or {}).get("Items", [])]

    def http_stage(self, api_id: str, stage: str) -> dict[str, Any] | None:
        """The HTTP API stage's settings (default route throttling, access logs); None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("apigateway:GET"), AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "apigateway:GET", self._http.get_stage, not_found=_NOT_FOUND, ApiId=api_id, StageName=stage
        )
        if response is None:
            return None
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}
