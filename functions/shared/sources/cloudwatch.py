"""CloudWatch alarms in their three delivery shapes.

- SNS alarm message (JSON with AlarmName, NewStateValue, Trigger{MetricName, Namespace, Dimensions, ...} or
  Trigger{Metrics[...]} for metric-math and anomaly-detection alarms; composite alarms carry AlarmRule).
- EventBridge "CloudWatch Alarm State Change" / "CloudWatch Alarm Configuration Change" (detail.configuration).
- The alarm-invokes-Lambda action (source "aws.cloudwatch", alarmArn, alarmData{...}).

alert_type is "<Namespace>:<MetricName>" of the alarm's metric (the first metric a math expression reads),
"composite_alarm" for composite alarms, "cloudwatch_alarm" when no metric is named.
details["alarm_kind"] is one of "metric", "metric_math", "anomaly_detection", "composite".

Severity: ALARM is critical unless the alarm's name or description marks it as a warning or informational
("warn", "warning", "info", "informational", "notice" as a word, camelCase included); OK, INSUFFICIENT_DATA and
configuration changes are info.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from functions.shared.alert_details import AlarmMetricQuery, CloudWatchAlarmDetails
from functions.shared.models import Alert, ResourceRef, Severity
from functions.shared.sources.common import (
    arn_parts,
    as_dict,
    as_list,
    aws_published_namespace,
    dedup_key,
    number,
    text,
    timestamp,
    title,
    words,
)

_WARNING_WORDS = {"warn", "warning", "notice"}
_INFO_WORDS = {"info", "informational"}

# Dimension name -> (CloudFormation type, ARN template or None, the namespaces in which the dimension means that
# type). The first dimension found names the resource. The same dimension name means other things elsewhere:
# StreamName is a video stream in AWS/KinesisVideo, ServiceName an AWS service in AWS/Billing, FunctionName a
# CloudFront Function in AWS/CloudFront, InstanceId an Amazon Connect instance in AWS/Connect, ClusterName an EKS
# cluster in ContainerInsights; there the dimension still names the resource, untyped (see below).
_ELB = ("AWS/ApplicationELB", "AWS/NetworkELB", "AWS/GatewayELB")
_RDS_API = ("AWS/RDS", "AWS/DocDB", "AWS/Neptune")  # instances and clusters the RDS API describes
_ECS = ("AWS/ECS", "ECS/ContainerInsights")
_RESOURCE_DIMENSIONS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "FunctionName": ("AWS::Lambda::Function", "arn:aws:lambda:{region}:{account}:function:{name}", ("AWS/Lambda",)),
    "InstanceId": ("AWS::EC2::Instance", "arn:aws:ec2:{region}:{account}:instance/{name}", ("AWS/EC2", "CWAgent")),
    "DBInstanceIdentifier": ("AWS::RDS::DBInstance", "arn:aws:rds:{region}:{account}:db:{name}", _RDS_API),
    "DBClusterIdentifier": ("AWS::RDS::DBCluster", "arn:aws:rds:{region}:{account}:cluster:{name}", _RDS_API),
    "TableName": ("AWS::DynamoDB::Table", "arn:aws:dynamodb:{region}:{account}:table/{name}", ("AWS/DynamoDB",)),
    "QueueName": ("AWS::SQS::Queue", "arn:aws:sqs:{region}:{account}:{name}", ("AWS/SQS",)),
    "StateMachineArn": ("AWS::StepFunctions::StateMachine", None, ("AWS/States",)),
    "TopicName": ("AWS::SNS::Topic", "arn:aws:sns:{region}:{account}:{name}", ("AWS/SNS",)),
    "BucketName": ("AWS::S3::Bucket", "arn:aws:s3:::{name}", ("AWS/S3",)),
    "ApiName": ("AWS::ApiGateway::RestApi", None, ("AWS/ApiGateway",)),
    "ApiId": ("AWS::ApiGatewayV2::Api", None, ("AWS/ApiGateway",)),
    "TargetGroup": (  # the dimension is the ARN's tail: "targetgroup/web/0123456789abcdef"
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "arn:aws:elasticloadbalancing:{region}:{account}:{name}",
        _ELB,
    ),
    "LoadBalancer": (  # "app/web/0123456789abcdef" (ALB) or "net/…" (NLB)
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{name}",
        _ELB,
    ),
    "ServiceName": ("AWS::ECS::Service", None, _ECS),
    "ClusterName": ("AWS::ECS::Cluster", None, _ECS),
    "AutoScalingGroupName": ("AWS::AutoScaling::AutoScalingGroup", None, ("AWS/AutoScaling", "AWS/EC2", "CWAgent")),
    "CacheClusterId": (
        "AWS::ElastiCache::CacheCluster",
        "arn:aws:elasticache:{region}:{account}:cluster:{name}",
        ("AWS/ElastiCache",),
    ),
    "DistributionId": ("AWS::CloudFront::Distribution", None, ("AWS/CloudFront",)),
    "StreamName": ("AWS::Kinesis::Stream", "arn:aws:kinesis:{region}:{account}:stream/{name}", ("AWS/Kinesis",)),
    "RuleName": ("AWS::Events::Rule", "arn:aws:events:{region}:{account}:rule/{name}", ("AWS/Events",)),
    "ReplicationGroupId": (
        "AWS::ElastiCache::ReplicationGroup",
        "arn:aws:elasticache:{region}:{account}:replicationgroup:{name}",
        ("AWS/ElastiCache",),
    ),
    "DomainName": ("AWS::OpenSearchService::Domain", "arn:aws:es:{region}:{account}:domain/{name}", ("AWS/ES",)),
}
# A dimension of no type above still names the resource when its name says it is a name or an id (a broker, a
# file system, a domain, a custom namespace's "ServiceName"): the footer and the analysis then name that, not the
# alarm. Qualifiers such as Region, Operation, Currency or Stage never do.
_NAMING_DIMENSION = re.compile(r"(Name|Id|ID|Identifier|Arn)$")

# SNS alarm messages name the region by its display name.
_REGION_NAMES = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "EU (Ireland)": "eu-west-1",
    "Europe (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "Europe (London)": "eu-west-2",
    "EU (Paris)": "eu-west-3",
    "Europe (Paris)": "eu-west-3",
    "EU (Frankfurt)": "eu-central-1",
    "Europe (Frankfurt)": "eu-central-1",
    "EU (Stockholm)": "eu-north-1",
    "Europe (Stockholm)": "eu-north-1",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Canada (Central)": "ca-central-1",
    "South America (Sao Paulo)": "sa-east-1",
}


def parse_cloudwatch_alarm(payload: Any, subject: str | None) -> Alert | None:
    if not isinstance(payload, dict):
        return None
    if "AlarmName" in payload and ("NewStateValue" in payload or "Trigger" in payload):
        return _from_sns(payload)
    if payload.get("source") == "aws.cloudwatch" and isinstance(payload.get("alarmData"), dict):
        return _from_lambda_action(payload)
    detail_type = str(payload.get("detail-type", ""))
    if payload.get("source") == "aws.cloudwatch" and detail_type.startswith("CloudWatch Alarm"):
        return _from_eventbridge(payload)
    return None


def _from_sns(message: dict[str, Any]) -> Alert:
    trigger = as_dict(message.get("Trigger"))
    arn = text(message.get("AlarmArn"))
    arn_info = arn_parts(arn)
    region = arn_info.get("region") or _REGION_NAMES.get(text(message.get("Region")) or "")
    metrics = [_metric_from_sns_math(m) for m in as_list(trigger.get("Metrics")) if isinstance(m, dict)]
    if trigger.get("MetricName") or trigger.get("Namespace"):
        metrics.insert(
            0,
            {
                "id": "m1",
                "namespace": text(trigger.get("Namespace")),
                "metric_name": text(trigger.get("MetricName")),
                "dimensions": _dimension_pairs(trigger.get("Dimensions")),
                "stat": text(trigger.get("Statistic")) or text(trigger.get("ExtendedStatistic")),
                "period": number(trigger.get("Period")),
                "return_data": True,
            },
        )
    fields = _AlarmFields(
        name=text(message.get("AlarmName")) or "unnamed alarm",
        description=text(message.get("AlarmDescription")),
        arn=arn,
        account_id=text(message.get("AWSAccountId")) or arn_info.get("account"),
        region=region,
        state=(text(message.get("NewStateValue")) or "").upper(),
        previous_state=(text(message.get("OldStateValue")) or "").upper() or None,
        reason=text(message.get("NewStateReason")),
        changed_at=text(message.get("StateChangeTime")),
        metrics=metrics,
        threshold=number(trigger.get("Threshold")),
        comparison=text(trigger.get("ComparisonOperator")),
        evaluation_periods=number(trigger.get("EvaluationPeriods")),
        datapoints_to_alarm=number(trigger.get("DatapointsToAlarm")),
        threshold_metric_id=text(trigger.get("ThresholdMetricId")),
        alarm_rule=text(message.get("AlarmRule")),
        triggering_children=[text(as_dict(c).get("Arn")) for c in as_list(message.get("TriggeringChildren"))],
        configuration_updated_at=text(message.get("AlarmConfigurationUpdatedTimestamp")),
    )
    return _alert(fields)


def _from_eventbridge(event: dict[str, Any]) -> Alert:
    detail = as_dict(event.get("detail"))
    resources = [text(r) for r in as_list(event.get("resources"))]
    arn = next((r for r in resources if r and ":alarm:" in r), None)
    operation = text(detail.get("operation"))
    is_config_change = "Configuration Change" in str(event.get("detail-type", ""))
    fields = _fields_from_alarm_data(
        detail,
        arn=arn,
        account_id=text(event.get("account")),
        region=text(event.get("region")),
        fallback_time=text(event.get("time")),
    )
    if is_config_change:
        fields.configuration_change = operation or "update"
    return _alert(fields)


def _from_lambda_action(event: dict[str, Any]) -> Alert:
    return _alert(
        _fields_from_alarm_data(
            as_dict(event.get("alarmData")),
            arn=text(event.get("alarmArn")),
            account_id=text(event.get("accountId")),
            region=text(event.get("region")),
            fallback_time=text(event.get("time")),
        )
    )


@dataclass
class _AlarmFields:
    """What every alarm shape says, under one set of names."""

    name: str
    description: str | None
    arn: str | None
    account_id: str | None
    region: str | None
    state: str
    previous_state: str | None
    reason: str | None
    changed_at: str | None
    metrics: list[dict[str, Any]]
    threshold: float | None
    comparison: str | None
    evaluation_periods: float | None
    datapoints_to_alarm: float | None
    threshold_metric_id: str | None
    alarm_rule: str | None
    triggering_children: list[str | None]
    configuration_change: str | None = None
    # When the alarm's definition last changed (the SNS message's AlarmConfigurationUpdatedTimestamp).
    configuration_updated_at: str | None = None


def _fields_from_alarm_data(
    data: dict[str, Any],
    *,
    arn: str | None,
    account_id: str | None,
    region: str | None,
    fallback_time: str | None,
) -> _AlarmFields:
    state = as_dict(data.get("state"))
    previous = as_dict(data.get("previousState"))
    configuration = as_dict(data.get("configuration"))
    arn_info = arn_parts(arn)
    metrics = [_metric_from_eventbridge(m) for m in as_list(configuration.get("metrics")) if isinstance(m, dict)]
    reason_data = state.get("reasonData")
    children = []
    if isinstance(reason_data, str) and "triggeringAlarms" in reason_data:
        try:
            parsed = json.loads(reason_data)
        except ValueError:
            parsed = {}
        children = [text(as_dict(a).get("arn")) for a in as_list(as_dict(parsed).get("triggeringAlarms"))]
    return _AlarmFields(
        name=text(data.get("alarmName")) or (arn_info.get("resource", "").split(":")[-1] or "unnamed alarm"),
        description=text(configuration.get("description")),
        arn=arn,
        account_id=account_id or arn_info.get("account"),
        region=region or arn_info.get("region"),
        state=(text(state.get("value")) or "").upper(),
        previous_state=(text(previous.get("value")) or "").upper() or None,
        reason=text(state.get("reason")),
        changed_at=text(state.get("timestamp")) or fallback_time,
        metrics=metrics,
        threshold=number(configuration.get("threshold")),
        comparison=text(configuration.get("comparisonOperator")),
        evaluation_periods=number(configuration.get("evaluationPeriods")),
        datapoints_to_alarm=number(configuration.get("datapointsToAlarm")),
        threshold_metric_id=text(configuration.get("thresholdMetricId")),
        alarm_rule=text(configuration.get("alarmRule")),
        triggering_children=children,
    )


def _metric_from_sns_math(entry: dict[str, Any]) -> dict[str, Any]:
    stat = as_dict(entry.get("MetricStat"))
    metric = as_dict(stat.get("Metric"))
    return {
        "id": text(entry.get("Id")),
        "expression": text(entry.get("Expression")),
        "label": text(entry.get("Label")),
        "namespace": text(metric.get("Namespace")),
        "metric_name": text(metric.get("MetricName")),
        "dimensions": _dimension_pairs(metric.get("Dimensions")),
        "stat": text(stat.get("Stat")),
        "period": number(stat.get("Period")),
        "return_data": entry.get("ReturnData") is not False,
    }


def _metric_from_eventbridge(entry: dict[str, Any]) -> dict[str, Any]:
    stat = as_dict(entry.get("metricStat"))
    metric = as_dict(stat.get("metric"))
    return {
        "id": text(entry.get("id")),
        "expression": text(entry.get("expression")),
        "label": text(entry.get("label")),
        "namespace": text(metric.get("namespace")),
        "metric_name": text(metric.get("name")),
        "dimensions": _dimension_pairs(metric.get("dimensions")),
        "stat": text(stat.get("stat")),
        "period": number(stat.get("period")),
        "return_data": entry.get("returnData") is not False,
    }


def _dimension_pairs(raw: Any) -> dict[str, str]:
    """Dimensions as {name: value}, from SNS's [{"name","value"}] list or EventBridge's mapping."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items() if text(v) is not None}
    pairs: dict[str, str] = {}
    for item in as_list(raw):
        entry = as_dict(item)
        name = text(entry.get("name") or entry.get("Name"))
        value = text(entry.get("value") or entry.get("Value"))
        if name and value:
            pairs[name] = value
    return pairs


