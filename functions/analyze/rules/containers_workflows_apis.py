"""Detectors and diagnostics for ECS services and clusters, Step Functions state machines and API Gateway APIs.

Each detector reads the structured findings the compute stage's interpreters wrote (`compute.finding.*`, see
`functions/shared/investigate/containers.py`, `workflows.py`, `apis.py`) and answers with the mechanism's own
playbook: a crash loop after a deploy is rolled back, an OOM-killed container gets memory (or its leak found), a
placement failure gets capacity, a failing workflow task is fixed in the function it calls, a backend timeout
behind an API gets timeouts and a circuit breaker in the caller and the backend fixed — never another type's
playbook. The package's entry point (`functions/analyze/rules/__init__.py`) runs them among the alarm detectors,
passing the facts' lookup; this module imports nothing of it (only the shared readers of `facts` and `commands`), so
the two stay free of a cycle.

Every command is built by `functions.shared.aws_commands.build_command` from validated values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from functions.analyze.rules.commands import in_region
from functions.analyze.rules.facts import FactLookup, Finding, as_clause
from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.aws_commands import BuiltCommand, ValueKind, opt
from functions.shared.models import Alert


def _dimensions(alert: Alert) -> dict[str, str]:
    alarm = alert.details_of(CloudWatchAlarmDetails)
    return dict(alarm.dimensions or {}) if alarm else {}


# --- ECS -------------------------------------------------------------------------------------------------------


def _ecs_names(alert: Alert) -> tuple[str | None, str | None]:
    dims = _dimensions(alert)
    return dims.get("ClusterName"), dims.get("ServiceName")


def _ecs_commands(alert: Alert, get: FactLookup) -> list[BuiltCommand]:
    cluster, service = _ecs_names(alert)
    commands = []
    if cluster and service:
        commands.append(
            in_region(alert, "ecs", "describe-services", opt("--cluster", cluster), opt("--services", [service]))
        )
    if cluster:
        options = [opt("--cluster", cluster), opt("--desired-status", "STOPPED")]
        if service:
            options.append(opt("--service-name", service))
        commands.append(in_region(alert, "ecs", "list-tasks", *options))
    log_group = get("compute.ecs.log_group")
    if log_group is not None and isinstance(log_group.value, str):
        commands.append(
            in_region(
                alert,
                "logs",
                "filter-log-events",
                opt("--log-group-name", log_group.value, ValueKind.LOG_GROUP),
                opt("--filter-pattern", "?ERROR ?Exception ?Error ?panic ?Killed", ValueKind.PATTERN),
                max_items=50,
            )
        )
    return commands


def _logs(get: FactLookup) -> str | None:
    """ "the logs show <the most frequent error pattern>", when the logs stage found one."""
    top = get("logs.pattern.1")
    return f"the logs show {as_clause(top.text)}" if top is not None else None


def _owner(alert: Alert) -> str:
    cluster, service = _ecs_names(alert)
    return service or cluster or (alert.resource.name if alert.resource and alert.resource.name else "the service")


def ecs_crash_loop(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.crash_loop")
    if finding is None:
        return None
    name = _owner(alert)
    sentence = f"ECS service {name} is crash-looping after a deploy: {as_clause(finding.text.split(': ', 1)[-1])}"
    logs = _logs(get)
    stopped = get("compute.ecs.stopped_tasks")
    if logs is not None:
        sentence += f"; {logs}"
    elif stopped is not None:
        sentence += f"; {as_clause(stopped.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=[
            "compute.finding.crash_loop",
            "logs.pattern.1",
            "compute.recent_change",
            "compute.ecs.stopped_tasks",
            "compute.ecs.deployment",
            "compute.ecs.service",
        ],
        recommendations=[
            f"Roll {name} back to the previous task definition revision (update-service --task-definition), or let "
            "the deployment circuit breaker roll back, then fix forward.",
            "Read the new revision's container logs for the error it exits with; compare its image, environment and "
            "secrets with the previous revision.",
        ],
        diagnostics=_ecs_commands(alert, get),
    )


def ecs_oom_killed(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.oom_killed")
    if finding is None:
        return None
    name = _owner(alert)
    sentence = f"ECS service {name}'s containers are being OOM-killed: {as_clause(finding.text.split(': ', 1)[-1])}"
    change = get("compute.recent_change")
    if change is not None:
        sentence += f"; {as_clause(change.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=[
            "compute.finding.oom_killed",
            "compute.ecs.exit_code",
            "compute.metric.MemoryUtilization",
            "compute.ecs.service",
            "compute.recent_change",
        ],
        recommendations=[
            f"Raise the memory of {name}'s task definition (task and container limits) to stop the kills now.",
            "Then find why memory grows (a leak, a larger payload, a cache without a bound): MemoryUtilization "
            "climbing to 100 % before each stop points at the process, not the platform.",
        ],
        diagnostics=_ecs_commands(alert, get),
    )


def ecs_placement_failure(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.placement_failure")
    if finding is None:
        return None
    name = finding.subject or _owner(alert)
    cluster, _ = _ecs_names(alert)
    where = f" on cluster {cluster}" if cluster and cluster != name else ""
    sentence = f"ECS cannot place {name}'s tasks{where}: {as_clause(finding.text.split(': ', 1)[-1])}"
    diagnostics = _ecs_commands(alert, get)
    if cluster:
        diagnostics.insert(0, in_region(alert, "ecs", "describe-clusters", opt("--clusters", [cluster])))
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=[
            "compute.finding.placement_failure",
            "compute.ecs.events",
            "compute.ecs.service",
            "compute.ecs.cluster",
            "compute.metric.MemoryReservation",
            "compute.metric.CPUReservation",
        ],
        recommendations=[
            "Add capacity to the cluster (scale its Auto Scaling group / capacity provider) or lower the task "
            "definition's CPU and memory reservation so tasks fit on the instances.",
            "Enable managed scaling on the capacity provider so pending tasks bring up instances by themselves.",
        ],
        diagnostics=diagnostics,
    )


def ecs_failed_to_start(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.failed_to_start")
    if finding is None:
        return None
    name = _owner(alert)
    change = get("compute.recent_change")
    after = f" since {as_clause(change.text.removeprefix('Recent change: '))}" if change is not None else ""
    recommendations = [
        "Fix what the stop reason names: an image tag that does not exist or a registry the task cannot reach "
        "(CannotPullContainerError), or a secret / network path missing for the task "
        "(ResourceInitializationError: check the execution role, VPC endpoints or NAT).",
    ]
    if change is not None:
        recommendations.insert(0, f"Roll {name} back to its previous task definition revision while you fix it.")
    return Finding(
        root_cause=f"ECS service {name}'s tasks fail to start{after}: {as_clause(finding.text.split(': ', 1)[-1])}.",
        confidence="high",
        evidence_keys=[
            "compute.finding.failed_to_start",
            "compute.recent_change",
            "compute.ecs.stopped_tasks",
            "compute.ecs.service",
        ],
        recommendations=recommendations,
        diagnostics=_ecs_commands(alert, get),
    )


def ecs_tasks_exiting(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.tasks_exiting")
    if finding is None:
        return None
    name = _owner(alert)
    return Finding(
        root_cause=f"ECS service {name}'s tasks keep exiting: {as_clause(finding.text.split(': ', 1)[-1])}.",
        confidence="medium",
        evidence_keys=["compute.finding.tasks_exiting", "compute.ecs.stopped_tasks", "compute.ecs.service"],
        recommendations=[
            "Read the container logs of the stopped tasks for the error they exit with; no deploy lines up with it, "
            "so look at a dependency or input that changed.",
        ],
        diagnostics=_ecs_commands(alert, get),
    )


# A service's CPU / memory at this share of what its tasks reserve is saturated.
SATURATED_PERCENT = 85


def ecs_utilization_high(alert: Alert, get: FactLookup) -> Finding | None:
    """CPU or memory high on a service whose tasks neither crash nor get OOM-killed: load, not a fault."""
    alarm = alert.details_of(CloudWatchAlarmDetails)
    metric = alarm.metric_name if alarm else None
    service = get("compute.ecs.service")
    peak_fact = get("compute.alarm_metric")
    peak = peak_fact.numbers.value if peak_fact is not None and peak_fact.numbers is not None else None
    if (
        metric not in ("CPUUtilization", "MemoryUtilization")
        or service is None
        or peak is None
        or peak < SATURATED_PERCENT
    ):
        return None
    name = _owner(alert)
    resource = "CPU" if metric == "CPUUtilization" else "memory"
    sentence = (
        f"ECS service {name} is short of {resource}: {metric} peaks at {peak:,.0f} % of what its tasks reserve, "
        f"and no task crashed or was OOM-killed; {as_clause(service.text.split(': ', 1)[-1])}"
    )
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.ecs.service", "compute.metric.CPUUtilization"],
        recommendations=[
            f"Scale {name} out (raise its desired count, or add a target-tracking Service Auto Scaling policy on "
            f"{metric}) if the load is legitimate.",
            f"Or give its task definition more {resource}; if load did not rise, profile the application.",
        ],
        diagnostics=_ecs_commands(alert, get),
    )


# --- Step Functions --------------------------------------------------------------------------------------------


def _state_machine_arn(alert: Alert) -> str | None:
    return _dimensions(alert).get("StateMachineArn")


def _workflow_commands(alert: Alert, status: str) -> list[BuiltCommand]:
    arn = _state_machine_arn(alert)
    if arn is None:
        return []
    return [
        in_region(
            alert,
            "stepfunctions",
            "list-executions",
            opt("--state-machine-arn", arn, ValueKind.ARN),
            opt("--status-filter", status),
            max_items=10,
        )
    ]


def workflow_task_failed(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.task_failed")
    if finding is None:
        return None
    arn = _state_machine_arn(alert) or ""
    name = arn.rsplit(":", 1)[-1] or "the state machine"
    function = finding.subject if finding.subject and finding.subject != name else None
    sentence = f"State machine {name}'s executions fail: {as_clause(finding.text)}"
    change = get("compute.recent_change")
    if change is not None:
        sentence += f"; {as_clause(change.text)}"
    if (logs := _logs(get)) is not None:
        sentence += f"; {logs}"
    recommendations = [
        f"Fix the error in {'Lambda ' + function if function else 'the failing task'}; "
        + ("it changed recently, so roll it back first." if change is not None else "its logs show the failing call."),
        "Add a Retry for transient errors and a Catch to a compensating state, so one failing call does not fail "
        "the whole order; re-drive the failed executions once fixed.",
    ]
    diagnostics = _workflow_commands(alert, "FAILED")
    if function:
        diagnostics.append(
            in_region(
                alert,
                "lambda",
                "get-function-configuration",
                opt("--function-name", function, ValueKind.LAMBDA_FUNCTION),
            )
        )
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if change is not None else "medium",
        evidence_keys=[
            "compute.finding.task_failed",
            "compute.recent_change",
            "compute.sfn.failed_executions",
            "compute.lambda_config",
        ],
        recommendations=recommendations,
        diagnostics=diagnostics,
    )


def workflow_timed_out(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.execution_timed_out")
    if finding is None:
        return None
    name = (_state_machine_arn(alert) or "").rsplit(":", 1)[-1] or "the state machine"
    return Finding(
        root_cause=f"State machine {name}'s executions time out: {as_clause(finding.text)}.",
        confidence="medium",
        evidence_keys=["compute.finding.execution_timed_out", "compute.sfn.failed_executions"],
        recommendations=[
            "Find the state that waits longest (a task without TimeoutSeconds, a callback never answered) and give "
            "it its own timeout and a Catch.",
        ],
        diagnostics=_workflow_commands(alert, "TIMED_OUT"),
    )


# --- API Gateway -----------------------------------------------------------------------------------------------


def _api_commands(alert: Alert) -> list[BuiltCommand]:
    dims = _dimensions(alert)
    if dims.get("ApiId"):
        api_id = opt("--api-id", dims["ApiId"])
        return [
            in_region(alert, "apigatewayv2", "get-integrations", api_id),
            in_region(alert, "apigatewayv2", "get-stages", api_id),
        ]
    if dims.get("ApiName"):
        return [in_region(alert, "apigateway", "get-rest-apis")]
    return []


def _api_name(alert: Alert) -> str:
    dims = _dimensions(alert)
    return dims.get("ApiName") or dims.get("ApiId") or "the API"


def api_backend_timeout(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.backend_timeout")
    if finding is None:
        return None
    backend = finding.subject or "its integration"
    named = f"its backend {backend}" if backend != "its integration" else "its integration's backend"
    sentence = (
        f"API {_api_name(alert)}'s errors come from {named} timing out, not from API Gateway: "
        f"{as_clause(finding.text.split(': ', 1)[-1])}"
    )
    if (logs := _logs(get)) is not None:
        sentence += f"; {logs}"
    diagnostics = _api_commands(alert)
    if get("compute.lambda_config") is not None:  # a Lambda integration (an HTTP backend has no such command)
        diagnostics.append(
            in_region(
                alert,
                "lambda",
                "get-function-configuration",
                opt("--function-name", backend, ValueKind.LAMBDA_FUNCTION),
            )
        )
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=[
            "compute.finding.backend_timeout",
            "compute.alarm_metric",
            "compute.metric.IntegrationLatency",
            "compute.metric.Duration",
            "compute.lambda_config",
            "compute.api.integrations",
        ],
        recommendations=[
            f"Fix the slow dependency inside {backend} (the call it waits on): give that call a timeout shorter than "
            "the function's and a circuit breaker, so it fails fast instead of hanging until API Gateway gives up.",
            "Raising the integration timeout only hides it: API Gateway answers 5xx at its limit whatever the "
            "backend does.",
        ],
        diagnostics=diagnostics,
    )


def api_backend_errors(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.backend_errors")
    if finding is None:
        return None
    backend = finding.subject or "the backend"
    sentence = f"API {_api_name(alert)}'s 5xx come from its backend {backend} failing, not from API Gateway"
    change = get("compute.recent_change")
    if change is not None:
        sentence += f"; {as_clause(change.text)}"
    diagnostics = _api_commands(alert)
    diagnostics.append(
        in_region(
            alert, "lambda", "get-function-configuration", opt("--function-name", backend, ValueKind.LAMBDA_FUNCTION)
        )
    )
    return Finding(
        root_cause=f"{sentence}: {as_clause(finding.text.split(': ', 1)[-1])}.",
        confidence="high" if change is not None else "medium",
        evidence_keys=[
            "compute.finding.backend_errors",
            "compute.recent_change",
            "compute.metric.Errors",
            "compute.alarm_metric",
            "compute.api.integrations",
        ],
        recommendations=[
            f"Fix {backend}'s error (its logs name it)"
            + ("; it changed recently, so roll it back first." if change is not None else "."),
            "Nothing to change on the API: it returns the integration's failure.",
        ],
        diagnostics=diagnostics,
    )


def api_backend_slow(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.backend_slow")
    if finding is None:
        return None
    return Finding(
        root_cause=f"{as_clause(finding.text)}.",
        confidence="medium",
        evidence_keys=["compute.finding.backend_slow", "compute.metric.Latency", "compute.metric.IntegrationLatency"],
        recommendations=[
            "Profile the integration's backend (its dependency calls, cold starts); the gateway adds little.",
        ],
        diagnostics=_api_commands(alert),
    )


def api_gateway_latency(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.gateway_latency")
    if finding is None:
        return None
    return Finding(
        root_cause=f"{as_clause(finding.text)}.",
        confidence="medium",
        evidence_keys=[
            "compute.finding.gateway_latency",
            "compute.metric.Latency",
            "compute.metric.IntegrationLatency",
        ],
        recommendations=[
            "Look at what runs in the gateway: a Lambda authorizer (its own Duration; enable authorizer caching), "
            "request/response mapping templates, or a large payload; the backend is not the slow part.",
        ],
        diagnostics=_api_commands(alert),
    )


def api_client_errors(alert: Alert, get: FactLookup) -> Finding | None:
    finding = get("compute.finding.client_errors")
    if finding is None:
        return None
    return Finding(
        root_cause=f"{as_clause(finding.text)}.",
        confidence="medium",
        evidence_keys=["compute.finding.client_errors", "compute.alarm_metric", "compute.metric.Count"],
        recommendations=[
            "Find the caller behind the 4xx (access logs: status, path, client) — an expired key, a changed "
            "contract or a bot; no server-side fix is needed unless a deploy changed the API's contract.",
        ],
        diagnostics=_api_commands(alert),
    )


# The detectors, most specific first (`functions.analyze.rules` runs them among the alarm's).
DETECTORS: tuple[Callable[[Alert, FactLookup], Finding | None], ...] = (
    ecs_placement_failure,
    ecs_failed_to_start,
    ecs_oom_killed,
    ecs_crash_loop,
    ecs_tasks_exiting,
    ecs_utilization_high,
    workflow_task_failed,
    workflow_timed_out,
    api_backend_timeout,
    api_backend_errors,
    api_backend_slow,
    api_gateway_latency,
    api_client_errors,
)


# --- Per-type diagnostics (every alert naming the type gets them) ----------------------------------------------


def ecs_service_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    cluster, service = _ecs_names(alert)
    if not (cluster and service):
        return []
    return [
        in_region(alert, "ecs", "describe-services", opt("--cluster", cluster), opt("--services", [service])),
        in_region(
            alert,
            "ecs",
            "list-tasks",
            opt("--cluster", cluster),
            opt("--service-name", service),
            opt("--desired-status", "STOPPED"),
        ),
    ]


def ecs_cluster_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    cluster, service = _ecs_names(alert)
    if not cluster or service:  # a service's alarm gets the service's commands
        return []
    return [in_region(alert, "ecs", "describe-clusters", opt("--clusters", [cluster]))]


def state_machine_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    return _workflow_commands(alert, "FAILED")


def rest_api_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    return _api_commands(alert) if _dimensions(alert).get("ApiName") else []


def http_api_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    return _api_commands(alert) if _dimensions(alert).get("ApiId") else []
