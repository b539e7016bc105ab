"""Alarms no playbook fits: an unregistered namespace gets its metric, its companions and a plain "not investigated
yet"; a registered type's unexplained alarm says what moved with its metric; neither invents a cause."""

from __future__ import annotations

from typing import Any

import pytest

from functions.analyze.rules import analyze_with_rules
from functions.shared.adapters.cost_resources import MetricCatalogReader
from functions.shared.classification import classify_payload
from functions.shared.models import ContextSection, Fact, GatheredContext, Measurement
from tests.support.gather_fakes import NOW, FakeCloudWatch, FakeMetricCatalog, alarm_alert
from tests.unit.test_gather_compute import five_minute, readers, run


def _companion_readers(series: dict[str, list[tuple[float, float]]], names: dict[tuple[str, str], list[str]]):
    catalog = FakeMetricCatalog(names=names)
    return readers(cloudwatch=FakeCloudWatch(series=series), metric_catalog=catalog), catalog


def test_an_unregistered_namespace_says_so_and_reads_the_metrics_published_beside_the_alarms() -> None:
    # Given a Firehose freshness alarm (no registered type) whose delivery stream's incoming records doubled
    alert = alarm_alert("DeliveryToS3.DataFreshness", "AWS/Firehose", {"DeliveryStreamName": "clicks"}, threshold=900)
    compute, catalog = _companion_readers(
        {
            "DeliveryToS3.DataFreshness": five_minute(80, [900, 1800, 2400]),
            "IncomingRecords": five_minute(50000, [100000, 100000, 100000]),
            "DeliveryToS3.Success": five_minute(1, [1, 1, 1]),
        },
        {("AWS/Firehose", "clicks"): ["DeliveryToS3.DataFreshness", "IncomingRecords", "DeliveryToS3.Success"]},
    )

    # When the compute branch runs
    section = run(alert, compute)

    # Then it states the type is not investigated, and the incoming records moved while deliveries stayed steady
    unregistered = section.fact("compute.unregistered_resource")
    assert unregistered is not None and unregistered.subject == "clicks"
    assert "not a resource type alert-intel investigates yet" in unregistered.text
    assert catalog.name_calls == [("AWS/Firehose", {"DeliveryStreamName": "clicks"})]
    summary = section.fact("compute.companion_summary")
    assert summary is not None
    assert "moved with it: IncomingRecords (+100%)" in summary.text and "steady: DeliveryToS3.Success" in summary.text
    assert section.fact("compute.companion.IncomingRecords") is not None
    assert section.fact("compute.companion.DeliveryToS3.DataFreshness") is None  # the alarm's own metric
    # And every fact links to its evidence (a graph)
    assert all(fact.link for fact in section.facts)


def test_a_registered_type_alarmed_outside_its_related_metrics_reads_the_rest_by_its_own_dimensions() -> None:
    # Given ReplicaLag (not among an RDS instance's related metrics) and WriteIOPS up 25x
    alert = alarm_alert("ReplicaLag", "AWS/RDS", {"DBInstanceIdentifier": "replica-1"}, threshold=600)
    compute, _catalog = _companion_readers(
        {
            "ReplicaLag": five_minute(0.4, [600, 1200, 1850]),
            "WriteIOPS": five_minute(120, [3000, 3000, 3000]),
            "CPUUtilization": five_minute(18, [18, 18, 18]),
        },
        {("AWS/RDS", "replica-1"): ["ReplicaLag", "WriteIOPS", "CPUUtilization"]},
    )

    # When the compute branch runs
    section = run(alert, compute)

    # Then the companions are read (the related CPUUtilization only once, as a related metric), no "unregistered"
    assert section.fact("compute.unregistered_resource") is None
    assert section.fact("compute.companion.WriteIOPS") is not None
    assert section.fact("compute.companion.CPUUtilization") is None
    assert section.fact("compute.metric.CPUUtilization") is not None
    summary = section.fact("compute.companion_summary")
    assert summary is not None and "WriteIOPS" in summary.text


def test_an_alarm_on_a_related_metric_reads_no_companions() -> None:
    # Given a Lambda Errors alarm: the type's related metrics cover it
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "Checkout"}, threshold=5)
    compute, catalog = _companion_readers({"Errors": five_minute(0, [40, 60, 80])}, {})

    # When the compute branch runs
    run(alert, compute)

    # Then ListMetrics is never asked
    assert catalog.name_calls == []


