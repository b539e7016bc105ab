"""ECS, Step Functions and API Gateway: the interpreters (from API fields to findings) and the rules on them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.analyze.rules import analyze_with_rules
from functions.local_runner.seed_containers import ExecutionFailureSeed, execution_history
from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.investigate.apis import api_findings, http_api_evidence
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.containers import ecs_cluster_evidence, ecs_service_evidence
from functions.shared.investigate.log_sources import LOG_SOURCES
from functions.shared.investigate.target import Target
from functions.shared.investigate.workflows import failure_point, state_machine_evidence
from functions.shared.models import Alert, ContextSection, Fact, GatheredContext, Measurement

NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout-api:{}"
SM = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderFulfillment"


class FakeEcs:
    def __init__(self, service: dict[str, Any] | None, stopped: list[dict[str, Any]] | None = None) -> None:
        self._service = service
        self._stopped = stopped or []

    def service(self, cluster: str, service: str) -> dict[str, Any] | None:
        return self._service

    def cluster(self, cluster: str) -> dict[str, Any] | None:
        return None

    def stopped_tasks(self, cluster: str, service: str | None, limit: int = 5) -> list[dict[str, Any]]:
        return self._stopped[:limit]

    def task_definition(self, arn: str) -> dict[str, Any] | None:
        return {"cpu": "512", "memory": "1024", "containerDefinitions": [{"name": "app"}]}


def _service(*, new_minutes_ago: float, running: int = 1, events: Sequence[tuple[float, str]] = ()) -> dict[str, Any]:
    return {
        "desiredCount": 4,
        "runningCount": running,
        "pendingCount": 0,
        "launchType": "FARGATE",
        "taskDefinition": TD.format(58),
        "deployments": [
            {
                "status": "PRIMARY",
                "taskDefinition": TD.format(58),
                "rolloutState": "IN_PROGRESS",
                "runningCount": 0,
                "desiredCount": 4,
                "failedTasks": 5,
                "createdAt": NOW - timedelta(minutes=new_minutes_ago),
            },
            {"status": "ACTIVE", "taskDefinition": TD.format(57), "runningCount": running, "desiredCount": 1},
        ],
        "events": [{"createdAt": NOW - timedelta(minutes=m), "message": text} for m, text in events],
    }


def _task(revision: int, exit_code: int | None, reason: str = "", stop_code: str = "EssentialContainerExited"):
    return {
        "taskDefinitionArn": TD.format(revision),
        "stoppedReason": "Essential container in task exited",
        "stopCode": stop_code,
        "stoppedAt": NOW - timedelta(minutes=2),
        "containers": [{"name": "app", "exitCode": exit_code, "reason": reason}],
    }


def _keys(facts: list[Fact]) -> set[str]:
    return {f.key for f in facts if f.key.startswith("compute.finding.")}


def test_new_revision_tasks_exiting_non_zero_is_a_crash_loop_after_the_deploy():
    ecs = FakeEcs(_service(new_minutes_ago=18), [_task(58, 1) for _ in range(4)])
    evidence = ecs_service_evidence(ecs, "prod-web", "checkout-api", now=NOW, region="us-east-1")  # type: ignore[arg-type]
    assert _keys(evidence.facts) == {"compute.finding.crash_loop"}
    crash = evidence.fact("compute.finding.crash_loop")
    assert crash is not None and crash.value == 18 and "checkout-api:58" in crash.text
    assert evidence.fact("compute.recent_change") is not None
    service = evidence.fact("compute.ecs.service")
    assert service is not None and service.numbers == Measurement(value=1, baseline=4, unit="tasks")


def test_tasks_of_an_old_deploy_exiting_are_not_blamed_on_a_deploy():
    # The PRIMARY deployment is nine days old: tasks exit, but nothing changed
    ecs = FakeEcs(_service(new_minutes_ago=9 * 1440), [_task(58, 1)])
    evidence = ecs_service_evidence(ecs, "prod-web", "checkout-api", now=NOW, region=None)  # type: ignore[arg-type]
    assert _keys(evidence.facts) == {"compute.finding.tasks_exiting"}
    assert evidence.fact("compute.recent_change") is None


def test_tasks_stopped_on_purpose_say_nothing_by_their_exit_code():
    # The old revision's tasks, stopped by the scheduler during a deploy, exit 143 (SIGTERM) or 137 (SIGKILL)
    replaced = [
        _task(57, 143, stop_code="ServiceSchedulerInitiated"),
        _task(57, 137, stop_code="ServiceSchedulerInitiated"),
    ]
    ecs = FakeEcs(_service(new_minutes_ago=18, running=4), replaced)
    evidence = ecs_service_evidence(ecs, "prod-web", "checkout-api", now=NOW, region=None)  # type: ignore[arg-type]
    assert _keys(evidence.facts) == set()


def test_exit_137_is_out_of_memory_not_a_crash_loop():
    ecs = FakeEcs(_service(new_minutes_ago=18), [_task(58, 137, "OutOfMemoryError: Container killed")] * 3)
    evidence = ecs_service_evidence(ecs, "prod-web", "checkout-api", now=NOW, region=None)  # type: ignore[arg-type]
    assert _keys(evidence.facts) == {"compute.finding.oom_killed"}
    exit_code = evidence.fact("compute.ecs.exit_code")
    assert exit_code is not None and exit_code.value == 137


def test_a_healthy_service_gives_no_finding():
    # Tasks stopped by a scale-in exit 0; the latest event is a steady state
    steady = [(3, "(service checkout-api) has reached a steady state.")]
    ecs = FakeEcs(
        _service(new_minutes_ago=9 * 1440, running=4, events=steady), [_task(58, 0, stop_code="UserInitiated")]
    )
    evidence = ecs_service_evidence(ecs, "prod-web", "checkout-api", now=NOW, region=None)  # type: ignore[arg-type]
    assert _keys(evidence.facts) == set()
    events = evidence.fact("compute.ecs.events")
    assert events is not None and events.value == "steady"


def test_unable_to_place_events_are_a_placement_failure_and_old_events_are_ignored():
    placing = [
        (2, "(service report-worker) was unable to place a task because no container instance met all of its "
            "requirements. The closest matching (container-instance 1a2b) has insufficient memory available."),
        (300, "(service report-worker) was unable to place a task because no container instance met all ..."),
    ]  # fmt: skip
    ecs = FakeEcs(_service(new_minutes_ago=9 * 1440, running=2, events=placing))
    evidence = ecs_service_evidence(ecs, "batch-ec2", "report-worker", now=NOW, region=None)  # type: ignore[arg-type]
    finding = evidence.fact("compute.finding.placement_failure")
    assert finding is not None and "1 'unable to place' event" in finding.text
    assert "the closest container instance has insufficient memory" in finding.text
    # a recent steady state alone says nothing is wrong
    calm = FakeEcs(_service(new_minutes_ago=9 * 1440, running=4, events=[(300, placing[1][1])]))
    later = ecs_service_evidence(calm, "batch-ec2", "report-worker", now=NOW, region=None)  # type: ignore[arg-type]
    assert later.fact("compute.finding.placement_failure") is None


def test_failure_point_names_the_state_the_error_and_the_lambda():
    cause = json.dumps({"errorType": "ValidationError", "errorMessage": "Missing required field: warehouse_id"})
    events = [
        {"id": 5, "type": "ExecutionFailed", "executionFailedEventDetails": {"error": "ValidationError"}},
        {"id": 4, "type": "TaskFailed", "taskFailedEventDetails": {"error": "ValidationError", "cause": cause}},
        {
            "id": 3,
            "type": "TaskScheduled",
            "taskScheduledEventDetails": {
                "resourceType": "lambda",
                "parameters": json.dumps({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Reserver"}),
            },
        },
        {"id": 2, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "ReserveInventory"}},
        {"id": 1, "type": "ExecutionStarted"},
    ]
    point = failure_point(events, {})
    assert point is not None
    assert (point.state, point.error, point.function) == ("ReserveInventory", "ValidationError", "Reserver")
    assert point.cause == "ValidationError: Missing required field: warehouse_id"
    assert failure_point([{"id": 1, "type": "ExecutionStarted"}], {}) is None


def test_a_timed_out_execution_names_the_state_it_was_in():
    failure = ExecutionFailureSeed(state="ChargePayment", error="States.Timeout", status="TIMED_OUT")
    events = execution_history(failure, "PaymentsFn", NOW - timedelta(minutes=5), NOW, "States.Timeout", "")
    point = failure_point(events, {})
    assert point is not None and (point.state, point.error, point.function) == (
        "ChargePayment",
        "States.Timeout",
        "PaymentsFn",
    )


class FakeWorkflows:
    def __init__(self, failed: list[dict[str, Any]]) -> None:
        self.failed = failed

    def state_machine(self, arn: str) -> dict[str, Any] | None:
        definition = {"States": {"Charge": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Pay"}}}
        return {"type": "STANDARD", "creationDate": NOW - timedelta(days=60), "definition": json.dumps(definition)}

    def executions(self, arn: str, status: str, limit: int = 5) -> list[dict[str, Any]]:
        return [e for e in self.failed if e["status"] == status]

    def last_events(self, execution_arn: str, limit: int = 25) -> list[dict[str, Any]]:
        return [
            {"id": 2, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Charge"}},
            {"id": 3, "type": "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails": {"error": "Boom"}},
        ]


def test_a_failing_task_leads_to_its_lambda_as_a_neighbour_and_no_failures_say_so():
    failed = [{"status": "FAILED", "name": "e1", "executionArn": "x", "stopDate": NOW - timedelta(minutes=3)}]
    evidence = state_machine_evidence(FakeWorkflows(failed), SM, now=NOW, region="us-east-1")  # type: ignore[arg-type]
    finding = evidence.fact("compute.finding.task_failed")
    assert finding is not None and finding.value == "Boom" and finding.subject == "Pay"  # from the definition
    assert [n.target.name for n in evidence.neighbours] == ["Pay"]
    quiet = state_machine_evidence(FakeWorkflows([]), SM, now=NOW, region="us-east-1")  # type: ignore[arg-type]
    assert _keys(quiet.facts) == set() and quiet.neighbours == []
    assert any("No failed or timed-out executions" in n for n in quiet.notes)


def _metric(key: str, peak: float, baseline: float, subject: str | None = None) -> Fact:
    return Fact(key=key, text=key, subject=subject, numbers=Measurement(value=peak, baseline=baseline))


def _integrations(timeout_ms: float) -> Fact:
    return Fact(key="compute.api.integrations", text="...", subject="k7m2p9x4qa", numbers=Measurement(value=timeout_ms))


def test_integration_latency_at_its_timeout_is_a_backend_timeout():
    facts = [
        _integrations(30_000),
        _metric("compute.metric.IntegrationLatency", 29_990, 420),
        _metric("compute.metric.Latency", 30_010, 440),
    ]
    found = api_findings(facts, "5xx")
    assert [f.key for f in found] == ["compute.finding.backend_timeout"]
    # well below the timeout, most of the latency in the integration: slow, not timing out
    slow_facts = [
        _integrations(30_000),
        _metric("compute.metric.IntegrationLatency", 2_999, 420),
        _metric("compute.metric.Latency", 3_001, 440),
    ]
    slow = api_findings(slow_facts, None)
    assert [f.key for f in slow] == ["compute.finding.backend_slow"]


def test_latency_outside_the_integration_is_the_gateways():
    facts = [
        _integrations(29_000),
        _metric("compute.metric.Latency", 2_400, 200),
        _metric("compute.metric.IntegrationLatency", 180, 150),
    ]
    assert [f.key for f in api_findings(facts, "Latency")] == ["compute.finding.gateway_latency"]
    steady = [facts[0], _metric("compute.metric.Latency", 210, 200), facts[2]]
    assert api_findings(steady, "Latency") == []


def test_5xx_with_the_backing_functions_errors_is_the_backend_failing_fast():
    config = Fact(key="compute.lambda_config", text="...", subject="OrdersFn", numbers=Measurement(value=29))
    facts = [
        _integrations(29_000),
        config,
        _metric("compute.metric.5XXError", 300, 0),
        _metric("compute.metric.Errors", 290, 0),
        _metric("compute.metric.IntegrationLatency", 120, 100),
    ]
    found = api_findings(facts, None)
    assert [(f.key, f.subject) for f in found] == [("compute.finding.backend_errors", "OrdersFn")]
    # the function's errors flat: the gateway's 5xx are not blamed on it
    assert api_findings([*facts[:3], _metric("compute.metric.Errors", 0, 0)], None) == []


def test_4xx_up_with_5xx_flat_is_clients_and_nothing_is_said_without_an_api():
    facts = [
        _integrations(29_000),
        _metric("compute.metric.4XXError", 900, 12),
        _metric("compute.metric.5XXError", 1, 1),
    ]
    assert [f.key for f in api_findings(facts, "4XXError")] == ["compute.finding.client_errors"]
    assert api_findings(facts[1:], "4XXError") == []
    both = [*facts[:2], _metric("compute.metric.5XXError", 400, 1)]
    assert api_findings(both, None) == []


def _alarm(namespace: str, metric: str, dimensions: dict[str, str]) -> Alert:
    return Alert(
        source="cloudwatch_alarm",
        alert_type="cloudwatch_alarm",
        severity="critical",
        title=f"{metric} alarm",
        region="us-east-1",
        occurred_at=NOW,
        dedup_key=f"{metric}-alarm",
        details=CloudWatchAlarmDetails(
            alarm_name=f"{metric}-alarm", namespace=namespace, metric_name=metric, dimensions=dimensions, state="ALARM"
        ),
    )


def _context(*facts: Fact) -> GatheredContext:
    return GatheredContext(compute=ContextSection(name="compute", status="ok", facts=list(facts)))


def test_the_rules_give_each_mechanism_its_own_playbook():
    ecs_alarm = _alarm("AWS/ECS", "MemoryUtilization", {"ClusterName": "batch-ec2", "ServiceName": "report-worker"})
    oom = Fact(key="compute.finding.oom_killed", text="Out of memory: 4 of 4 stopped task(s) ... exit code 137")
    analysis = analyze_with_rules(ecs_alarm, _context(oom), now=NOW)
    assert "OOM-killed" in analysis.root_cause
    assert any("memory" in r for r in analysis.recommendations)
    assert not any("Roll" in r for r in analysis.recommendations)
    assert any(c.startswith("aws ecs list-tasks --cluster batch-ec2") for c in analysis.diagnostics)

    cpu_alarm = _alarm("AWS/ECS", "CPUUtilization", {"ClusterName": "prod-web", "ServiceName": "checkout-api"})
    service = Fact(key="compute.ecs.service", text="ECS service checkout-api (...): running 4 of 4 desired")
    hot = Fact(key="compute.alarm_metric", text="CPU", numbers=Measurement(value=97, baseline=40))
    analysis = analyze_with_rules(cpu_alarm, _context(hot, service), now=NOW)
    assert "short of CPU" in analysis.root_cause
    assert not any("instance" in r.lower() for r in analysis.recommendations)  # not the EC2 playbook
    cool = Fact(key="compute.alarm_metric", text="CPU", numbers=Measurement(value=60, baseline=40))
    assert "short of CPU" not in analyze_with_rules(cpu_alarm, _context(cool, service), now=NOW).root_cause

    api_alarm = _alarm("AWS/ApiGateway", "5xx", {"ApiId": "k7m2p9x4qa", "Stage": "$default"})
    timeout = Fact(key="compute.finding.backend_timeout", text="Backend timeout: X", subject="QuoteEngine")
    analysis = analyze_with_rules(api_alarm, _context(timeout), now=NOW)
    assert "backend QuoteEngine timing out" in analysis.root_cause
    assert any("circuit breaker" in r for r in analysis.recommendations)
    assert "aws apigatewayv2 get-integrations --api-id k7m2p9x4qa --region us-east-1" in analysis.diagnostics
    assert not any(c.startswith("aws ecs") for c in analysis.diagnostics)
    http_backend = Fact(key="compute.finding.backend_timeout", text="Backend timeout: X", subject="its integration")
    analysis = analyze_with_rules(api_alarm, _context(http_backend), now=NOW)
    assert "come from its integration's backend timing out" in analysis.root_cause
    assert not any("No diagnostic command" in u for u in analysis.unknowns)
    assert not any("lambda" in c for c in analysis.diagnostics)

    sfn_alarm = _alarm("AWS/States", "ExecutionsFailed", {"StateMachineArn": SM})
    analysis = analyze_with_rules(sfn_alarm, _context(), now=NOW)  # no finding: no invented cause
    assert "does not show why" in analysis.root_cause
    assert any("stepfunctions list-executions" in c and "--status-filter FAILED" in c for c in analysis.diagnostics)


class FakeApis:
    def http_integrations(self, api_id: str) -> list[dict[str, Any]]:
        uri = "arn:aws:lambda:us-east-1:123456789012:function:QuoteEngine"
        return [{"IntegrationUri": "https://pricing.internal/v2"}, {"IntegrationUri": uri}] if api_id == "abc" else []


class LogSourceReaders:
    def __init__(self) -> None:
        self.ecs = FakeEcs(_service(new_minutes_ago=5))
        self.apis = FakeApis()
        self.workflows = FakeWorkflows([{"status": "FAILED", "executionArn": "x"}])


def test_resources_without_a_log_group_log_where_their_configuration_says():
    readers = LogSourceReaders()
    readers.ecs.task_definition = lambda arn: {  # type: ignore[method-assign]
        "containerDefinitions": [
            {"name": "sidecar", "logConfiguration": {"logDriver": "fluentd"}},
            {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app"}}},
        ]
    }
    evidence = Evidence()
    service = Target.of("ecs_service", "checkout-api", qualifiers={"ClusterName": "prod-web"})
    assert LOG_SOURCES["ecs_service"](readers, service, evidence) == "/ecs/app"  # type: ignore[arg-type]
    api = Target.of("apigateway_http", "abc")
    assert LOG_SOURCES["apigateway_http"](readers, api, evidence) == "/aws/lambda/QuoteEngine"  # type: ignore[arg-type]
    other = Target.of("apigateway_http", "zzz")
    assert LOG_SOURCES["apigateway_http"](readers, other, evidence) is None  # type: ignore[arg-type]
    machine = Target.of("state_machine", SM)
    # The failing event names no function (a plain Lambda ARN task without LambdaFunctionScheduled): none guessed
    assert LOG_SOURCES["state_machine"](readers, machine, evidence) is None  # type: ignore[arg-type]


class FakeEcsCluster:
    def __init__(self, described: dict[str, Any] | None) -> None:
        self._described = described

    def cluster(self, cluster: str) -> dict[str, Any] | None:
        return self._described


def test_a_deleted_or_absent_ecs_cluster_is_said_to_be_missing():
    for described in (None, {"status": "INACTIVE", "runningTasksCount": 0}):
        ecs = FakeEcsCluster(described)
        evidence = ecs_cluster_evidence(ecs, "prod-web", now=NOW, region=None)  # type: ignore[arg-type]
        assert evidence.facts == []
        assert evidence.notes == ["No ECS cluster prod-web in this account and region."]


def test_an_http_api_without_integrations_is_said_to_be_missing():
    evidence = http_api_evidence(FakeApis(), "zzz", None, now=NOW, region=None)  # type: ignore[arg-type]
    assert evidence.facts == []
    assert evidence.notes == ["No HTTP API zzz (or no integrations) in this account and region."]
