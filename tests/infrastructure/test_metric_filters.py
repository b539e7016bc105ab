"""Every metric filter the stacks define, run against the EMF records Powertools really writes.

A filter that selects `$.LLMCostUSD` never matches Powertools' `"LLMCostUSD": [0.0123]`, so the daily cost and
latency alarms would never fire: each pattern and metric value is evaluated here on real `Metrics` output (the
same library, namespace, service and dimensions as the stages), with a small evaluator of CloudWatch Logs' JSON
filter syntax (tests/support/cloudwatch_filter.py).
"""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from cdk.constants import METRICS_NAMESPACE, SERVICE_NAME
from tests.infrastructure.conftest import STACKS, Synthesis
from tests.support.cloudwatch_filter import matches, metric_value


def _emf_record(metric_name: str, value: float, alert_type: str | None) -> str:
    """One flushed Powertools EMF record, as the analyze stage (with AlertType) or the chat worker writes it."""
    metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
    if alert_type:
        metrics.add_dimension(name="AlertType", value=alert_type)
    metrics.add_metric(name="AlertsAnalyzed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=metric_name, unit=MetricUnit.NoUnit, value=value)
    record = json.dumps(metrics.serialize_metric_set())
    metrics.clear_metrics()
    return record


def _metric_filters(synthesis: Synthesis) -> list[dict]:
    return [
        resource["Properties"]
        for stack in STACKS
        for resource in synthesis.resources(stack, "AWS::Logs::MetricFilter").values()
    ]


def test_the_stacks_define_metric_filters(synthesis: Synthesis) -> None:
    assert len(_metric_filters(synthesis)) == 4


@pytest.mark.parametrize("alert_type", ["budget_exceeded", None])
def test_each_filter_matches_powertools_emf_output_and_publishes_its_value(
    synthesis: Synthesis, alert_type: str | None
) -> None:
    for properties in _metric_filters(synthesis):
        # Given the metric the filter re-publishes, emitted by Powertools as the code emits it
        (transformation,) = properties["MetricTransformations"]
        source_metric = transformation["MetricName"].removesuffix("AllTypes")
        record = _emf_record(source_metric, 0.0123, alert_type)
        assert f'"{source_metric}": [0.0123]' in record  # Powertools writes arrays

        # Then the pattern matches the record and the metric value is the number the code added
        assert matches(properties["FilterPattern"], record), properties["FilterPattern"]
        assert metric_value(transformation["MetricValue"], record) == pytest.approx(0.0123)


def test_each_filter_ignores_records_without_its_metric_and_plain_log_lines(synthesis: Synthesis) -> None:
    for properties in _metric_filters(synthesis):
        pattern = properties["FilterPattern"]
        assert not matches(pattern, _emf_record("ToolExecutions", 3, None))
        assert not matches(pattern, '{"level": "INFO", "message": "Alert classified"}')
        assert not matches(pattern, "START RequestId: 1 Version: $LATEST")


def test_the_evaluator_rejects_what_cloudwatch_would_not_match() -> None:
    # The defect this guards against: a selector without the index lands on the array, which no number equals
    record = _emf_record("LLMCostUSD", 0.5, "budget_exceeded")
    assert not matches("{ $.LLMCostUSD >= 0 }", record)
    assert matches("{ $.LLMCostUSD[0] >= 0 }", record)
    assert matches('{ $.AlertType = "budget_*" && $.LLMCostUSD[0] > 0.1 }', record)
    assert not matches('{ ($.AlertType = "other") || $.LLMCostUSD[0] > 1 }', record)
    assert matches("{ $.missing NOT EXISTS }", record)