class _ListMetricsClient:
    def __init__(self, metrics: list[dict[str, Any]]) -> None:
        self.metrics = metrics
        self.calls: list[dict[str, Any]] = []

    def list_metrics(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return {"Metrics": self.metrics}


def test_list_metrics_keeps_only_the_alarms_exact_dimension_set() -> None:
    # Given ListMetrics answering with the stream's metrics and a per-shard one (more dimensions)
    client = _ListMetricsClient(
        [
            {"MetricName": "IncomingRecords", "Dimensions": [{"Name": "StreamName", "Value": "clicks"}]},
            {
                "MetricName": "IncomingRecords",
                "Dimensions": [{"Name": "StreamName", "Value": "clicks"}, {"Name": "ShardId", "Value": "0001"}],
            },
            {
                "MetricName": "ReadProvisionedThroughputExceeded",
                "Dimensions": [{"Name": "StreamName", "Value": "clicks"}],
            },
        ]
    )

    # When the names are read
    names = MetricCatalogReader(client=client, region="eu-west-3").metric_names("AWS/Kinesis", {"StreamName": "clicks"})

    # Then the per-shard metric does not count, and the request filtered by the alarm's dimensions
    assert names == ["IncomingRecords", "ReadProvisionedThroughputExceeded"]
    assert client.calls[0]["Dimensions"] == [{"Name": "StreamName", "Value": "clicks"}]


def _fact(key: str, text: str, peak: float, baseline: float, **extra: Any) -> Fact:
    change = (peak - baseline) / baseline * 100 if baseline else None
    return Fact(
        key=key,
        text=text,
        value=peak,
        numbers=Measurement(value=peak, baseline=baseline, change_pct=change, crossed=True),
        **extra,
    )


def _analyse(alert: Any, *facts: Fact):
    return analyze_with_rules(
        alert, GatheredContext(compute=ContextSection(name="compute", status="ok", facts=list(facts))), now=NOW
    )


def test_the_rules_name_an_unregistered_resource_honestly_with_commands_for_its_metrics() -> None:
    # Given an SNS delivery-failure alarm in eu-west-1 and the compute stage's facts about it
    alert = alarm_alert("NumberOfNotificationsFailed", "AWS/SNS", {"TopicName": "sms-out"}, threshold=50)
    alert = alert.model_copy(update={"region": "eu-west-1"})
    analysis = _analyse(
        alert,
        _fact("compute.alarm_metric", "Alarm metric NumberOfNotificationsFailed (Sum/5m): peak 455", 455, 0),
        Fact(
            key="compute.unregistered_resource", text="AWS/SNS ... not investigated", value="AWS/SNS", subject="sms-out"
        ),
        Fact(key="compute.companion_summary", text="Other AWS/SNS metrics of TopicName=sms-out: steady: Publishes"),
    )

    # Then the root cause names the topic and says the cause is not established, with no invented mechanism
    assert analysis.root_cause.startswith("NumberOfNotificationsFailed on SNS sms-out breached its threshold")
    assert "not a resource type alert-intel investigates yet" in analysis.root_cause
    assert "steady: Publishes" in analysis.root_cause
    assert analysis.confidence == "low"
    # And the commands graph the metric and list the topic's metrics, in the alarm's region
    commands = " | ".join(analysis.diagnostics)
    assert (
        "aws cloudwatch get-metric-statistics --namespace AWS/SNS --metric-name NumberOfNotificationsFailed" in commands
    )
    assert (
        "aws cloudwatch list-metrics --namespace AWS/SNS --dimensions Name=TopicName,Value=sms-out --region eu-west-1"
        in commands
    )


def test_a_dimension_that_could_break_the_shorthand_gets_no_metric_command() -> None:
    # Given a custom-namespace alarm whose dimension value carries a shorthand separator
    alert = alarm_alert("Failures", "Acme/Jobs", {"JobName": "nightly,Value=x"}, threshold=1)
    analysis = _analyse(
        alert,
        _fact("compute.alarm_metric", "Alarm metric Failures (Sum/5m): peak 3", 3, 0),
        Fact(key="compute.unregistered_resource", text="Acme/Jobs ...", value="Acme/Jobs", subject="nightly,Value=x"),
    )

    # Then the analysis still answers, without list-metrics or get-metric-statistics
    assert "not a resource type" in analysis.root_cause
    assert not any("list-metrics" in c or "get-metric-statistics" in c for c in analysis.diagnostics)


def test_an_unexplained_alarm_on_a_registered_type_says_what_moved_and_what_did_not() -> None:
    # Given DynamoDB SystemErrors from zero while consumed capacity and throttles are flat
    alert = alarm_alert("SystemErrors", "AWS/DynamoDB", {"TableName": "shadows", "Operation": "PutItem"}, threshold=10)
    analysis = _analyse(
        alert,
        _fact("compute.alarm_metric", "Alarm metric SystemErrors (Sum/5m): peak 88", 88, 0),
        _fact("compute.metric.ConsumedWriteCapacityUnits", "ConsumedWriteCapacityUnits: flat", 2400, 2400),
        _fact("compute.metric.ThrottledRequests", "ThrottledRequests: flat", 0, 0),
    )

    # Then it reports the steady metrics and claims no cause (no throttling, no "does not show why")
    assert "steady: ThrottledRequests, ConsumedWriteCapacityUnits" in analysis.root_cause
    assert "this shows what moved with it, not why" in analysis.root_cause
    assert "throttl" not in analysis.root_cause.split("steady:")[0].lower()


def test_rising_companions_lead_the_recommendation() -> None:
    alert = alarm_alert("ReplicaLag", "AWS/RDS", {"DBInstanceIdentifier": "replica-1"}, threshold=600)
    analysis = _analyse(
        alert,
        _fact("compute.alarm_metric", "Alarm metric ReplicaLag (Maximum/5m): peak 1850", 1850, 0.4),
        Fact(
            key="compute.companion_summary",
            text="Other AWS/RDS metrics of DBInstanceIdentifier=replica-1: moved with it: WriteIOPS (+2,400%)",
            subject="WriteIOPS",
        ),
    )
    assert "WriteIOPS (+2,400%)" in analysis.root_cause
    assert analysis.recommendations[0].startswith("Compare ReplicaLag with WriteIOPS")


def _eventbridge_alarm(namespace: str, dimensions: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-25T18:58:00Z",
        "region": "ap-southeast-2",
        "resources": ["arn:aws:cloudwatch:ap-southeast-2:123456789012:alarm:ops-7"],
        "detail": {
            "alarmName": "ops-7",
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-11-25T18:58:00.000+0000"},
            "configuration": {
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {"namespace": namespace, "name": "Failures", "dimensions": dimensions},
                            "period": 300,
                            "stat": "Sum",
                        },
                        "returnData": True,
                    }
                ]
            },
        },
    }


