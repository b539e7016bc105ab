"""Step Functions evidence: a customer state machine's recent failed and timed-out executions, where the newest
one failed (state, error, cause) and the Lambda function that state invokes (a neighbour the graph walk follows).

Bounded: at most 5 executions listed per status, one history read (its last 25 events) for the newest failure.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from functions.shared import console_links
from functions.shared.adapters.containers import WorkflowReader
from functions.shared.investigate.base import Evidence, Neighbour, parse_aws_time
from functions.shared.investigate.resources import ago
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

MAX_CAUSE_CHARS = 160
_FAILURE_EVENTS = (
    "TaskFailed",
    "TaskTimedOut",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "ExecutionFailed",
    "ExecutionTimedOut",  # the whole execution's TimeoutSeconds, in whichever state was running
)


def _details(event: dict[str, Any]) -> dict[str, Any]:
    """An event's `<type>EventDetails` block (e.g. taskFailedEventDetails)."""
    kind = str(event.get("type") or "")
    # Every state's entered / exited event shares one details block (stateEnteredEventDetails).
    if kind.endswith("StateEntered"):
        kind = "StateEntered"
    elif kind.endswith("StateExited"):
        kind = "StateExited"
    key = kind[:1].lower() + kind[1:] + "EventDetails"
    value = event.get(key)
    return value if isinstance(value, dict) else {}


def _cause_text(cause: str) -> str:
    """A Lambda error's cause is JSON ({"errorType", "errorMessage", "stackTrace"}): keep type and message."""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        return cause[:MAX_CAUSE_CHARS]
    if isinstance(parsed, dict) and (parsed.get("errorMessage") or parsed.get("errorType")):
        text = f"{parsed.get('errorType') or 'Error'}: {parsed.get('errorMessage') or ''}".strip()
        return text[:MAX_CAUSE_CHARS]
    return cause[:MAX_CAUSE_CHARS]


def _function_name(value: Any) -> str | None:
    """A Lambda function's name from a name, a (qualified) function ARN or a `lambda:invoke` FunctionName."""
    if not isinstance(value, str) or not value:
        return None
    if ":function:" in value:
        return value.split(":function:", 1)[1].split(":", 1)[0] or None
    if value.startswith("arn:"):
        return None
    return value.split(":", 1)[0]


def definition_functions(definition: str | None) -> dict[str, str]:
    """State name -> the Lambda function its Task invokes, from the definition (nested branches too)."""
    try:
        parsed = json.loads(definition or "")
    except (TypeError, ValueError):
        return {}
    found: dict[str, str] = {}

    def walk(states: Any) -> None:
        if not isinstance(states, dict):
            return
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            resource = str(state.get("Resource") or "")
            parameters = state.get("Parameters") or state.get("Arguments") or {}
            function = None
            if resource.startswith("arn:aws:states:::lambda:invoke") and isinstance(parameters, dict):
                function = _function_name(parameters.get("FunctionName"))
            elif ":lambda:" in resource:
                function = _function_name(resource)
            if function:
                found[str(name)] = function
            for branch in state.get("Branches") or []:
                walk((branch or {}).get("States"))
            walk(((state.get("ItemProcessor") or state.get("Iterator")) or {}).get("States"))

    walk(parsed.get("States") if isinstance(parsed, dict) else None)
    return found


class FailurePoint:
    """Where one execution failed: the state, the error and cause, and the function the state invokes."""

    def __init__(self, state: str | None, error: str, cause: str, function: str | None) -> None:
        self.state = state
        self.error = error
        self.cause = cause
        self.function = function


def failure_point(events: list[dict[str, Any]], functions: dict[str, str]) -> FailurePoint | None:
    """The first failing event of an execution's history (any order given), with the state it happened in."""
    ordered = sorted(events, key=lambda e: int(e.get("id") or 0))
    state: str | None = None
    scheduled_function: str | None = None
    for event in ordered:
        kind = str(event.get("type") or "")
        details = _details(event)
        if kind.endswith("StateEntered"):
            state = str(details.get("name") or "") or state
            scheduled_function = None
        elif kind == "TaskScheduled":
            try:
                parameters = json.loads(str(details.get("parameters") or "{}"))
            except ValueError:
                parameters = {}
            if details.get("resourceType") == "lambda" and isinstance(parameters, dict):
                scheduled_function = _function_name(parameters.get("FunctionName"))
        elif kind == "LambdaFunctionScheduled":
            scheduled_function = _function_name(details.get("resource"))
        if kind in _FAILURE_EVENTS:
            default = {"ExecutionFailed": "", "ExecutionTimedOut": "States.Timeout"}.get(kind, "States.TaskFailed")
            error = str(details.get("error") or default)
            function = scheduled_function or (functions.get(state) if state else None)
            return FailurePoint(state, error or "unknown error", _cause_text(str(details.get("cause") or "")), function)
    return None


