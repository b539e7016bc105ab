"""The rule-based analysis: one detector per kind of incident, a false alarm called a false alarm, never a crash."""

from __future__ import annotations

import random
from typing import Any

from functions.analyze.rules import analyze_with_rules
from functions.shared.alert_details import CloudWatchAlarmDetails, details_for
from functions.shared.models import Alert, ContextSection, Fact, GatheredContext, ResourceRef
from tests.support.gather_fakes import alarm_alert, budget_alert


def section(name: str, *facts: tuple[str, str, Any]) -> ContextSection:
    return ContextSection(
        name=name,  # type: ignore[arg-type]
        status="ok",
        facts=[Fact(key=k, text=t, value=v, link="https://console.aws.amazon.com/x") for k, t, v in facts],
    )


def lambda_alarm(metric: str, name: str, **details: Any) -> Alert:
    alert = alarm_alert(metric, "AWS/Lambda", {"FunctionName": name}, **details)
    return alert.model_copy(update={"resource": ResourceRef(type="AWS::Lambda::Function", name=name)})


def test_budget_with_a_lambda_mover_is_an_invocation_storm():
    context = GatheredContext(
        cost=section("cost", ("cost.top_mover", "Top mover AWS Lambda: $48.00 yesterday vs $12.00 (+300%)", 300)),
        compute=section(
            "compute", ("compute.lambda_mover", "Lambda ImageProcessor: 1,382,400 invocations (+300%)", 300)
        ),
        logs=section("logs", ("logs.pattern.1", "48x [ERROR] UnidentifiedImageError (first 18:00, last 19:00)", 48)),
    )
    analysis = analyze_with_rules(budget_alert(), context)
    assert analysis.root_cause.startswith("Invocation storm on Lambda ImageProcessor")
    assert "UnidentifiedImageError" in analysis.root_cause
    assert analysis.confidence == "high"
    assert analysis.evidence[0].section == "compute"
    assert any("reserved concurrency" in r for r in analysis.recommendations)


def test_forecast_alert_names_the_service_behind_the_forecast():
    alert = budget_alert(notification_type="FORECASTED").model_copy(update={"alert_type": "budget_forecast"})
    context = GatheredContext(
        cost=section(
            "cost",
            ("cost.top_mover", "Top mover Amazon EC2: $34.20 yesterday; week over week +$14.30 (+72%)", 72),
            ("cost.forecast", "Forecast to month end $1,380.00: 138% of budget $1,000.00", 1380),
        )
    )
    root_cause = analyze_with_rules(alert, context).root_cause
    assert "forecast" in root_cause and "Amazon EC2" in root_cause and "$1,380.00" in root_cause


def test_throttling_at_the_reserved_concurrency_limit():
    context = GatheredContext(
        compute=section(
            "compute",
            ("compute.alarm_metric", "Alarm metric Throttles (Sum/5m): peak 700 vs baseline 0 (from zero)", None),
            ("compute.reserved_concurrency", "OrderIngest is capped at 20 concurrent executions", 20),
            ("compute.metric.ConcurrentExecutions", "ConcurrentExecutions (Maximum/5m): peak 20 vs baseline 7", 20),
        )
    )
    analysis = analyze_with_rules(lambda_alarm("Throttles", "OrderIngest"), context)
    assert "reserved concurrency limit of 20" in analysis.root_cause
    assert analysis.confidence == "high"


def test_errors_right_after_a_change_point_at_the_deploy():
    context = GatheredContext(
        compute=section(
            "compute",
            ("compute.alarm_metric", "Alarm metric Errors (Sum/5m): peak 240 vs baseline 0 (from zero)", None),
            ("compute.recent_change", "Recent change: CheckoutService updated 27 min ago", 27),
        ),
        logs=section("logs", ("logs.pattern.1", "120x KeyError: 'PAYMENT_API_URL'", 120)),
    )
    analysis = analyze_with_rules(lambda_alarm("Errors", "CheckoutService"), context)
    assert "after a deploy" in analysis.root_cause and "27 min ago" in analysis.root_cause
    assert "KeyError" in analysis.root_cause
    assert any("Roll CheckoutService back" in r for r in analysis.recommendations)


def test_a_healthy_system_is_called_a_false_alarm_not_given_a_cause():
    alert = lambda_alarm(
        "Errors",
        "ReportGenerator",
        state_reason="Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were "
        "treated as [Breaching].",
    )
    context = GatheredContext(
        compute=section(
            "compute", ("compute.alarm_metric", "Alarm metric Errors (Sum/5m): peak 0 vs baseline 0", None)
        ),
        logs=section("logs", ("logs.error_count", "No error lines in /aws/lambda/ReportGenerator", 0)),
    )
    analysis = analyze_with_rules(alert, context)
    assert analysis.root_cause.startswith("No sign of a problem")
    assert "false alarm" in analysis.root_cause
    assert analysis.verdict == "false_alarm"
    assert analysis.recommendations[0] == "No action is needed on the resource."


