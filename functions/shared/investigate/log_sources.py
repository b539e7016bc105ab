"""Where the application logs of a resource without a log group of its own are: an ECS service's containers log to
the awslogs group of its task definition; an API's logs that matter are its backing Lambda function's; a state
machine's are those of the Lambda function its newest failed execution failed in. Each is read from the resource's
own configuration (never guessed from a naming convention), with at most three reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from functions.shared.adapters.containers import ApiGatewayReader, EcsReader, WorkflowReader
from functions.shared.investigate.apis import lambda_of_uri
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.target import Target
from functions.shared.investigate.workflows import failure_point


class ContainerReaders(Protocol):
    ecs: EcsReader
    apis: ApiGatewayReader
    workflows: WorkflowReader


def _lambda_group(function: str | None) -> str | None:
    return Target.of("lambda", function).log_group if function else None


def ecs_service_log_group(readers: ContainerReaders, target: Target, evidence: Evidence) -> str | None:
    cluster = target.qualifiers.get("ClusterName") or "default"
    service = evidence.read(f"ECS service {target.name}", lambda: readers.ecs.service(cluster, target.name))
    if not service or not service.get("taskDefinition"):
        return None
    arn = str(service["taskDefinition"])
    definition = evidence.read("its task definition", lambda: readers.ecs.task_definition(arn)) or {}
    for container in definition.get("containerDefinitions") or []:
        config = container.get("logConfiguration") or {}
        group = (config.get("options") or {}).get("awslogs-group")
        if config.get("logDriver") == "awslogs" and group:
            return str(group)
    return None


def _first_function(uris: list[object]) -> str | None:
    return next((name for uri in uris if (name := lambda_of_uri(uri))), None)


def http_api_log_group(readers: ContainerReaders, target: Target, evidence: Evidence) -> str | None:
    integrations = evidence.read(f"integrations of {target.name}", lambda: readers.apis.http_integrations(target.name))
    return _lambda_group(_first_function([i.get("IntegrationUri") for i in integrations or []]))


def rest_api_log_group(readers: ContainerReaders, target: Target, evidence: Evidence) -> str | None:
    api_id = evidence.read(f"REST API {target.name}", lambda: readers.apis.rest_api_id(target.name))
    if api_id is None:
        return None
    integrations = evidence.read(f"integrations of {target.name}", lambda: readers.apis.rest_integrations(api_id))
    return _lambda_group(_first_function([i.get("uri") for i in integrations or []]))


def state_machine_log_group(readers: ContainerReaders, target: Target, evidence: Evidence) -> str | None:
    failed = evidence.read("failed executions", lambda: readers.workflows.executions(target.name, "FAILED", 1))
    if not failed:
        return None
    arn = str(failed[0].get("executionArn"))
    events = evidence.read("the newest failed execution", lambda: readers.workflows.last_events(arn)) or []
    point = failure_point(events, {})  # the function the failing task scheduled, as its history names it
    return _lambda_group(point.function if point else None)


# Per resource kind: where its application logs are, for the kinds with no log group of their own.
LOG_SOURCES: dict[str, Callable[[ContainerReaders, Target, Evidence], str | None]] = {
    "ecs_service": ecs_service_log_group,
    "apigateway_http": http_api_log_group,
    "apigateway": rest_api_log_group,
    "state_machine": state_machine_log_group,
}
