"""MonitoringStack: the dashboard and the design's meta-alarms, notifying the ops topic."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from tests.infrastructure.conftest import Synthesis

STACK = "Monitoring"


def _alarms(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["AlarmName"].removeprefix("alert-intel-dev-"): resource["Properties"]
        for resource in synthesis.resources(STACK, "AWS::CloudWatch::Alarm").values()
    }


def test_meta_alarms_and_their_thresholds(synthesis: Synthesis) -> None:
    # Given the alarms by name
    alarms = _alarms(synthesis)

    # Then each of the design's meta-alarms exists with its threshold, alarming above it
    expected = {
        "analyzer-failure-rate": 10,
        "analysis-latency": 30_000,  # ms
        "daily-llm-cost": 5,
        "conversations-throttled": 0,
        "executions-failed": 0,
        "executions-throttled": 0,
        "executions-aborted": 0,
        "slack-post-failures": 0,
        "ingest-dead-letters": 0,
        "archiver-dead-letters": 0,
        "chat-worker-dead-letters": 0,
        "model-access-denied": 0,
    }
    assert {name: alarm["Threshold"] for name, alarm in alarms.items()} == expected
    for alarm in alarms.values():
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def test_failure_rate_is_errors_over_invocations_of_analyze(synthesis: Synthesis) -> None:
    alarm = _alarms(synthesis)["analyzer-failure-rate"]
    expression, errors, invocations = _by_role(alarm["Metrics"])
    assert "100 * errors / invocations" in expression["Expression"]
    for metric, name in ((errors, "Errors"), (invocations, "Invocations")):
        stat = metric["MetricStat"]
        assert stat["Metric"]["MetricName"] == name
        assert stat["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": "alert-intel-dev-analyze"}]
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)


def _by_role(metrics: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    expression = next(m for m in metrics if "Expression" in m)
    by_id = {m["Id"]: m for m in metrics}
    return expression, by_id["errors"], by_id["invocations"]


def test_daily_cost_sums_a_whole_day_of_all_alert_types(synthesis: Synthesis) -> None:
    alarm = _alarms(synthesis)["daily-llm-cost"]
    assert alarm["MetricName"] == "LLMCostUSDAllTypes"
    assert alarm["Namespace"] == "AlertIntel"
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 86400, 1)
    assert "Dimensions" not in alarm


def test_cost_and_latency_are_republished_without_the_alert_type_dimension(synthesis: Synthesis) -> None:
    # Given the metric filters on the analyze and chat worker log groups
    filters = list(synthesis.resources(STACK, "AWS::Logs::MetricFilter").values())

    # Then each re-publishes LLMCostUSD and AnalysisLatency from the EMF records, undimensioned
    published = {
        (f["Properties"]["LogGroupName"], f["Properties"]["MetricTransformations"][0]["MetricName"]) for f in filters
    }
    assert published == {
        (f"/aws/lambda/{synthesis.config.function_name(key)}", f"{metric}AllTypes")
        for key in ("analyze", "chat_worker")
        for metric in ("LLMCostUSD", "AnalysisLatency")
    }
    for f in filters:
        (transformation,) = f["Properties"]["MetricTransformations"]
        metric = transformation["MetricName"].removesuffix("AllTypes")
        assert transformation["MetricValue"] == f"$.{metric}[0]"
        assert f["Properties"]["FilterPattern"] == f"{{ $.{metric}[0] >= 0 }}"
        assert "Dimensions" not in transformation


def test_state_machine_alarms_watch_the_pipeline_by_arn(synthesis: Synthesis) -> None:
    alarms = _alarms(synthesis)
    for name, metric_name in (
        ("executions-throttled", "ExecutionThrottled"),
        ("executions-aborted", "ExecutionsAborted"),
    ):
        alarm = alarms[name]
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["MetricName"] == metric_name
        (dimension,) = alarm["Dimensions"]
        assert dimension["Name"] == "StateMachineArn"
        assert "stateMachine:alert-intel-dev-alert-pipeline" in json.dumps(dimension["Value"])


def test_every_alarm_notifies_the_ops_topic_on_alarm_and_recovery(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    (topic_id,) = synthesis.resources(STACK, "AWS::SNS::Topic")
    template.all_resources_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": [{"Ref": topic_id}], "OKActions": [{"Ref": topic_id}]}
    )
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_dashboard_shows_alerts_latency_llm_tools_errors_and_conversations(synthesis: Synthesis) -> None:
    # Given the dashboard body, with CloudFormation's joins flattened
    (dashboard,) = synthesis.resources(STACK, "AWS::CloudWatch::Dashboard").values()
    body = _flatten(dashboard["Properties"]["DashboardBody"])
    widgets = json.loads(body)["widgets"]
    titles = {w["properties"].get("title") for w in widgets}

    # Then every panel of the design is there
    assert {
        "Alerts analysed (per hour)",
        "Analysis latency (ms)",
        "LLM tokens (per hour)",
        "Estimated LLM cost (USD per day)",
        "Tool executions and conversations (per hour)",
        "Errors",
    } <= titles
    for metric in ("AlertsAnalyzed", "LLMTokensUsed", "ToolExecutions", "Conversations"):
        assert f'MetricName=\\"{metric}\\"' in body or f'MetricName="{metric}"' in body
    for stat in ("p50", "p95", "p99"):
        assert f'"stat":"{stat}"' in body


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(_flatten(part) for part in value["Fn::Join"][1])
    return "0"  # Ref / GetAtt: a placeholder that keeps the JSON valid inside strings