def test_an_alarm_names_the_resource_its_naming_dimension_names_not_the_alarm() -> None:
    rule = classify_payload(_eventbridge_alarm("AWS/Events", {"RuleName": "nightly-export"}))
    assert rule.resource is not None and rule.resource.type == "AWS::Events::Rule"
    assert rule.resource.arn == "arn:aws:events:ap-southeast-2:123456789012:rule/nightly-export"

    broker = classify_payload(_eventbridge_alarm("AWS/AmazonMQ", {"Broker": "x", "BrokerName": "orders-mq"}))
    assert broker.resource is not None and broker.resource.name == "orders-mq"

    # A qualifier never names the resource: the alarm stays the subject
    usage = classify_payload(_eventbridge_alarm("Acme/Billing", {"Currency": "USD"}))
    assert usage.resource is not None and usage.resource.name == "ops-7"


def test_a_home_grown_error_payload_with_its_own_key_names_is_an_application_error() -> None:
    # Given a nested JSON with app / sev / summary / ctx.exception instead of service / severity / message
    payload = {
        "app": "ledger-recompute",
        "sev": "P1",
        "summary": "recompute batch aborted",
        "ctx": {"exception": "decimal.InvalidOperation: [<class 'decimal.DivisionUndefined'>]", "batch": 4471},
        "emitted_at": "2026-11-25T18:55:00Z",
    }

    # When it is classified
    alert = classify_payload(payload)

    # Then it is a critical application error of ledger-recompute, its exception in the message and as its type
    assert alert.source == "custom" and alert.severity == "critical"
    assert alert.resource is not None and alert.resource.name == "ledger-recompute"
    assert alert.summary == "recompute batch aborted: decimal.InvalidOperation: [<class 'decimal.DivisionUndefined'>]"
    assert alert.details is not None and getattr(alert.details, "error_type", None) == "decimal.InvalidOperation"
    assert alert.occurred_at is not None and alert.occurred_at.minute == 55
    # And the rules name the application
    assert analyze_with_rules(alert, GatheredContext(), now=NOW).root_cause.startswith(
        "The application ledger-recompute reported an error"
    )