def _alarm_kind(fields: _AlarmFields) -> str:
    if fields.alarm_rule or fields.triggering_children:
        return "composite"
    expressions = [m.get("expression") or "" for m in fields.metrics]
    if fields.threshold_metric_id or any("ANOMALY_DETECTION_BAND" in e.upper() for e in expressions):
        return "anomaly_detection"
    if any(expressions):
        return "metric_math"
    return "metric"


def _severity(fields: _AlarmFields) -> Severity:
    if fields.configuration_change or fields.state != "ALARM":
        return "info"
    marks = words(fields.name) | words(fields.description)
    if marks & _INFO_WORDS:
        return "info"
    if marks & _WARNING_WORDS:
        return "warning"
    return "critical"


def _alert(fields: _AlarmFields) -> Alert:
    kind = _alarm_kind(fields)
    primary = next((m for m in fields.metrics if m.get("metric_name")), None)
    if kind == "composite":
        alert_type = "composite_alarm"
    elif primary and primary.get("namespace") and primary.get("metric_name"):
        alert_type = f"{primary['namespace']}:{primary['metric_name']}"
    else:
        alert_type = "cloudwatch_alarm"
    dimensions = dict(primary["dimensions"]) if primary else {}
    resource = _resource(fields, dimensions, str(primary.get("namespace") or "") if primary else "")
    state = fields.state or "UNKNOWN"
    changed_at = timestamp(fields.changed_at)

    if fields.configuration_change:
        headline = f"Alarm {fields.name} configuration {fields.configuration_change}"
    else:
        headline = f"{state}: {fields.name}"
        if primary and primary.get("metric_name") and kind != "composite":
            target = f" on {resource.name}" if resource and resource.type != "AWS::CloudWatch::Alarm" else ""
            headline += f" ({primary['metric_name']}{target})"
    summary = fields.reason or fields.description or headline

    details = CloudWatchAlarmDetails(
        alarm_name=fields.name,
        alarm_arn=fields.arn,
        alarm_description=fields.description,
        alarm_kind=kind,
        state=state,
        previous_state=fields.previous_state,
        state_reason=fields.reason,
        state_changed_at=changed_at.isoformat() if changed_at else fields.changed_at,
        namespace=primary.get("namespace") if primary else None,
        metric_name=primary.get("metric_name") if primary else None,
        dimensions=dimensions or None,
        statistic=primary.get("stat") if primary else None,
        period_seconds=primary.get("period") if primary else None,
        threshold=fields.threshold,
        comparison_operator=fields.comparison,
        evaluation_periods=fields.evaluation_periods,
        datapoints_to_alarm=fields.datapoints_to_alarm,
        threshold_metric_id=fields.threshold_metric_id,
        alarm_rule=fields.alarm_rule,
        triggering_alarms=[c for c in fields.triggering_children if c] or None,
        configuration_change=fields.configuration_change,
        configuration_updated_at=fields.configuration_updated_at,
        metrics=[AlarmMetricQuery.model_validate(m) for m in fields.metrics[:10]]
        if kind in {"metric_math", "anomaly_detection"}
        else None,
    )
    identity = fields.arn or f"{fields.account_id}:{fields.region}:{fields.name}"
    return Alert(
        source="cloudwatch_alarm",
        alert_type=alert_type,
        severity=_severity(fields),
        title=title(headline),
        summary=summary,
        account_id=fields.account_id,
        region=fields.region,
        occurred_at=changed_at,
        resource=resource,
        details=details,
        # One alarm transition = alarm + new state + when it changed; a redelivery repeats all three.
        dedup_key=dedup_key("alarm", fields.name, identity, state, fields.changed_at, fields.configuration_change),
    )


def _resource(fields: _AlarmFields, dimensions: dict[str, str], namespace: str = "") -> ResourceRef:
    # No namespace (an alarm without one metric to name it): any dimension of the table types the resource.
    known = _RESOURCE_DIMENSIONS if not namespace or aws_published_namespace(namespace) else {}
    for dimension, (resource_type, arn_template, namespaces) in known.items():
        value = dimensions.get(dimension)
        if not value or (namespace and namespace not in namespaces):
            continue
        arn = value if value.startswith("arn:") else None
        if arn is None and arn_template and fields.account_id and fields.region:
            arn = arn_template.format(region=fields.region, account=fields.account_id, name=value)
        name = value.split(":")[-1] if value.startswith("arn:") else value
        return ResourceRef(type=resource_type, name=name, arn=arn, region=fields.region)
    for dimension, value in dimensions.items():
        if value and _NAMING_DIMENSION.search(dimension):
            name = value.split(":")[-1] if value.startswith("arn:") else value
            return ResourceRef(type=f"{namespace} {dimension}".strip(), name=name, region=fields.region)
    return ResourceRef(type="AWS::CloudWatch::Alarm", name=fields.name, arn=fields.arn, region=fields.region)
