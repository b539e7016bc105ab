"""The ECS, Step Functions and API Gateway investigators against moto, seeded as a scenario seeds them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from functions.local_runner.seed import AccountSeed, LambdaFunctionSeed, seed_account
from functions.local_runner.seed_containers import (
    EcsClusterSeed,
    EcsContainerSeed,
    EcsDeploymentSeed,
    EcsEventSeed,
    EcsServiceSeed,
    EcsStoppedTaskSeed,
    EcsTaskDefinitionSeed,
    ExecutionFailureSeed,
    HttpApiSeed,
    HttpIntegrationSeed,
    RestApiSeed,
    RestIntegrationSeed,
    StateMachineSeed,
)
from functions.shared.adapters.containers import ApiGatewayReader, EcsReader, WorkflowReader
from functions.shared.investigate.apis import http_api_evidence, rest_api_evidence
from functions.shared.investigate.containers import ecs_cluster_evidence, ecs_service_evidence
from functions.shared.investigate.workflows import state_machine_evidence

REGION = "us-east-1"
SM = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderFulfillment"
DEFINITION = {
    "StartAt": "ReserveInventory",
    "States": {
        "ReserveInventory": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:InventoryReserver"},
            "End": True,
        }
    },
}


@pytest.fixture(scope="module")
def account() -> Iterator[datetime]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    now = datetime.now(UTC)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        seed_account(
            AccountSeed(
                lambda_functions=[LambdaFunctionSeed(name="InventoryReserver"), LambdaFunctionSeed(name="Quotes")],
                ecs_clusters=[EcsClusterSeed(name="prod-web", capacity_providers=["FARGATE"], pending_tasks=2)],
                ecs_task_definitions=[
                    EcsTaskDefinitionSeed(
                        family="checkout-api",
                        revision=3,
                        containers=[EcsContainerSeed(name="app", image="checkout:3", log_group="/ecs/checkout-api")],
                    )
                ],
                ecs_services=[
                    EcsServiceSeed(
                        name="checkout-api",
                        cluster="prod-web",
                        task_definition="checkout-api",
                        desired=3,
                        running=1,
                        deployments=[
                            EcsDeploymentSeed(revision=3, desired=3, running=0, created_minutes_ago=12),
                            EcsDeploymentSeed(revision=2, status="ACTIVE", running=1, created_minutes_ago=9000),
                        ],
                        events=[EcsEventSeed(message="(service checkout-api) has started 1 tasks.", minutes_ago=1)],
                        stopped_tasks=[EcsStoppedTaskSeed(revision=3, exit_code=1, repeat=3)],
                    )
                ],
                state_machines=[
                    StateMachineSeed(
                        name="OrderFulfillment",
                        definition=DEFINITION,
                        failures=[
                            ExecutionFailureSeed(
                                state="ReserveInventory", error="ValidationError", error_message="no warehouse_id"
                            )
                        ],
                    )
                ],
                rest_apis=[
                    RestApiSeed(
                        name="orders-api",
                        integrations=[RestIntegrationSeed(path="/orders/{id}", method="GET", function="Quotes")],
                        throttling_rate=100,
                        throttling_burst=200,
                    )
                ],
                http_apis=[
                    HttpApiSeed(
                        name="quotes",
                        api_id="k7m2p9x4qa",
                        integrations=[HttpIntegrationSeed(route="POST /quotes", function="Quotes", timeout_ms=12000)],
                    )
                ],
            ),
            now=now,
        )
        yield now


def test_ecs_service_reads_deployments_events_and_stopped_tasks(account: datetime) -> None:
    evidence = ecs_service_evidence(EcsReader(region=REGION), "prod-web", "checkout-api", now=account, region=REGION)
    texts = {f.key: f.text for f in evidence.facts}
    assert "running 1 of 3 desired" in texts["compute.ecs.service"]
    assert "checkout-api:3 (PRIMARY, rollout COMPLETED) started 12 min ago" in texts["compute.ecs.deployment"]
    assert "3 task(s) of checkout-api stopped recently" in texts["compute.ecs.stopped_tasks"]
    assert "exited with code 1 in 3 of 3" in texts["compute.ecs.exit_code"]
    assert "/ecs/checkout-api" in texts["compute.ecs.log_group"]
    assert "compute.finding.crash_loop" in texts
    assert all(f.link and "/ecs/v2/clusters/prod-web/" in f.link for f in evidence.facts)


def test_a_missing_service_or_cluster_is_said_not_raised(account: datetime) -> None:
    reader = EcsReader(region=REGION)
    missing = ecs_service_evidence(reader, "prod-web", "nope", now=account, region=REGION)
    assert missing.facts == [] and any("No ECS service nope" in n for n in missing.notes)
    cluster = ecs_cluster_evidence(reader, "prod-web", now=account, region=REGION)
    assert "2 pending task(s)" in cluster.facts[0].text


def test_state_machine_reads_the_seeded_failed_execution_and_its_history(account: datetime) -> None:
    evidence = state_machine_evidence(WorkflowReader(region=REGION), SM, now=account, region=REGION)
    finding = evidence.fact("compute.finding.task_failed")
    assert finding is not None
    assert finding.text == (
        "Execution failed in state ReserveInventory (Lambda InventoryReserver): ValidationError — no warehouse_id"
    )
    assert [n.target.name for n in evidence.neighbours] == ["InventoryReserver"]


def test_rest_api_reads_integrations_stage_throttling_and_its_lambda(account: datetime) -> None:
    evidence = rest_api_evidence(ApiGatewayReader(region=REGION), "orders-api", "prod", now=account, region=REGION)
    integrations = evidence.fact("compute.api.integrations")
    assert integrations is not None and "GET /orders/{id} → AWS_PROXY Lambda Quotes (timeout 29 s)" in integrations.text
    stage = evidence.fact("compute.api.stage")
    assert stage is not None and "throttling 100 req/s, burst 200" in stage.text
    assert [n.target.name for n in evidence.neighbours] == ["Quotes"]


def test_http_api_reads_integrations_by_its_pinned_id(account: datetime) -> None:
    evidence = http_api_evidence(ApiGatewayReader(region=REGION), "k7m2p9x4qa", None, now=account, region=REGION)
    integrations = evidence.fact("compute.api.integrations")
    assert integrations is not None and "Lambda Quotes (timeout 12 s)" in integrations.text
    assert integrations.numbers is not None and integrations.numbers.value == 12000
    missing = http_api_evidence(ApiGatewayReader(region=REGION), "zzzzzzzzzz", None, now=account, region=REGION)
    assert missing.facts == []