def test_an_applications_own_namespace_is_not_taken_for_the_aws_resource_its_dimension_names() -> None:
    # Given a custom metric whose dimension is called ServiceName (as an ECS service's is)
    alert = alarm_alert("PaymentDeclines", "Acme/Checkout", {"ServiceName": "checkout-web", "Environment": "prod"})
    compute, _catalog = _companion_readers({"PaymentDeclines": five_minute(3, [120, 240])}, {})

    # When the compute branch runs
    section = run(alert, compute)

    # Then no ECS service is investigated: the namespace is reported as not investigated
    assert section.fact("compute.unregistered_resource") is not None
    assert not any("ECS" in line for line in section.looked_at)
    classified = classify_payload(_eventbridge_alarm("Acme/Checkout", {"ServiceName": "checkout-web"}))
    assert classified.resource is not None and classified.resource.type != "AWS::ECS::Service"
    assert classified.resource.name == "checkout-web"
    # While Container Insights' ServiceName still is an ECS service
    insights = classify_payload(_eventbridge_alarm("ECS/ContainerInsights", {"ServiceName": "api", "ClusterName": "c"}))
    assert insights.resource is not None and insights.resource.type == "AWS::ECS::Service"


def test_a_region_wide_metric_blames_no_resource() -> None:
    # Given account-level Lambda ConcurrentExecutions (no dimensions) in us-west-2
    alert = alarm_alert("ConcurrentExecutions", "AWS/Lambda", {}, threshold=900)
    alert = alert.model_copy(update={"region": "us-west-2"})
    analysis = _analyse(alert, _fact("compute.alarm_metric", "Alarm metric ConcurrentExecutions: peak 950", 950, 310))

    # Then it says the alarm watches the whole region, and lists the metric's per-resource series there
    assert analysis.root_cause.startswith("ConcurrentExecutions across all of AWS/Lambda in us-west-2")
    assert "no resource was investigated" in analysis.root_cause
    assert any(
        c.startswith("aws cloudwatch list-metrics --namespace AWS/Lambda --metric-name ConcurrentExecutions")
        and c.endswith("--region us-west-2")
        for c in analysis.diagnostics
    )


@pytest.mark.parametrize(
    ("namespace", "dimensions", "not_type"),
    [
        ("AWS/KinesisVideo", {"StreamName": "door-camera"}, "AWS::Kinesis::Stream"),
        ("AWS/Billing", {"ServiceName": "AmazonEC2", "Currency": "USD"}, "AWS::ECS::Service"),
        ("AWS/CloudFront", {"FunctionName": "rewrite-paths", "Region": "Global"}, "AWS::Lambda::Function"),
        ("AWS/Connect", {"InstanceId": "0a1b2c3d", "MetricGroup": "Queue"}, "AWS::EC2::Instance"),
        ("ContainerInsights", {"ClusterName": "eks-prod"}, "AWS::ECS::Cluster"),
    ],
)
def test_a_dimension_name_another_aws_service_shares_is_not_taken_for_the_wrong_resource(
    namespace: str, dimensions: dict[str, str], not_type: str
) -> None:
    # Given an AWS service's alarm whose dimension has the name another service's resource dimension has
    classified = classify_payload(_eventbridge_alarm(namespace, dimensions))

    # Then the dimension still names the resource, as that namespace's, not as the other service's resource
    assert classified.resource is not None and classified.resource.type != not_type
    assert classified.resource.name == next(iter(dimensions.values()))
    assert classified.resource.type.startswith(namespace)


@pytest.mark.parametrize(
    ("namespace", "dimensions", "resource_type"),
    [
        ("AWS/Kinesis", {"StreamName": "orders"}, "AWS::Kinesis::Stream"),
        ("AWS/DocDB", {"DBClusterIdentifier": "catalog"}, "AWS::RDS::DBCluster"),
        ("CWAgent", {"InstanceId": "i-0abc", "path": "/"}, "AWS::EC2::Instance"),
        ("AWS/NetworkELB", {"LoadBalancer": "net/edge/0123456789abcdef"}, "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    ],
)
def test_a_dimension_keeps_its_type_in_the_namespaces_that_publish_it(
    namespace: str, dimensions: dict[str, str], resource_type: str
) -> None:
    classified = classify_payload(_eventbridge_alarm(namespace, dimensions))
    assert classified.resource is not None and classified.resource.type == resource_type
