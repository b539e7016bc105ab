"""The storm benchmark (`make bench`, issue 14): 1,000 alarm deliveries in one minute, through the pipeline's own
ingest, classify, check-incident, format and post logic with the bot token, counted per incident.

The storm: 10 alarms on 10 functions that flap (ALARM, OK, ALARM, OK, ALARM), 50 different alarms on one function
within the minute, and SNS's at-least-once redelivery filling the rest with duplicates. What is measured:
executions started (ingest names each execution by the alert's dedup key, so a redelivery starts nothing),
model calls (a critical, non-info execution that "Check Incident" sends to the investigation reaches "Analyze
Alert"; a re-fire, duplicate or resolution of an open incident goes straight to Post), and Slack calls and top-level
messages per incident (Post against an in-memory incident store and a recording Web API). The gather stages are
left out (they add AWS reads, not messages); the analysis is a fixed rule-based one.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.local_runner.incident_memory import InMemoryIncidents

ACCOUNT = "123456789012"
REGION = "us-east-1"
START = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
DELIVERIES = 1_000


@dataclass
class StormReport:
    deliveries: int = 0
    executions: int = 0
    model_calls: int = 0
    incidents: int = 0
    top_level_messages: int = 0
    slack_calls: int = 0
    calls_per_incident: Counter[str] = field(default_factory=Counter)
    model_calls_per_incident: Counter[str] = field(default_factory=Counter)


class _Web:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []  # (method, ts, thread_ts)
        self._ts = 0

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str:
        self._ts += 1
        ts = f"1764050400.{self._ts:06d}"
        self.calls.append(("chat.postMessage", ts, thread_ts))
        return ts

    def update_message(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self.calls.append(("chat.update", ts, None))


def _alarm(name: str, function: str, state: str, at: datetime) -> bytes:
    message = {
        "AlarmName": name,
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "AWSAccountId": ACCOUNT,
        "NewStateValue": state,
        "OldStateValue": "OK" if state == "ALARM" else "ALARM",
        "NewStateReason": f"Threshold Crossed: 1 datapoint [{'9.0' if state == 'ALARM' else '0.0'}] "
        f"was {'' if state == 'ALARM' else 'not '}greater than the threshold (1.0).",
        "StateChangeTime": at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "Region": "US East (N. Virginia)",
        "Trigger": {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "SUM",
            "Period": 60,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "Dimensions": [{"name": "FunctionName", "value": function}],
        },
    }
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alert-intel-critical"
    record = {
        "EventSource": "aws:sns",
        "Sns": {
            "Type": "Notification",
            "MessageId": f"{name}-{state}-{at:%H%M%S}",
            "TopicArn": topic,
            "Subject": f'{state}: "{name}" in US East (N. Virginia)',
            "Message": json.dumps(message),
            "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        },
    }
    return json.dumps({"Records": [record]}).encode()


def storm_deliveries(total: int = DELIVERIES) -> list[bytes]:
    """The storm, in delivery order: distinct alerts first in time order, then redeliveries up to `total`."""
    distinct: list[tuple[datetime, bytes]] = []
    for index in range(10):
        function = f"Worker{index}"
        for step, state in enumerate(("ALARM", "OK", "ALARM", "OK", "ALARM")):
            distinct.append(
                (
                    START + timedelta(seconds=step * 10 + index),
                    _alarm(f"{function}-Errors", function, state, START + timedelta(seconds=step * 10 + index)),
                )
            )
    for index in range(50):
        at = START + timedelta(seconds=index)
        distinct.append((at, _alarm(f"Checkout-Alarm-{index:02d}", "Checkout", "ALARM", at)))
    distinct.sort(key=lambda pair: pair[0])
    bodies = [body for _, body in distinct]
    redeliveries = [bodies[i % len(bodies)] for i in range(max(total - len(bodies), 0))]
    # Redeliveries arrive after their original (SNS retries), spread through the minute.
    storm: list[bytes] = []
    per_original = len(redeliveries) // len(bodies) + 1
    for index, body in enumerate(bodies):
        storm.append(body)
        storm += redeliveries[index * per_original : (index + 1) * per_original]
    return storm[:total]


def run_storm(total: int = DELIVERIES) -> StormReport:
    from functions.check_incident.logic import decide
    from functions.classify.logic import classify
    from functions.format.logic import format_output
    from functions.ingest.logic import execution_name, pipeline_inputs_from_raw
    from functions.post.logic import post_incident
    from functions.shared.models import Analysis, FormatInput, PostInput
    from functions.shared.observability import metrics

    report = StormReport()
    store, web = InMemoryIncidents(), _Web()
    started: set[str] = set()
    analysis = Analysis(method="rule_based", root_cause="Errors rose on the function.", confidence="medium")
    for raw in storm_deliveries(total):
        report.deliveries += 1
        for pipeline_input in pipeline_inputs_from_raw(raw):
            name = execution_name(pipeline_input)
            if name in started:  # Step Functions execution names are idempotent: nothing starts
                continue
            started.add(name)
            report.executions += 1
            alert = classify(pipeline_input)
            check = decide(alert, store, claims=store, execution_name=name)
            if check.action == "update" and check.message is not None:  # "Post Incident Update": no gathering
                calls_model = False
                post_input = PostInput(
                    route=pipeline_input.route,
                    dedup_key=alert.dedup_key,
                    message=check.message,
                    incident=check.incident,
                )
            else:
                calls_model = pipeline_input.route == "critical" and alert.severity != "info"
                fi = FormatInput(
                    route=pipeline_input.route,
                    alert=alert,
                    analysis=analysis if calls_model else None,
                    incident_check=check,
                )
                output = format_output(fi, now=alert.occurred_at or START)
                post_input = PostInput.model_validate(output.model_dump(mode="json"))
            before = len(web.calls)
            result = post_incident(post_input, web, "C0STORM", store, None)
            incident = str(result.ts)
            report.calls_per_incident[incident] += len(web.calls) - before
            if calls_model:
                report.model_calls += 1
                report.model_calls_per_incident[incident] += 1
            metrics.clear_metrics()  # as a Lambda's flush would, once per invocation
    report.slack_calls = len(web.calls)
    report.top_level_messages = sum(1 for method, _, thread in web.calls if method == "chat.postMessage" and not thread)
    report.incidents = len(report.calls_per_incident)
    return report


def print_storm(total: int = DELIVERIES) -> bool:
    """Print the storm's numbers; True when every incident has at most one top-level message and one model call."""
    report = run_storm(total)
    calls = report.calls_per_incident.values()
    models = report.model_calls_per_incident.values()
    print(f"Storm: {report.deliveries:,} deliveries in one minute")
    print(f"  executions started        {report.executions:,} (redeliveries start none)")
    print(f"  incidents (Slack threads) {report.incidents:,}")
    print(f"  top-level messages        {report.top_level_messages:,} (target: <= 1 per incident)")
    print(f"  Slack calls               {report.slack_calls:,}; per incident max {max(calls, default=0)}")
    print(
        f"  model calls               {report.model_calls:,}; per incident max {max(models, default=0)} (target: <= 1)"
    )
    one_message = report.top_level_messages <= report.incidents
    one_model_call = max(models, default=0) <= 1
    print("  target <= 1 top-level message per incident:", "met" if one_message else "NOT met")
    print("  target <= 1 model call per incident:", "met" if one_model_call else "NOT met")
    return one_message and one_model_call
