"""Seed ECS clusters and services, customer Step Functions state machines, and REST / HTTP APIs into moto.

Called by `functions.local_runner.seed.seed_account` inside an active mock. Times are relative to the run's `now`.
What moto cannot do through its APIs, set on its models here only:

- ECS: a service's running / pending counts, deployments (PRIMARY / ACTIVE, rollout state, createdAt) and service
  events are attributes of moto's Service model; a stopped task's stoppedReason, stopCode, stoppedAt and its
  containers' exit codes and reasons are set on the tasks `RunTask` created. moto's RunTask cannot start an awsvpc
  task (its network interface model lacks a field), so the task definition's network mode is "bridge" only while
  the seeded tasks are created, then restored. moto ignores ListTasks' serviceName filter: seed one service per
  cluster when its stopped tasks matter.
- Step Functions: the project's own pipeline runs on moto's interpreter in the same account, so customer
  executions are not run there (their Lambda functions are stubs). A seeded failed execution is a record with
  exactly the fields ListExecutions, DescribeExecution and GetExecutionHistory return, appended to the customer
  state machine's executions on moto's model; its history is the event sequence AWS writes for a failing Lambda
  task (TaskStateEntered, TaskScheduled, TaskStarted, TaskFailed, ExecutionFailed).
- API Gateway: created through the APIs (REST resources, methods, integrations, stages; HTTP API integrations,
  stages); nothing is set by hand.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from unittest import mock

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.adapters.aws import aws_client

# --- Models (the scenario file's `account:` keys) ---------------------------------------------------------------


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EcsClusterSeed(_Seed):
    name: str
    capacity_providers: list[str] = Field(default_factory=list)  # e.g. [FARGATE] or an ASG-backed provider
    # What DescribeClusters reports (moto counts nothing by itself for seeded services).
    container_instances: int = 0
    running_tasks: int = 0
    pending_tasks: int = 0


class EcsContainerSeed(_Seed):
    name: str
    image: str
    memory_mb: int | None = None  # the container's hard limit
    cpu: int = 0
    essential: bool = True
    log_group: str | None = None  # its awslogs group


class EcsTaskDefinitionSeed(_Seed):
    family: str
    revision: int = Field(default=1, ge=1, le=200)  # revisions 1..N are registered; the service runs N
    cpu: str | None = "256"
    memory: str | None = "512"
    requires: Literal["FARGATE", "EC2"] = "FARGATE"
    containers: list[EcsContainerSeed]


class EcsDeploymentSeed(_Seed):
    revision: int  # of the service's task definition family
    status: Literal["PRIMARY", "ACTIVE"] = "PRIMARY"
    rollout_state: Literal["COMPLETED", "IN_PROGRESS", "FAILED"] = "COMPLETED"
    desired: int = 1
    running: int = 1
    pending: int = 0
    failed_tasks: int = 0
    created_minutes_ago: float = 30 * 24 * 60


class EcsEventSeed(_Seed):
    message: str  # as ECS writes it: "(service orders-api) was unable to place a task because ..."
    minutes_ago: float = 1


class EcsStoppedTaskSeed(_Seed):
    revision: int
    stopped_reason: str = "Essential container in task exited"
    stop_code: Literal[
        "EssentialContainerExited", "TaskFailedToStart", "UserInitiated", "ServiceSchedulerInitiated"
    ] = "EssentialContainerExited"
    container: str | None = None  # default: the first container
    exit_code: int | None = 1
    reason: str = ""  # the container's reason, e.g. "OutOfMemoryError: Container killed due to memory usage"
    minutes_ago: float = 2
    repeat: int = Field(default=1, ge=1, le=20)  # copies, each `every_minutes` older
    every_minutes: float = 3


class EcsServiceSeed(_Seed):
    name: str
    cluster: str
    task_definition: str  # a family seeded under ecs_task_definitions
    launch_type: Literal["FARGATE", "EC2"] = "FARGATE"
    desired: int = 1
    running: int = 1
    pending: int = 0
    deployments: list[EcsDeploymentSeed] = Field(default_factory=list)  # default: one COMPLETED PRIMARY
    events: list[EcsEventSeed] = Field(default_factory=list)
    stopped_tasks: list[EcsStoppedTaskSeed] = Field(default_factory=list)


class ExecutionFailureSeed(_Seed):
    """Failed executions of a customer state machine, all failing in one Task state the same way."""

    state: str  # the Task state's name in the definition
    error: str  # as the task reports it: the Lambda's errorType, or States.TaskFailed / States.Timeout
    error_message: str = ""  # the Lambda's errorMessage (the cause is the JSON Lambda returns)
    status: Literal["FAILED", "TIMED_OUT"] = "FAILED"
    count: int = Field(default=1, ge=1, le=20)
    minutes_ago: float = 2  # the newest; the others every `every_minutes` before it
    every_minutes: float = 4
    run_seconds: float = 3


class StateMachineSeed(_Seed):
    name: str
    definition: dict[str, Any]  # ASL (JSONPath), as JSON/YAML
    type: Literal["STANDARD", "EXPRESS"] = "STANDARD"
    created_minutes_ago: float = 60 * 24 * 60
    failures: list[ExecutionFailureSeed] = Field(default_factory=list)


class RestIntegrationSeed(_Seed):
    path: str  # "/orders" or "/orders/{id}"
    method: str = "POST"
    type: Literal["AWS_PROXY", "HTTP_PROXY", "MOCK", "AWS", "HTTP"] = "AWS_PROXY"
    function: str | None = None  # a Lambda function name (AWS_PROXY)
    uri: str | None = None  # otherwise, e.g. an HTTP backend
    timeout_ms: int = 29_000


class RestApiSeed(_Seed):
    name: str
    stage: str = "prod"
    integrations: list[RestIntegrationSeed] = Field(default_factory=list)
    throttling_rate: float | None = None  # stage method throttling (*/*)
    throttling_burst: int | None = None


class HttpIntegrationSeed(_Seed):
    route: str = "ANY /{proxy+}"
    function: str | None = None
    uri: str | None = None
    timeout_ms: int = 30_000


class HttpApiSeed(_Seed):
    name: str
    # The id CloudWatch names it by (ApiId): the alert names it, so the seeder pins it.
    api_id: str = Field(pattern=r"^[a-z0-9]{10}$")
    stage: str = "$default"
    integrations: list[HttpIntegrationSeed] = Field(default_factory=list)
    throttling_rate: float | None = None
    throttling_burst: int | None = None


# --- ECS -------------------------------------------------------------------------------------------------------


def seed_ecs(
    clusters: list[EcsClusterSeed],
    task_definitions: list[EcsTaskDefinitionSeed],
    services: list[EcsServiceSeed],
    account_id: str,
    region: str,
    now: datetime,
) -> None:
    from moto.ecs.models import ecs_backends

    client = aws_client("ecs", region)
    backend = ecs_backends[account_id][region]
    for cluster in clusters:
        client.create_cluster(clusterName=cluster.name, capacityProviders=cluster.capacity_providers)
    arns: dict[tuple[str, int], str] = {}
    for definition in task_definitions:
        for _ in range(definition.revision):
            registered = client.register_task_definition(**_task_definition(definition, region))
            arn = registered["taskDefinition"]["taskDefinitionArn"]
            arns[(definition.family, int(arn.rsplit(":", 1)[-1]))] = arn
    for service in services:
        _seed_service(client, backend, service, arns, now)
    # Last: moto counts the tasks it created for the seeded services; the scenario says what ECS reports.
    for cluster in clusters:
        model = backend.clusters[cluster.name]
        model.registered_container_instances_count = cluster.container_instances
        model.running_tasks_count = cluster.running_tasks
        model.pending_tasks_count = cluster.pending_tasks


def _task_definition(definition: EcsTaskDefinitionSeed, region: str) -> dict[str, Any]:
    containers = []
    for container in definition.containers:
        spec: dict[str, Any] = {
            "name": container.name,
            "image": container.image,
            "cpu": container.cpu,
            "essential": container.essential,
        }
        if container.memory_mb:
            spec["memory"] = container.memory_mb
        if container.log_group:
            spec["logConfiguration"] = {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": container.log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": container.name,
                },
            }
        containers.append(spec)
    params: dict[str, Any] = {
        "family": definition.family,
        "containerDefinitions": containers,
        "requiresCompatibilities": [definition.requires],
        "networkMode": "awsvpc" if definition.requires == "FARGATE" else "bridge",
    }
    if definition.cpu:
        params["cpu"] = definition.cpu
    if definition.memory:
        params["memory"] = definition.memory
    return params


def _deployment_id(service: str, revision: int) -> str:
    """A stable deployment id per (service, revision), in the shape ECS gives them."""
    return f"ecs-svc/{zlib.crc32(f'{service}:{revision}'.encode()):010d}{revision:09d}"


def _seed_service(
    client: Any, backend: Any, service: EcsServiceSeed, arns: dict[tuple[str, int], str], now: datetime
) -> None:
    family = service.task_definition
    revisions = sorted(rev for fam, rev in arns if fam == family)
    if not revisions:
        raise ValueError(f"ECS service {service.name}: no task definition family {family} is seeded")
    deployments = service.deployments or [EcsDeploymentSeed(revision=revisions[-1], desired=service.desired)]
    primary = next((d for d in deployments if d.status == "PRIMARY"), deployments[0])
    client.create_service(
        cluster=service.cluster,
        serviceName=service.name,
        taskDefinition=arns[(family, primary.revision)],
        desiredCount=service.desired,
        launchType=service.launch_type,
    )
    model = backend.services[f"{service.cluster}:{service.name}"]
    model.running_count = service.running
    model.pending_count = service.pending
    model.deployments = [
        {
            "id": _deployment_id(service.name, d.revision),
            "status": d.status,
            "taskDefinition": arns[(family, d.revision)],
            "desiredCount": d.desired,
            "pendingCount": d.pending,
            "runningCount": d.running,
            "failedTasks": d.failed_tasks,
            "createdAt": now - timedelta(minutes=d.created_minutes_ago),
            "updatedAt": now - timedelta(minutes=min(d.created_minutes_ago, 1)),
            "launchType": service.launch_type,
            "rolloutState": d.rollout_state,
            "rolloutStateReason": f"ECS deployment {d.rollout_state.lower().replace('_', ' ')}.",
        }
        for d in deployments
    ]
    model.events = [
        {
            "id": f"{service.name}-event-{index}",
            "createdAt": now - timedelta(minutes=event.minutes_ago),
            "message": event.message,
        }
        for index, event in enumerate(sorted(service.events, key=lambda e: e.minutes_ago))
    ]
    for stopped in service.stopped_tasks:
        _seed_stopped_tasks(client, backend, service, stopped, arns[(family, stopped.revision)], now)


def _seed_stopped_tasks(
    client: Any, backend: Any, service: EcsServiceSeed, stopped: EcsStoppedTaskSeed, arn: str, now: datetime
) -> None:
    definition = backend.describe_task_definition(arn)
    network_mode = definition.network_mode
    definition.network_mode = "bridge"  # moto cannot create an awsvpc task (see the module docstring)
    # moto sizes a task from its containers' `memory` only (a Fargate container may set none): not needed here.
    sizing = mock.patch.object(backend, "_calculate_task_resource_requirements", return_value={})
    try:
        with sizing:
            created = client.run_task(
                cluster=service.cluster,
                taskDefinition=arn,
                count=stopped.repeat,
                launchType="FARGATE",
                startedBy=_deployment_id(service.name, stopped.revision),
                group=f"service:{service.name}",
            )["tasks"]
    finally:
        definition.network_mode = network_mode
    for index, task in enumerate(created):
        model = backend.tasks[service.cluster][task["taskArn"]]
        at = now - timedelta(minutes=stopped.minutes_ago + index * stopped.every_minutes)
        model.desired_status = "STOPPED"
        model.last_status = "STOPPED"
        model.launch_type = service.launch_type
        model.stopped_reason = stopped.stopped_reason
        model.stop_code = stopped.stop_code
        model.stopped_at = at
        model.stopping_at = at
        model.created_at = at - timedelta(minutes=1)
        model.started_at = at - timedelta(seconds=50) if stopped.stop_code != "TaskFailedToStart" else None
        for container in model.containers:
            if stopped.container is None or container.name == stopped.container:
                container.last_status = "STOPPED"
                container.exitCode = stopped.exit_code
                if stopped.reason:
                    container.reason = stopped.reason


# --- Step Functions --------------------------------------------------------------------------------------------


class SeededExecution:
    """One finished customer execution, with the fields moto's Step Functions responses read from an execution
    (both its plain backend and the interpreter-backed one the local runner uses)."""

    def __init__(
        self,
        *,
        execution_arn: str,
        state_machine_arn: str,
        name: str,
        status: str,
        start: datetime,
        stop: datetime,
        error: str,
        cause: str,
        events: list[dict[str, Any]],
    ) -> None:
        self.execution_arn = execution_arn
        self.exec_arn = execution_arn
        self.state_machine_arn = state_machine_arn
        self.name = name
        self.status = status
        self.start_date = start
        self.stop_date = stop
        self.execution_input = "{}"
        self.output = None
        self.output_details = None
        self.error = error
        self.cause = cause
        self._events = events

    def get_execution_history(self, role_arn: str) -> list[dict[str, Any]]:  # moto's plain backend
        return self._events

    def to_history_output(self) -> dict[str, Any]:  # moto's interpreter-backed backend
        return {"events": self._events}


def seed_state_machines(machines: list[StateMachineSeed], account_id: str, region: str, now: datetime) -> None:
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    iam = aws_client("iam", region)
    role = iam.create_role(
        RoleName="simulated-customer-states-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    client = aws_client("stepfunctions", region)
    for machine in machines:
        arn = client.create_state_machine(
            name=machine.name, definition=json.dumps(machine.definition), roleArn=role, type=machine.type
        )["stateMachineArn"]
        # Which backend holds it depends on moto's config (the interpreter-backed one in local runs).
        for backends in (stepfunctions_parser_backends, stepfunctions_backends):
            model = next((m for m in backends[account_id][region].state_machines if m.arn == arn), None)
            if model is None:
                continue
            model.creation_date = now - timedelta(minutes=machine.created_minutes_ago)
            for failure in machine.failures:
                # Duck-typed: moto's responses read only the fields SeededExecution has (see its docstring).
                model.executions.extend(_failed_executions(machine, failure, arn, account_id, region, now))  # type: ignore[arg-type]
            break


def _function_of_state(definition: dict[str, Any], state: str) -> str | None:
    found = (definition.get("States") or {}).get(state) or {}
    parameters = found.get("Parameters") or {}
    name = parameters.get("FunctionName") if isinstance(parameters, dict) else None
    return str(name) if name else None


def _failed_executions(
    machine: StateMachineSeed,
    failure: ExecutionFailureSeed,
    arn: str,
    account_id: str,
    region: str,
    now: datetime,
) -> list[SeededExecution]:
    function = _function_of_state(machine.definition, failure.state)
    if failure.status == "TIMED_OUT":
        error, cause = "States.Timeout", ""
    else:
        error = failure.error
        cause = json.dumps(
            {"errorMessage": failure.error_message, "errorType": failure.error, "stackTrace": []}, separators=(",", ":")
        )
    executions = []
    for index in range(failure.count):
        stop = now - timedelta(minutes=failure.minutes_ago + index * failure.every_minutes)
        start = stop - timedelta(seconds=failure.run_seconds)
        name = f"{failure.state.lower()}-{int(stop.timestamp())}-{index}"
        execution_arn = f"arn:aws:states:{region}:{account_id}:execution:{machine.name}:{name}"
        executions.append(
            SeededExecution(
                execution_arn=execution_arn,
                state_machine_arn=arn,
                name=name,
                status=failure.status,
                start=start,
                stop=stop,
                error=error,
                cause=cause,
                events=execution_history(failure, function, start, stop, error, cause),
            )
        )
    return executions


def execution_history(
    failure: ExecutionFailureSeed, function: str | None, start: datetime, stop: datetime, error: str, cause: str
) -> list[dict[str, Any]]:
    """The events AWS writes for an execution whose Lambda task fails (or that times out), oldest first."""
    tick = (stop - start) / 6

    def event(n: int, kind: str, previous: int, **details: Any) -> dict[str, Any]:
        return {
            "timestamp": (start + tick * n).astimezone(UTC),
            "type": kind,
            "id": n + 1,
            "previousEventId": previous,
            **details,
        }

    events = [
        event(0, "ExecutionStarted", 0, executionStartedEventDetails={"input": "{}", "roleArn": "role"}),
        event(1, "TaskStateEntered", 1, stateEnteredEventDetails={"name": failure.state, "input": "{}"}),
    ]
    if function:
        parameters = json.dumps({"FunctionName": function, "Payload": {}}, separators=(",", ":"))
        events.append(
            event(
                2,
                "TaskScheduled",
                2,
                taskScheduledEventDetails={
                    "resourceType": "lambda",
                    "resource": "invoke",
                    "region": "us-east-1",
                    "parameters": parameters,
                },
            )
        )
        events.append(
            event(3, "TaskStarted", 3, taskStartedEventDetails={"resourceType": "lambda", "resource": "invoke"})
        )
    if failure.status == "TIMED_OUT":
        events.append(event(6, "ExecutionTimedOut", len(events), executionTimedOutEventDetails={"error": error}))
        return events
    events.append(
        event(
            4,
            "TaskFailed",
            len(events),
            taskFailedEventDetails={"resourceType": "lambda", "resource": "invoke", "error": error, "cause": cause},
        )
    )
    events.append(
        event(6, "ExecutionFailed", len(events), executionFailedEventDetails={"error": error, "cause": cause})
    )
    return events


# --- API Gateway -----------------------------------------------------------------------------------------------


def _lambda_uri(function: str, account_id: str, region: str) -> str:
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:{region}:{account_id}:function:{function}/invocations"
    )


def seed_rest_apis(apis: list[RestApiSeed], account_id: str, region: str) -> None:
    client = aws_client("apigateway", region)
    for api in apis:
        api_id = client.create_rest_api(name=api.name)["id"]
        root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        by_path = {"/": root}
        for integration in api.integrations:
            parent = "/"
            for part in [p for p in integration.path.split("/") if p]:
                path = parent.rstrip("/") + "/" + part
                if path not in by_path:
                    by_path[path] = client.create_resource(restApiId=api_id, parentId=by_path[parent], pathPart=part)[
                        "id"
                    ]
                parent = path
            resource = by_path[parent]
            client.put_method(
                restApiId=api_id, resourceId=resource, httpMethod=integration.method, authorizationType="NONE"
            )
            uri = _lambda_uri(integration.function, account_id, region) if integration.function else integration.uri
            client.put_integration(
                restApiId=api_id,
                resourceId=resource,
                httpMethod=integration.method,
                type=integration.type,
                integrationHttpMethod="POST",
                uri=uri or "",
                timeoutInMillis=integration.timeout_ms,
            )
        deployment = client.create_deployment(restApiId=api_id)["id"]
        client.create_stage(restApiId=api_id, stageName=api.stage, deploymentId=deployment)
        if api.throttling_rate is not None and api.throttling_burst is not None:
            client.update_stage(
                restApiId=api_id,
                stageName=api.stage,
                patchOperations=[
                    {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(api.throttling_rate)},
                    {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(api.throttling_burst)},
                ],
            )


def seed_http_apis(apis: list[HttpApiSeed], account_id: str, region: str) -> None:
    from moto.apigatewayv2.models import apigatewayv2_backends

    client = aws_client("apigatewayv2", region)
    backend = apigatewayv2_backends[account_id][region]
    for api in apis:
        drawn = client.create_api(Name=api.name, ProtocolType="HTTP")["ApiId"]
        # moto draws API ids at random; the alarm names this one, so re-key it on moto's model.
        model = backend.apis.pop(drawn)
        model.api_id = api.api_id
        backend.apis[api.api_id] = model
        api_id = api.api_id
        for integration in api.integrations:
            uri = (
                f"arn:aws:lambda:{region}:{account_id}:function:{integration.function}"
                if integration.function
                else integration.uri
            )
            made = client.create_integration(
                ApiId=api_id,
                IntegrationType="AWS_PROXY" if integration.function else "HTTP_PROXY",
                IntegrationUri=uri or "",
                IntegrationMethod="POST" if integration.function else "ANY",
                PayloadFormatVersion="2.0" if integration.function else "1.0",
                TimeoutInMillis=integration.timeout_ms,
            )
            client.create_route(
                ApiId=api_id, RouteKey=integration.route, Target=f"integrations/{made['IntegrationId']}"
            )
        settings: dict[str, Any] = {}
        if api.throttling_rate is not None and api.throttling_burst is not None:
            settings = {"ThrottlingRateLimit": api.throttling_rate, "ThrottlingBurstLimit": api.throttling_burst}
        client.create_stage(ApiId=api_id, StageName=api.stage, AutoDeploy=True, DefaultRouteSettings=settings)
