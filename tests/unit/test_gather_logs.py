"""The log playbook: which log group, which window, and errors grouped by pattern."""

from __future__ import annotations

from datetime import timedelta

from functions.gather_logs.logic import LogReaders, gather_logs
from functions.shared.models import Alert, StageInput
from functions.shared.settings import Settings
from tests.support.gather_fakes import (
    NOW,
    FakeCloudWatch,
    FakeLambdas,
    FakeLogGroups,
    FakeLogs,
    alarm_alert,
    budget_alert,
    log_row,
)


def run(alert: Alert, logs: FakeLogs, cloudwatch=None, lambdas=None, route="critical"):
    readers = LogReaders(
        logs=logs,  # type: ignore[arg-type]
        cloudwatch=cloudwatch or FakeCloudWatch(),  # type: ignore[arg-type]
        lambdas=lambdas or FakeLambdas(),  # type: ignore[arg-type]
        log_groups=FakeLogGroups(),  # type: ignore[arg-type]
    )
    return gather_logs(StageInput(route=route, alert=alert), readers, now=NOW, settings=Settings())


def test_lambda_alarm_groups_errors_by_pattern_with_counts_and_first_last_seen():
    # Given error lines that differ only in their numbers, plus info lines the backend did not filter out
    rows = [log_row(m, f"[ERROR] KeyError: 'PAYMENT_API_URL' order {1000 + m}") for m in range(1, 21)]
    rows += [log_row(m, "Task timed out after 15.01 seconds") for m in (3, 9)]
    rows += [log_row(m, "[INFO] all good") for m in range(1, 30)]
    logs = FakeLogs(rows=rows, groups={"/aws/lambda/CheckoutService"})
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "CheckoutService"})

    # When the logs branch runs
    section = run(alert, logs)

    # Then the summary counts only error lines, and patterns come most frequent first
    assert section.status == "ok"
    assert section.facts[0].key == "logs.error_count" and section.facts[0].value == 22
    first = section.fact("logs.pattern.1")
    assert first is not None and first.value == 20 and "PAYMENT_API_URL" in first.text
    assert "first" in first.text and "last" in first.text
    second = section.fact("logs.pattern.2")
    assert second is not None and second.value == 2
    assert logs.queries[0][0] == ["/aws/lambda/CheckoutService"]
    # The window ends shortly after the alert and starts the configured lookback before it
    _, _, start, end, wait = logs.queries[0]
    assert end <= NOW + timedelta(minutes=1) and NOW - start >= timedelta(minutes=60)
    assert 0 < wait <= Settings().gather_timeout_seconds


def test_no_errors_is_reported_as_a_fact():
    logs = FakeLogs(rows=[log_row(2, "[INFO] report written")], groups={"/aws/lambda/ReportGenerator"})
    section = run(alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "ReportGenerator"}), logs)
    fact = section.fact("logs.error_count")
    assert fact is not None and fact.value == 0 and fact.text.startswith("No error lines")


def test_missing_log_group_is_said_precisely():
    section = run(alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "Ghost"}), FakeLogs())
    assert any("/aws/lambda/Ghost does not exist" in note for note in section.notes)


def test_budget_alert_searches_the_log_group_of_the_top_lambda_mover():
    # Given ImageProcessor's invocations quadrupled
    cloudwatch = FakeCloudWatch(
        series={
            "Invocations:ImageProcessor": [(m * 60.0, 100.0) for m in range(24, 48)]
            + [(m * 60.0, 400.0) for m in range(24)],
        }
    )
    logs = FakeLogs(rows=[log_row(1, "[ERROR] boom")], groups={"/aws/lambda/ImageProcessor"})

    # When the logs branch runs for a budget alert
    run(budget_alert(), logs, cloudwatch=cloudwatch, lambdas=FakeLambdas(functions={"ImageProcessor": {}}))

    # Then it queried that function's log group
    assert logs.queries[0][0] == ["/aws/lambda/ImageProcessor"]


def test_ec2_and_security_alerts_skip_with_a_reason():
    ec2 = run(alarm_alert("CPUUtilization", "AWS/EC2", {"InstanceId": "i-0c1d2e3f4a5b6c7d8"}), FakeLogs())
    assert ec2.status == "skipped" and "i-0c1d2e3f4a5b6c7d8" in ec2.notes[0]
    security = budget_alert().model_copy(update={"source": "security_hub"})
    assert run(security, FakeLogs()).status == "skipped"