def test_errors_in_the_logs_are_never_called_a_false_alarm():
    alert = lambda_alarm("Errors", "Worker", threshold=5)
    context = GatheredContext(
        compute=section(
            "compute", ("compute.alarm_metric", "Alarm metric Errors: peak 3; threshold 5 (not crossed)", 0)
        ),
        logs=section(
            "logs",
            ("logs.error_count", "12 error lines in /aws/lambda/Worker", 12),
            ("logs.pattern.1", "12x Timeout", 12),
        ),
    )
    analysis = analyze_with_rules(alert, context)
    assert "false alarm" not in analysis.root_cause
    assert analysis.verdict == "problem"


def test_a_system_status_check_failure_blames_the_host():
    alert = alarm_alert("StatusCheckFailed_System", "AWS/EC2", {"InstanceId": "i-0d2e3f4a5b6c7d8e9"})
    context = GatheredContext(
        compute=section("compute", ("compute.alarm_metric", "Alarm metric StatusCheckFailed_System: peak 1", None))
    )
    analysis = analyze_with_rules(alert, context)
    assert "underlying AWS host" in analysis.root_cause
    assert all(command.startswith("aws ec2 ") for command in analysis.diagnostics[:2])


def test_a_recovered_alarm_needs_no_action():
    alert = lambda_alarm("Errors", "f").model_copy(
        update={"severity": "info", "details": CloudWatchAlarmDetails(state="OK")}
    )
    assert "no action is needed" in analyze_with_rules(alert, GatheredContext()).root_cause


def test_the_rules_never_raise_on_odd_input():
    # Given random alerts and contexts with odd fact values and texts
    rng = random.Random(7)
    sources = ["budget", "cost_anomaly", "cloudwatch_alarm", "health", "security_hub", "guardduty", "custom", "unknown"]
    keys = [
        "cost.top_mover", "cost.top_usage_type", "cost.anomaly_root_cause.1", "compute.lambda_mover",
        "compute.alarm_metric", "compute.reserved_concurrency", "compute.recent_change", "compute.metric.Throttles",
        "compute.instance", "logs.error_count", "logs.pattern.1", "security.similar_findings", "health.event",
    ]  # fmt: skip
    odd_values: list[Any] = [None, "", "n/a", 0, -1, 1e12, "12"]
    odd_texts = ["", ":", "peak", "Lambda :", "Top mover : $", "peak 1,2,3 baseline x", "é" * 300]
    for _ in range(300):
        source = rng.choice(sources)
        alert = Alert(
            source=source,  # type: ignore[arg-type]
            alert_type=rng.choice(["", "budget_forecast", "x"]),
            severity=rng.choice(["critical", "warning", "info"]),  # type: ignore[arg-type]
            title=rng.choice(odd_texts) or "t",
            details=details_for(
                source, rng.choice([{}, {"metric_name": "Throttles", "state": "ALARM"}, {"state_reason": None}])
            ),
            dedup_key="k",
        )
        facts = [(rng.choice(keys), rng.choice(odd_texts), rng.choice(odd_values)) for _ in range(rng.randint(0, 6))]
        context = GatheredContext(compute=section("compute", *facts), logs=section("logs", *facts))

        # When / Then: an analysis always comes back
        assert analyze_with_rules(alert, context).root_cause


def test_a_breach_the_alarm_saw_is_not_called_a_false_alarm_even_if_our_window_missed_it():
    # Given CloudWatch's reason lists a breaching datapoint, but the gathered window shows no crossing
    alert = lambda_alarm(
        "Errors",
        "Worker",
        threshold=25,
        state_reason="Threshold Crossed: 1 out of the last 1 datapoints [317.0 (25/11/26 18:48:00)] was greater "
        "than or equal to the threshold (25.0).",
    )
    metric = ("compute.alarm_metric", "Alarm metric Errors: peak 3; threshold 25 (not crossed)", 0)
    context = GatheredContext(
        compute=section("compute", metric),
        logs=section("logs", ("logs.error_count", "No error lines", 0)),
    )

    # Then the rules do not dismiss it
    analysis = analyze_with_rules(alert, context)
    assert "false alarm" not in analysis.root_cause
    assert analysis.verdict == "problem"
