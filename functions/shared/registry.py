"""The registry: every alert source and every resource type, with all of its parts, in one place.

An alert source is one `SourceSpec` in `SOURCES` (in parse order: the first parser that recognises a payload wins;
`UNKNOWN` catches the rest), a resource type one `ResourceTypeSpec` in `RESOURCE_TYPES`. What lives in `shared`
(parsers, details models, labels, console links, CloudWatch dimensions and metrics) is registered as the object
itself. What lives in a stage is registered by name, because `shared` imports no stage
(`docs/decisions/0010-layers.md`): each stage keeps its implementations in a table keyed by those names
(`gather_cost.logic.INVESTIGATORS`, `gather_compute.logic.INVESTIGATORS` and `RESOURCE_INVESTIGATORS`,
`gather_logs.logic.INVESTIGATORS`, `analyze.rules.RULES`, `NEXT_STEPS`, `DIAGNOSTICS` and `RESOURCE_DIAGNOSTICS`).
`tests/architecture/test_registry_complete.py` walks this module and fails when a source or type lacks a part or
names a part no stage implements. How to add one: `CONTRIBUTING.md`; why it is built so:
`docs/decisions/0012-registry.md`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from functions.shared import console_links
from functions.shared.alert_details import (
    BudgetDetails,
    CloudWatchAlarmDetails,
    CostAnomalyDetails,
    CustomErrorDetails,
    GuardDutyDetails,
    HealthDetails,
    SecurityHubDetails,
    SourceDetails,
    UnknownDetails,
)
from functions.shared.models import Alert, AlertSource, ResourceRef, SectionName
from functions.shared.sources.budget import parse_budget
from functions.shared.sources.cloudwatch import parse_cloudwatch_alarm
from functions.shared.sources.cost_anomaly import parse_cost_anomaly
from functions.shared.sources.custom import parse_custom
from functions.shared.sources.health import parse_health
from functions.shared.sources.security import parse_guardduty, parse_security_hub
from functions.shared.sources.unknown import parse_unknown

Parser = Callable[[Any, str | None], Alert | None]
AlertLink = Callable[[Alert], tuple[str, str] | None]
ResourceKind = Literal[
    "lambda",
    "ec2",
    "asg",
    "rds_instance",
    "rds_cluster",
    "target_group",
    "alb",
    "nlb",
    "apigateway",
    "apigateway_http",
    "sqs",
    "kinesis_stream",
    "elasticache_cluster",
    "elasticache_replication_group",
    "opensearch_domain",
    "dynamodb",
    "ecs_service",
    "ecs_cluster",
    "state_machine",
    "nat_gateway",
    "log_group",
    "s3_bucket",
    "budget",
]

# The gather stages, by the context section each one writes: every source names one investigator per section.
SECTIONS: tuple[SectionName, ...] = ("cost", "compute", "logs")


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    """One alert source. Every field is required: a new source that forgets a part does not construct."""

    source: AlertSource
    label: str  # what Slack calls it: the Source field (Format) and the minimal message (Recover)
    parser: Parser  # recognises the source's payload shape (None for another shape); in `functions.shared.sources`
    details: type[SourceDetails]  # the model of `Alert.details` (`functions.shared.alert_details`)
    console_link: AlertLink  # (button label, url) of the page where the alert lives, or None
    # Per context section, the name of the investigator its gather stage runs ("skip": the section is skipped).
    investigators: Mapping[SectionName, str]
    rules: str  # analyze.rules.RULES: the detectors tried in order, first finding wins
    next_steps: str  # analyze.rules.NEXT_STEPS: the finding (root cause and next steps) when no detector matched
    diagnostics: str  # analyze.rules.DIAGNOSTICS: the read-only commands every alert of the source gets


@dataclass(frozen=True, kw_only=True)
class ResourceTypeSpec:
    """One resource type an alert can implicate. Every field is required; None says the type has no such part."""

    kind: ResourceKind
    label: str  # its console button ("Lambda function")
    cfn_type: str  # e.g. "AWS::Lambda::Function", as `ResourceRef.type` holds it
    arn_pattern: str | None  # a regex an ARN of this type matches (searched), when the type is told by its ARN
    namespace: str | None  # its CloudWatch namespace, when its metrics are read
    dimensions: tuple[str, ...]  # the CloudWatch dimensions that name one resource of this type, most specific first
    # Dimensions that complete the name (an ECS service is named within its ClusterName, a target group's metrics
    # within its LoadBalancer): carried with the resource so its related metrics can be read. Empty for most types.
    qualifiers: tuple[str, ...]
    related_metrics: tuple[tuple[str, str], ...]  # (metric, statistic) an expert graphs next to the alarm, first first
    console_link: Callable[[ResourceRef, str], str] | None  # its console page, from the resource and a region
    log_group: Callable[[str], str] | None  # its log group, from its name
    investigator: str  # gather_compute.logic.RESOURCE_INVESTIGATORS: configuration and state ("metrics_only")
    diagnostics: str  # analyze.rules.RESOURCE_DIAGNOSTICS: its read-only commands ("none")

    def recognises(self, resource: ResourceRef) -> bool:
        """Whether `resource` is of this type: by its ARN when both have one (an ALB and an NLB share a
        CloudFormation type, not an ARN shape), else by its CloudFormation type."""
        if self.arn_pattern is not None and resource.arn:
            return re.search(self.arn_pattern, resource.arn) is not None
        return self.cfn_type.lower().removeprefix("aws::") in resource.type.lower()


def _lambda_log_group(name: str) -> str:
    return f"/aws/lambda/{name}"


def _resource_link_of_alert(alert: Alert) -> tuple[str, str] | None:
    """An alert with no page of its own (an application error) links the page of its resource."""
    region = console_links.valid_region(alert.region, alert.resource.region if alert.resource else None)
    return resource_console_link(alert.resource, region)


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        source="cloudwatch_alarm",
        label="CloudWatch alarm",
        parser=parse_cloudwatch_alarm,
        details=CloudWatchAlarmDetails,
        console_link=console_links.alarm_alert_link,
        investigators={"cost": "billing_alarm", "compute": "alarm", "logs": "implicated"},
        rules="alarm",
        next_steps="alarm",
        diagnostics="alarm",
    ),
    SourceSpec(
        source="cost_anomaly",
        label="Cost Anomaly Detection",
        parser=parse_cost_anomaly,
        details=CostAnomalyDetails,
        console_link=console_links.cost_anomaly_alert_link,
        investigators={"cost": "cost", "compute": "cost_drill", "logs": "cost_mover"},
        rules="cost",
        next_steps="cost",
        diagnostics="cost",
    ),
    SourceSpec(
        source="health",
        label="AWS Health",
        parser=parse_health,
        details=HealthDetails,
        console_link=console_links.health_alert_link,
        investigators={"cost": "skip", "compute": "health", "logs": "skip"},
        rules="none",
        next_steps="health",
        diagnostics="none",
    ),
    SourceSpec(
        source="security_hub",
        label="Security Hub",
        parser=parse_security_hub,
        details=SecurityHubDetails,
        console_link=console_links.security_hub_alert_link,
        investigators={"cost": "skip", "compute": "finding", "logs": "skip"},
        rules="none",
        next_steps="security",
        diagnostics="none",
    ),
    SourceSpec(
        source="guardduty",
        label="GuardDuty",
        parser=parse_guardduty,
        details=GuardDutyDetails,
        console_link=console_links.guardduty_alert_link,
        investigators={"cost": "skip", "compute": "finding", "logs": "skip"},
        rules="none",
        next_steps="security",
        diagnostics="none",
    ),
    SourceSpec(
        source="budget",
        label="AWS Budgets",
        parser=parse_budget,
        details=BudgetDetails,
        console_link=console_links.budget_alert_link,
        investigators={"cost": "cost", "compute": "cost_drill", "logs": "cost_mover"},
        rules="cost",
        next_steps="cost",
        diagnostics="cost",
    ),
    SourceSpec(
        source="custom",
        label="Application",
        parser=parse_custom,
        details=CustomErrorDetails,
        console_link=_resource_link_of_alert,
        investigators={"cost": "skip", "compute": "application", "logs": "application"},
        rules="none",
        next_steps="custom",
        diagnostics="none",
    ),
)

# Whatever no parser recognised: kept raw, never dropped. Its parser always returns an alert, so it comes last.
UNKNOWN = SourceSpec(
    source="unknown",
    label="Unrecognised alert",
    parser=parse_unknown,
    details=UnknownDetails,
    console_link=console_links.no_alert_link,
    investigators={"cost": "skip", "compute": "skip", "logs": "skip"},
    rules="none",
    next_steps="unclassified",
    diagnostics="none",
)

ALL_SOURCES: tuple[SourceSpec, ...] = (*SOURCES, UNKNOWN)
_BY_SOURCE: dict[str, SourceSpec] = {spec.source: spec for spec in ALL_SOURCES}

RESOURCE_TYPES: tuple[ResourceTypeSpec, ...] = (
    ResourceTypeSpec(
        kind="lambda",
        label="Lambda function",
        cfn_type="AWS::Lambda::Function",
        arn_pattern=r"^arn:aws:lambda:",
        namespace="AWS/Lambda",
        dimensions=("FunctionName",),
        qualifiers=(),
        related_metrics=(
            ("Invocations", "Sum"),
            ("Errors", "Sum"),
            ("Throttles", "Sum"),
            ("Duration", "p99"),
            ("ConcurrentExecutions", "Maximum"),
        ),
        console_link=console_links.lambda_function_page,
        log_group=_lambda_log_group,
        investigator="lambda_function",
        diagnostics="lambda_function",
    ),
    ResourceTypeSpec(
        kind="ec2",
        label="EC2 instance",
        cfn_type="AWS::EC2::Instance",
        arn_pattern=r":instance/",
        namespace="AWS/EC2",
        dimensions=("InstanceId",),
        qualifiers=(),
        related_metrics=(
            ("CPUUtilization", "Average"),
            ("StatusCheckFailed_System", "Maximum"),
            ("StatusCheckFailed_Instance", "Maximum"),
            ("NetworkIn", "Sum"),
            ("NetworkOut", "Sum"),
        ),
        console_link=console_links.ec2_instance_page,
        log_group=None,
        investigator="ec2_instance",
        diagnostics="ec2_instance",
    ),
    ResourceTypeSpec(
        kind="asg",
        label="Auto Scaling group",
        cfn_type="AWS::AutoScaling::AutoScalingGroup",
        arn_pattern=r":autoScalingGroup:",
        # EC2 publishes per-group metrics (CPUUtilization by AutoScalingGroupName) in AWS/EC2 as well.
        namespace="AWS/AutoScaling",
        dimensions=("AutoScalingGroupName",),
        qualifiers=(),
        related_metrics=(
            ("GroupInServiceInstances", "Minimum"),
            ("GroupDesiredCapacity", "Maximum"),
            ("GroupPendingInstances", "Maximum"),
        ),
        console_link=console_links.auto_scaling_group_page,
        log_group=None,
        investigator="auto_scaling_group",
        diagnostics="auto_scaling_group",
    ),
    ResourceTypeSpec(
        kind="rds_instance",
        label="RDS instance",
        cfn_type="AWS::RDS::DBInstance",
        arn_pattern=r"^arn:aws:rds:[^:]*:[^:]*:db:",
        namespace="AWS/RDS",
        dimensions=("DBInstanceIdentifier",),
        qualifiers=(),
        related_metrics=(
            ("CPUUtilization", "Average"),
            ("DatabaseConnections", "Maximum"),
            ("FreeableMemory", "Minimum"),
            ("FreeStorageSpace", "Minimum"),
            ("ReadLatency", "Average"),
            ("WriteLatency", "Average"),
        ),
        console_link=console_links.rds_instance_page,
        log_group=None,
        investigator="rds_instance",
        diagnostics="rds_instance",
    ),
    ResourceTypeSpec(
        kind="rds_cluster",
        label="Aurora cluster",
        cfn_type="AWS::RDS::DBCluster",
        arn_pattern=r"^arn:aws:rds:[^:]*:[^:]*:cluster:",
        namespace="AWS/RDS",
        dimensions=("DBClusterIdentifier",),
        qualifiers=(),
        related_metrics=(
            ("CPUUtilization", "Average"),
            ("DatabaseConnections", "Maximum"),
            ("AuroraReplicaLagMaximum", "Maximum"),
            ("Deadlocks", "Sum"),
            ("FreeableMemory", "Minimum"),
        ),
        console_link=console_links.rds_cluster_page,
        log_group=None,
        investigator="rds_cluster",
        diagnostics="rds_cluster",
    ),
    ResourceTypeSpec(
        kind="target_group",
        label="Target group",
        cfn_type="AWS::ElasticLoadBalancingV2::TargetGroup",
        arn_pattern=r":targetgroup/",
        namespace="AWS/ApplicationELB",
        dimensions=("TargetGroup",),
        qualifiers=("LoadBalancer",),
        related_metrics=(
            ("UnHealthyHostCount", "Maximum"),
            ("HealthyHostCount", "Minimum"),
            ("HTTPCode_Target_5XX_Count", "Sum"),
            ("TargetResponseTime", "p99"),
            ("RequestCount", "Sum"),
        ),
        console_link=console_links.elb_resource_page,
        log_group=None,
        investigator="target_group",
        diagnostics="target_group",
    ),
    ResourceTypeSpec(
        kind="alb",
        label="Application Load Balancer",
        cfn_type="AWS::ElasticLoadBalancingV2::LoadBalancer",
        arn_pattern=r":loadbalancer/app/",
        namespace="AWS/ApplicationELB",
        dimensions=("LoadBalancer",),
        qualifiers=(),
        related_metrics=(
            ("HTTPCode_ELB_5XX_Count", "Sum"),
            ("HTTPCode_Target_5XX_Count", "Sum"),
            ("TargetResponseTime", "p99"),
            ("RequestCount", "Sum"),
            ("RejectedConnectionCount", "Sum"),
        ),
        console_link=console_links.elb_resource_page,
        log_group=None,
        investigator="load_balancer",
        diagnostics="alb",
    ),
    ResourceTypeSpec(
        kind="nlb",
        label="Network Load Balancer",
        cfn_type="AWS::ElasticLoadBalancingV2::LoadBalancer",
        arn_pattern=r":loadbalancer/net/",
        namespace="AWS/NetworkELB",
        dimensions=("LoadBalancer",),
        qualifiers=(),
        related_metrics=(
            ("UnHealthyHostCount", "Maximum"),
            ("HealthyHostCount", "Minimum"),
            ("TCP_Target_Reset_Count", "Sum"),
            ("ActiveFlowCount", "Maximum"),
            ("ProcessedBytes", "Sum"),
        ),
        console_link=console_links.elb_resource_page,
        log_group=None,
        investigator="load_balancer",
        diagnostics="nlb",
    ),
    ResourceTypeSpec(
        kind="apigateway",
        label="API Gateway REST API",
        cfn_type="AWS::ApiGateway::RestApi",
        arn_pattern=r"^arn:aws:apigateway:[^:]*::/restapis/",
        namespace="AWS/ApiGateway",
        dimensions=("ApiName",),
        qualifiers=("Stage",),
        related_metrics=(
            ("Count", "Sum"),
            ("5XXError", "Sum"),
            ("4XXError", "Sum"),
            ("Latency", "p99"),
            ("IntegrationLatency", "p99"),
        ),
        console_link=None,
        log_group=None,
        investigator="rest_api",
        diagnostics="rest_api",
    ),
    ResourceTypeSpec(
        kind="apigateway_http",
        label="API Gateway HTTP API",
        cfn_type="AWS::ApiGatewayV2::Api",
        arn_pattern=r"^arn:aws:apigateway:[^:]*::/apis/",
        namespace="AWS/ApiGateway",
        dimensions=("ApiId",),
        qualifiers=("Stage",),
        related_metrics=(
            ("Count", "Sum"),
            ("5xx", "Sum"),
            ("4xx", "Sum"),
            ("Latency", "p99"),
            ("IntegrationLatency", "p99"),
        ),
        console_link=console_links.http_api_page,
        log_group=None,
        investigator="http_api",
        diagnostics="http_api",
    ),
    ResourceTypeSpec(
        kind="sqs",
        label="SQS queue",
        cfn_type="AWS::SQS::Queue",
        arn_pattern=r"^arn:aws:sqs:",
        namespace="AWS/SQS",
        dimensions=("QueueName",),
        qualifiers=(),
        related_metrics=(
            ("ApproximateNumberOfMessagesVisible", "Maximum"),
            ("ApproximateAgeOfOldestMessage", "Maximum"),
            ("NumberOfMessagesSent", "Sum"),
            ("NumberOfMessagesDeleted", "Sum"),
        ),
        console_link=None,
        log_group=None,
        investigator="sqs_queue",
        diagnostics="sqs_queue",
    ),
    ResourceTypeSpec(
        kind="kinesis_stream",
        label="Kinesis data stream",
        cfn_type="AWS::Kinesis::Stream",
        arn_pattern=r"^arn:aws[a-z-]*:kinesis:[^:]*:[^:]*:stream/",
        namespace="AWS/Kinesis",
        dimensions=("StreamName",),
        qualifiers=(),
        related_metrics=(
            ("GetRecords.IteratorAgeMilliseconds", "Maximum"),
            ("IncomingRecords", "Sum"),
            ("WriteProvisionedThroughputExceeded", "Sum"),
            ("ReadProvisionedThroughputExceeded", "Sum"),
            ("GetRecords.Records", "Sum"),
        ),
        console_link=console_links.kinesis_stream_page,
        log_group=None,
        investigator="kinesis_stream",
        diagnostics="kinesis_stream",
    ),
    ResourceTypeSpec(
        kind="elasticache_cluster",
        label="ElastiCache cluster",
        cfn_type="AWS::ElastiCache::CacheCluster",
        arn_pattern=r"^arn:aws[a-z-]*:elasticache:[^:]*:[^:]*:cluster:",
        namespace="AWS/ElastiCache",
        dimensions=("CacheClusterId",),
        # A Memcached cluster's nodes (and a Redis OSS / Valkey node's own series) are CacheClusterId + CacheNodeId.
        qualifiers=("CacheNodeId",),
        related_metrics=(
            ("DatabaseMemoryUsagePercentage", "Maximum"),
            ("Evictions", "Sum"),
            ("EngineCPUUtilization", "Average"),
            ("CurrConnections", "Maximum"),
            ("ReplicationLag", "Maximum"),
        ),
        console_link=console_links.elasticache_page,
        log_group=None,
        investigator="elasticache",
        diagnostics="elasticache_cluster",
    ),
    ResourceTypeSpec(
        kind="elasticache_replication_group",
        label="ElastiCache replication group",
        cfn_type="AWS::ElastiCache::ReplicationGroup",
        arn_pattern=r"^arn:aws[a-z-]*:elasticache:[^:]*:[^:]*:replicationgroup:",
        namespace="AWS/ElastiCache",
        dimensions=("ReplicationGroupId",),
        qualifiers=(),
        related_metrics=(
            ("DatabaseMemoryUsagePercentage", "Maximum"),
            ("Evictions", "Sum"),
            ("EngineCPUUtilization", "Average"),
            ("CurrConnections", "Maximum"),
        ),
        console_link=console_links.elasticache_page,
        log_group=None,
        investigator="elasticache",
        diagnostics="elasticache_replication_group",
    ),
    ResourceTypeSpec(
        kind="opensearch_domain",
        label="OpenSearch domain",
        cfn_type="AWS::OpenSearchService::Domain",
        arn_pattern=r"^arn:aws[a-z-]*:es:[^:]*:[^:]*:domain/",
        namespace="AWS/ES",
        dimensions=("DomainName",),
        qualifiers=("ClientId",),  # the account: every AWS/ES metric carries it
        related_metrics=(
            ("ClusterStatus.red", "Maximum"),
            ("FreeStorageSpace", "Minimum"),
            ("JVMMemoryPressure", "Maximum"),
            ("CPUUtilization", "Maximum"),
            ("SearchRate", "Average"),
            ("IndexingRate", "Average"),
        ),
        console_link=console_links.opensearch_domain_page,
        log_group=None,
        investigator="opensearch_domain",
        diagnostics="opensearch_domain",
    ),
    ResourceTypeSpec(
        kind="dynamodb",
        label="DynamoDB table",
        cfn_type="AWS::DynamoDB::Table",
        arn_pattern=r"^arn:aws:dynamodb:[^:]*:[^:]*:table/",
        namespace="AWS/DynamoDB",
        dimensions=("TableName",),
        qualifiers=(),
        related_metrics=(
            ("ThrottledRequests", "Sum"),
            ("ConsumedReadCapacityUnits", "Sum"),
            ("ConsumedWriteCapacityUnits", "Sum"),
            ("SystemErrors", "Sum"),
        ),
        console_link=None,
        log_group=None,
        investigator="dynamodb_table",
        diagnostics="dynamodb_table",
    ),
    ResourceTypeSpec(
        kind="ecs_service",
        label="ECS service",
        cfn_type="AWS::ECS::Service",
        arn_pattern=r"^arn:aws:ecs:[^:]*:[^:]*:service/",
        namespace="AWS/ECS",
        dimensions=("ServiceName",),
        qualifiers=("ClusterName",),
        related_metrics=(("CPUUtilization", "Average"), ("MemoryUtilization", "Maximum")),
        console_link=None,
        log_group=None,
        investigator="ecs_service",
        diagnostics="ecs_service",
    ),
    ResourceTypeSpec(
        kind="ecs_cluster",
        label="ECS cluster",
        cfn_type="AWS::ECS::Cluster",
        arn_pattern=r"^arn:aws:ecs:[^:]*:[^:]*:cluster/",
        namespace="AWS/ECS",
        dimensions=("ClusterName",),
        qualifiers=(),
        related_metrics=(
            ("CPUReservation", "Maximum"),
            ("MemoryReservation", "Maximum"),
            ("CPUUtilization", "Average"),
            ("MemoryUtilization", "Average"),
        ),
        console_link=None,
        log_group=None,
        investigator="ecs_cluster",
        diagnostics="ecs_cluster",
    ),
    ResourceTypeSpec(
        kind="state_machine",
        label="Step Functions state machine",
        cfn_type="AWS::StepFunctions::StateMachine",
        arn_pattern=r"^arn:aws:states:[^:]*:[^:]*:stateMachine:",
        namespace="AWS/States",
        dimensions=("StateMachineArn",),
        qualifiers=(),
        related_metrics=(
            ("ExecutionsFailed", "Sum"),
            ("ExecutionsTimedOut", "Sum"),
            ("ExecutionsStarted", "Sum"),
            ("ExecutionThrottled", "Sum"),
            ("ExecutionTime", "Maximum"),
        ),
        console_link=console_links.state_machine_page,
        log_group=None,
        investigator="state_machine",
        diagnostics="state_machine",
    ),
    ResourceTypeSpec(
        kind="nat_gateway",
        label="NAT gateway",
        cfn_type="AWS::EC2::NatGateway",
        arn_pattern=r":natgateway/",
        namespace="AWS/NATGateway",
        dimensions=("NatGatewayId",),
        qualifiers=(),
        related_metrics=(
            ("BytesOutToDestination", "Sum"),
            ("BytesInFromDestination", "Sum"),
            ("ErrorPortAllocation", "Sum"),
            ("PacketsDropCount", "Sum"),
            ("ActiveConnectionCount", "Maximum"),
        ),
        console_link=console_links.nat_gateway_page,
        log_group=None,
        investigator="nat_gateway",
        diagnostics="nat_gateway",
    ),
    ResourceTypeSpec(
        kind="log_group",
        label="Log group",
        cfn_type="AWS::Logs::LogGroup",
        arn_pattern=r"^arn:aws:logs:[^:]*:[^:]*:log-group:",
        namespace="AWS/Logs",
        dimensions=("LogGroupName",),
        qualifiers=(),
        related_metrics=(("IncomingBytes", "Sum"), ("IncomingLogEvents", "Sum")),
        console_link=console_links.log_group_page,
        log_group=None,
        investigator="log_group",
        diagnostics="log_group",
    ),
    ResourceTypeSpec(
        kind="s3_bucket",
        label="S3 bucket",
        cfn_type="AWS::S3::Bucket",
        arn_pattern=r"^arn:aws:s3:::",
        namespace="AWS/S3",
        dimensions=("BucketName",),
        # Request metrics exist only per request-metrics filter (FilterId); storage metrics per StorageType.
        qualifiers=("FilterId",),
        related_metrics=(
            ("AllRequests", "Sum"),
            ("GetRequests", "Sum"),
            ("BytesDownloaded", "Sum"),
            ("4xxErrors", "Sum"),
            ("5xxErrors", "Sum"),
        ),
        console_link=None,
        log_group=None,
        investigator="metrics_only",
        diagnostics="none",
    ),
    ResourceTypeSpec(
        kind="budget",
        label="Budget",
        cfn_type="AWS::Budgets::Budget",
        arn_pattern=None,
        namespace=None,
        dimensions=(),
        qualifiers=(),
        related_metrics=(),
        console_link=None,  # a budget's page is its alert's own link (`console_links.budget_alert_link`)
        log_group=None,
        investigator="metrics_only",
        diagnostics="none",
    ),
)
_BY_KIND: dict[str, ResourceTypeSpec] = {spec.kind: spec for spec in RESOURCE_TYPES}


def source_spec(source: str) -> SourceSpec:
    """The registered spec of `source`; the unknown source's for a name nobody registered."""
    return _BY_SOURCE.get(source, UNKNOWN)


def source_label(source: str) -> str:
    """What Slack calls `source` ("CloudWatch alarm"); the name itself for one nobody registered."""
    spec = _BY_SOURCE.get(source)
    return spec.label if spec else source


def resource_type(kind: str) -> ResourceTypeSpec:
    """The registered resource type `kind` (KeyError for one nobody registered)."""
    return _BY_KIND[kind]


def alert_console_link(alert: Alert) -> tuple[str, str] | None:
    """(button label, url) of the console page where the alert itself lives, as its source registers it."""
    return source_spec(alert.source).console_link(alert)


def resource_console_link(resource: ResourceRef | None, region: str | None = None) -> tuple[str, str] | None:
    """(label, url) of the console page of `resource`, by the first registered type that recognises it and has one."""
    if resource is None or not (resource.name or resource.arn):
        return None
    page_region = console_links.valid_region(resource.region, console_links.region_from_arn(resource.arn), region)
    for spec in RESOURCE_TYPES:
        if spec.console_link is not None and spec.recognises(resource):
            return spec.label, spec.console_link(resource, page_region)
    return None