def state_machine_evidence(workflows: WorkflowReader, arn: str, *, now: datetime, region: str | None) -> Evidence:
    """Recent failed / timed-out executions, where the newest failure happened, and the state machine's age."""
    evidence = Evidence()
    name = arn.rsplit(":", 1)[-1]
    try:
        return _state_machine_evidence(evidence, workflows, arn, name, now=now, region=region)
    finally:
        url = console_links.state_machine_url(arn, region)
        for fact in evidence.facts:
            fact.link = fact.link or url


def _state_machine_evidence(
    evidence: Evidence, workflows: WorkflowReader, arn: str, name: str, *, now: datetime, region: str | None
) -> Evidence:
    evidence.looked_at.append(f"Step Functions {name}: failed and timed-out executions")
    machine = evidence.read_resource(
        f"state machine {name}", lambda: workflows.state_machine(arn), missing=f"No state machine {name}"
    )
    if machine is None:
        return evidence
    created = parse_aws_time(machine.get("creationDate"))
    failed = evidence.read(f"failed executions of {name}", lambda: workflows.executions(arn, "FAILED")) or []
    timed_out = evidence.read(f"timed-out executions of {name}", lambda: workflows.executions(arn, "TIMED_OUT")) or []
    evidence.facts.append(
        Fact(
            key="compute.sfn.state_machine",
            text=f"State machine {name} ({machine.get('type') or 'STANDARD'})"
            + (f", created {ago(created, now)}" if created else "")
            + (f", revision {str(machine.get('revisionId'))[:12]}" if machine.get("revisionId") else ""),
            subject=name,
        )
    )
    if not failed and not timed_out:
        evidence.notes.append(f"No failed or timed-out executions of {name} in its recent history.")
        return evidence
    newest = max(failed + timed_out, key=lambda e: str(e.get("stopDate") or e.get("startDate") or ""))
    stopped = parse_aws_time(newest.get("stopDate") or newest.get("startDate"))
    evidence.facts.append(
        Fact(
            key="compute.sfn.failed_executions",
            text=f"{len(failed)}{'+' if len(failed) >= 5 else ''} failed and {len(timed_out)} timed-out execution(s) "
            f"of {name} listed" + (f"; newest {newest.get('status')} {ago(stopped, now)}" if stopped else ""),
            value=len(failed) + len(timed_out),
            subject=name,
            numbers=Measurement(value=float(len(failed)), baseline=float(len(timed_out)), unit="executions"),
        )
    )
    events = (
        evidence.read(
            f"history of execution {newest.get('name')}", lambda: workflows.last_events(str(newest.get("executionArn")))
        )
        or []
    )
    point = failure_point(events, definition_functions(machine.get("definition")))
    if point is None:
        if newest.get("status") == "TIMED_OUT":
            evidence.facts.append(
                Fact(
                    key="compute.finding.execution_timed_out",
                    text=f"Execution timed out: {name}'s newest execution hit its TimeoutSeconds",
                    value="States.Timeout",
                    subject=name,
                )
            )
        return evidence
    where = f"state {point.state}" if point.state else "an unnamed state"
    newest_timed_out = newest.get("status") == "TIMED_OUT"
    evidence.facts.append(
        Fact(
            key="compute.finding.execution_timed_out" if newest_timed_out else "compute.finding.task_failed",
            text=(
                f"Execution {'timed out' if newest_timed_out else 'failed'} in {where}"
                + (f" (Lambda {point.function})" if point.function else "")
                + f": {point.error}"
                + (
                    f" — {point.cause.removeprefix(point.error + ': ')}"
                    if point.cause and point.cause != point.error
                    else ""
                )
            ),
            value=point.error,
            subject=point.function or point.state or name,
        )
    )
    if point.function:
        evidence.neighbours.append(
            Neighbour(
                target=Target.of("lambda", point.function, region),
                edge=f"Lambda function of task state {point.state or '?'} in state machine {name}",
            )
        )
    return evidence
