"""Deep links into the AWS console, built from facts we already hold.

Every function returns a complete `https://` URL and never calls AWS. Names and IDs are URL-encoded, so a link
built from alert-supplied text can only ever point at a console page, never somewhere else. `is_console_url`
tells the Slack formatter which links it may render as clickable.

The consoles' URL fragments are not a documented API; each function names the page it opens so a broken link is
easy to trace and fix in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from functions.shared.models import Alert, ResourceRef

DEFAULT_REGION = "us-east-1"
# Billing, Budgets, Cost Explorer and Cost Anomaly Detection are global services served from us-east-1.
_BILLING_REGION = "us-east-1"
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_HOST = re.compile(r"[a-z0-9.-]+")
# The consoles this module links to: the (regional) AWS Management Console in each partition, and the Health
# Dashboard. Other AWS hosts (signin, docs, ...) are not consoles: a link to them from alert text could carry an
# attacker's redirect or a phishing label, so they are never clickable.
_CONSOLE_DOMAINS = ("console.aws.amazon.com", "console.amazonaws.cn", "console.amazonaws-us-gov.com")
_CONSOLE_HOSTS = ("health.aws.amazon.com",)
# A resource name that held an invisible control carries it as a visible escape (`\u202e`, see
# functions.shared.untrusted_text): no AWS name contains a backslash, so no link is built from such a name.
_ESCAPED_BACKSLASH = re.compile(r"\\|%5c", re.IGNORECASE)


def _q(value: str) -> str:
    """Encode one URL component completely (slashes, colons and `#` included)."""
    return quote(value, safe="")


def valid_region(*candidates: str | None) -> str:
    """The first candidate that looks like an AWS region name (e.g. `eu-west-1`), else `DEFAULT_REGION`.

    Regions often come from alert payloads; this keeps arbitrary text out of the console host and query string.
    """
    return next((c for c in candidates if c and _REGION.fullmatch(c)), DEFAULT_REGION)


def console_host(region: str | None = None) -> str:
    """The regional console origin, e.g. `https://eu-west-1.console.aws.amazon.com` (China and GovCloud too)."""
    region = valid_region(region)
    if region.startswith("cn-"):
        return f"https://{region}.console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return f"https://{region}.console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def is_console_url(url: str | None) -> bool:
    """True when `url` is an https link to an AWS console page: the only links the Slack message makes clickable.

    Console hosts only (not signin, docs or any other AWS host), no credentials or port, and no backslash in the
    URL (see `_ESCAPED_BACKSLASH`)."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not _HOST.fullmatch(host) or parts.username or parts.password or parts.port:
        return False
    if _ESCAPED_BACKSLASH.search(url):
        return False
    return host in _CONSOLE_HOSTS or any(host == d or host.endswith("." + d) for d in _CONSOLE_DOMAINS)


def region_from_arn(arn: str | None) -> str | None:
    """The region field of an ARN (`arn:partition:service:region:account:resource`), or None when it has none."""
    if not arn or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    region = parts[3] if len(parts) > 3 else ""
    return region if _REGION.fullmatch(region) else None


def jsurl(value: Any) -> str:
    """Encode `value` in the JSURL notation the CloudWatch console uses in its URL fragments.

    Objects are `~(key~value...)`, arrays `~(~a~b)`, strings `~'text` with every character outside `[A-Za-z0-9_.-]`
    written as `*hh` (or `**hhhh`), `$` as `!`; numbers, booleans and null as literals.
    """
    if value is None:
        return "~null"
    if isinstance(value, bool):
        return "~true" if value else "~false"
    if isinstance(value, int | float):
        return f"~{value}"
    if isinstance(value, str):
        return "~'" + _jsurl_text(value)
    if isinstance(value, Mapping):
        return "~(" + "~".join(_jsurl_text(str(k)) + jsurl(v) for k, v in value.items()) + ")"
    if isinstance(value, Sequence):
        return "~(" + "".join(jsurl(v) for v in value) + ")"
    return "~'" + _jsurl_text(str(value))


def _jsurl_text(text: str) -> str:
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "_.-"):
            out.append(ch)
        elif ch == "$":
            out.append("!")
        elif ord(ch) < 0x100:
            out.append(f"*{ord(ch):02x}")
        else:
            out.append(f"**{ord(ch) & 0xFFFF:04x}")
    return "".join(out)


# --- Step Functions -------------------------------------------------------------------------------------------


def stepfunctions_execution_url(execution_arn: str, region: str | None = None) -> str:
    """The Step Functions console page of one execution (graph, events, each state's input and output).

    The region defaults to the one in the execution ARN.
    """
    region = valid_region(region, region_from_arn(execution_arn))
    return f"{console_host(region)}/states/home?region={region}#/v2/executions/details/{quote(execution_arn, safe=':')}"


def state_machine_url(state_machine_arn: str, region: str | None = None) -> str:
    """The Step Functions console page of one state machine (its executions, newest first)."""
    region = valid_region(region, region_from_arn(state_machine_arn))
    return (
        f"{console_host(region)}/states/home?region={region}#/statemachines/view/{quote(state_machine_arn, safe=':')}"
    )


# --- ECS and API Gateway --------------------------------------------------------------------------------------


def ecs_service_url(cluster: str, service: str, region: str | None = None) -> str:
    """The ECS console page of one service (its deployments, events and tasks)."""
    region = valid_region(region)
    return f"{console_host(region)}/ecs/v2/clusters/{_q(cluster)}/services/{_q(service)}/health?region={region}"


def ecs_cluster_url(cluster: str, region: str | None = None) -> str:
    region = valid_region(region)
    return f"{console_host(region)}/ecs/v2/clusters/{_q(cluster)}/services?region={region}"


def api_gateway_url(api_id: str, region: str | None = None, *, http: bool = False) -> str:
    """The API Gateway console page of a REST API's resources or an HTTP API's integrations."""
    region = valid_region(region)
    page = "develop/integrations" if http else f"apis/{_q(api_id)}/resources"
    return f"{console_host(region)}/apigateway/main/{page}?api={_q(api_id)}&region={region}"


# --- CloudWatch -----------------------------------------------------------------------------------------------


def cloudwatch_alarm_url(alarm_name: str, region: str | None = None) -> str:
    """The CloudWatch console page of one alarm (its graph, history and actions)."""
    region = valid_region(region)
    return f"{console_host(region)}/cloudwatch/home?region={region}#alarmsV2:alarm/{_q(alarm_name)}"


def cloudwatch_alarms_url(region: str | None = None) -> str:
    """The CloudWatch alarms list of a region: the fallback when an alarm's name is unknown."""
    region = valid_region(region)
    return f"{console_host(region)}/cloudwatch/home?region={region}#alarmsV2:"


def metric_graph_url(
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, Any] | None = None,
    region: str | None = None,
    *,
    stat: str = "Average",
    period_seconds: int = 300,
    start: str = "-PT3H",
    end: str = "P0D",
) -> str:
    """A CloudWatch metrics graph of one metric, e.g. (`AWS/Lambda`, `Errors`, {"FunctionName": "api"}).

    `start`/`end` are ISO-8601 durations relative to now (the console's own notation) or ISO timestamps.
    """
    region = valid_region(region)
    metric: list[Any] = [namespace, metric_name]
    for key, value in (dimensions or {}).items():
        metric += [str(key), str(value)]
    graph = {
        "view": "timeSeries",
        "stacked": False,
        "region": region,
        "stat": stat,
        "period": period_seconds,
        "start": start,
        "end": end,
        "metrics": [metric],
    }
    return f"{console_host(region)}/cloudwatch/home?region={region}#metricsV2:graph={jsurl(graph)}"


def log_group_url(log_group_name: str, region: str | None = None) -> str:
    """The CloudWatch Logs console page of one log group (its streams)."""
    region = valid_region(region)
    # The logs console reads its fragment with `%` written as `$`.
    group = _q(_q(log_group_name)).replace("%", "$")
    return f"{console_host(region)}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{group}"


def logs_insights_url(
    log_groups: Sequence[str],
    query: str,
    region: str | None = None,
    *,
    lookback_seconds: int = 3600,
) -> str:
    """CloudWatch Logs Insights with `query` pre-filled over `log_groups` and the last `lookback_seconds`.

    The query is not run until the reader presses "Run query", so the link itself costs nothing.
    """
    region = valid_region(region)
    detail = {
        "end": 0,
        "start": -abs(lookback_seconds),
        "timeType": "RELATIVE",
        "unit": "seconds",
        "editorString": query,
        "source": list(log_groups),
    }
    fragment = quote("?queryDetail=" + jsurl(detail), safe="~()'*!").replace("%", "$")
    return f"{console_host(region)}/cloudwatch/home?region={region}#logsV2:logs-insights{fragment}"


# --- Compute --------------------------------------------------------------------------------------------------


def cloudtrail_events_url(resource_name: str, region: str | None = None) -> str:
    """CloudTrail's event history of one resource (who changed it, when, with which parameters)."""
    region = valid_region(region)
    return f"{console_host(region)}/cloudtrailv2/home?region={region}#/events?ResourceName={_q(resource_name)}"


def lambda_function_url(function_name: str, region: str | None = None) -> str:
    """The Lambda console page of one function (its code, configuration and monitoring tabs).

    Accepts a function name or ARN; an ARN's own region wins over `region`.
    """
    if function_name.startswith("arn:"):
        region = valid_region(region_from_arn(function_name), region)
        function_name = function_name.split(":")[6] if function_name.count(":") >= 6 else function_name
    region = valid_region(region)
    return f"{console_host(region)}/lambda/home?region={region}#/functions/{_q(function_name)}"


def ec2_instance_url(instance_id: str, region: str | None = None) -> str:
    """The EC2 console page of one instance (its state, status checks and monitoring)."""
    region = valid_region(region)
    return f"{console_host(region)}/ec2/home?region={region}#InstanceDetails:instanceId={_q(instance_id)}"


def nat_gateway_url(nat_gateway_id: str, region: str | None = None) -> str:
    """The VPC console page of one NAT gateway (its subnet, addresses and monitoring)."""
    region = valid_region(region)
    return f"{console_host(region)}/vpcconsole/home?region={region}#NatGatewayDetails:natGatewayId={_q(nat_gateway_id)}"


def ec2_running_instances_url(region: str | None = None) -> str:
    """The EC2 console's instance list: running instances, newest launch first."""
    region = valid_region(region)
    return f"{console_host(region)}/ec2/home?region={region}#Instances:instanceState=running;sort=desc:launchTime"


# --- Cost -----------------------------------------------------------------------------------------------------


def budgets_url(budget_name: str | None = None) -> str:
    """The AWS Budgets page of one budget, or the list of budgets when no name is given."""
    base = f"{console_host(_BILLING_REGION)}/costmanagement/home#/budgets"
    return f"{base}/details?name={_q(budget_name)}" if budget_name else base


def cost_anomaly_detection_url(monitor_arn: str | None = None, anomaly_id: str | None = None) -> str:
    """Cost Anomaly Detection: one anomaly when its monitor and ID are known, otherwise the anomaly history."""
    base = f"{console_host(_BILLING_REGION)}/costmanagement/home#/anomaly-detection"
    if monitor_arn and anomaly_id:
        monitor_id = monitor_arn.rsplit("/", 1)[-1]
        return f"{base}/monitors/{_q(monitor_id)}/anomalies/{_q(anomaly_id)}"
    return f"{base}/overview?activeTab=history"


def cost_explorer_url(
    start: date | datetime | str,
    end: date | datetime | str,
    *,
    service: str | None = None,
    granularity: str = "Daily",
    group_by: str = "Service",
) -> str:
    """Cost Explorer over [start, end], grouped by `group_by` (default Service), optionally for one service.

    Dates may be `date`, `datetime` or `YYYY-MM-DD` strings; `service` is the Cost Explorer service name, e.g.
    "AWS Lambda".
    """
    params = [
        "chartStyle=STACK",
        f"granularity={_q(granularity)}",
        f"startDate={_q(_iso_day(start))}",
        f"endDate={_q(_iso_day(end))}",
        f"groupBy={_q(group_by)}",
    ]
    if service:
        service_filter = [
            {
                "dimension": {"id": "Service", "displayValue": "Service"},
                "operator": "INCLUDES",
                "values": [{"value": service, "displayValue": service}],
            }
        ]
        params.append("filter=" + _q(json.dumps(service_filter, separators=(",", ":"))))
    return f"{console_host(_BILLING_REGION)}/costmanagement/home#/cost-explorer?{'&'.join(params)}"


def _iso_day(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value[:10]


# --- Health and security --------------------------------------------------------------------------------------


def health_event_url(event_arn: str | None = None) -> str:
    """The AWS Health Dashboard page of one event, or the account's event log when no ARN is given."""
    base = "https://health.aws.amazon.com/health/home#/account/event-log"
    return f"{base}?eventID={_q(event_arn)}&eventTab=details" if event_arn else base


def security_hub_finding_url(finding_id: str | None = None, region: str | None = None) -> str:
    """Security Hub's findings list filtered to one finding ID (the list of findings without an ID)."""
    region = valid_region(region, region_from_arn(finding_id))
    base = f"{console_host(region)}/securityhub/home?region={region}#/findings"
    if not finding_id:
        return base
    # The console double-encodes the filter value inside its `search` parameter.
    search = "Id=" + _q("\\operator\\:EQUALS\\:" + finding_id)
    return f"{base}?search={_q(search)}"


def guardduty_findings_url(finding_id: str | None = None, region: str | None = None) -> str:
    """GuardDuty's current findings, with one finding opened when its ID is given."""
    region = valid_region(region)
    base = f"{console_host(region)}/guardduty/home?region={region}#/findings?macros=current"
    return f"{base}&fId={_q(finding_id)}" if finding_id else base


# --- The page for an alert, per source, and for a resource, per type --------------------------------------------
# `functions.shared.registry` names one of these per alert source (`alert_console_link`) and per resource type
# (`resource_console_link`); each returns None when the alert or resource holds nothing to link to.


def _alert_region(alert: Alert) -> str:
    return valid_region(alert.region, alert.resource.region if alert.resource else None)


def _resource_name_of(alert: Alert, type_marker: str) -> str | None:
    resource = alert.resource
    if resource and resource.name and type_marker in resource.type.lower():
        return resource.name
    return None


def alarm_alert_link(alert: Alert) -> tuple[str, str] | None:
    """The alarm's page (the alarm's name from its details, else its resource), else the region's alarm list."""
    from functions.shared.alert_details import CloudWatchAlarmDetails

    details = alert.details_of(CloudWatchAlarmDetails) or CloudWatchAlarmDetails()
    alarm = details.alarm_name if details.alarm_name is not None else _resource_name_of(alert, "cloudwatch::alarm")
    if alarm:
        return "Open alarm", cloudwatch_alarm_url(alarm, _alert_region(alert))
    return "CloudWatch alarms", cloudwatch_alarms_url(_alert_region(alert))


def budget_alert_link(alert: Alert) -> tuple[str, str] | None:
    """The budget's page (its name from the details, else its resource), else the list of budgets."""
    from functions.shared.alert_details import BudgetDetails

    details = alert.details_of(BudgetDetails) or BudgetDetails()
    budget = details.budget_name if details.budget_name is not None else _resource_name_of(alert, "budget")
    return "Open budget", budgets_url(budget)


def cost_anomaly_alert_link(alert: Alert) -> tuple[str, str] | None:
    from functions.shared.alert_details import CostAnomalyDetails

    anomaly = alert.details_of(CostAnomalyDetails) or CostAnomalyDetails()
    return "Cost Anomaly Detection", cost_anomaly_detection_url(anomaly.monitor_arn, anomaly.anomaly_id)


def health_alert_link(alert: Alert) -> tuple[str, str] | None:
    from functions.shared.alert_details import HealthDetails

    event = alert.details_of(HealthDetails) or HealthDetails()
    return "Health event", health_event_url(event.event_arn)


def security_hub_alert_link(alert: Alert) -> tuple[str, str] | None:
    from functions.shared.alert_details import SecurityHubDetails

    hub = alert.details_of(SecurityHubDetails) or SecurityHubDetails()
    return "Security Hub finding", security_hub_finding_url(hub.finding_id, _alert_region(alert))


def guardduty_alert_link(alert: Alert) -> tuple[str, str] | None:
    from functions.shared.alert_details import GuardDutyDetails

    guardduty = alert.details_of(GuardDutyDetails) or GuardDutyDetails()
    return "GuardDuty findings", guardduty_findings_url(guardduty.finding_id, _alert_region(alert))


def no_alert_link(alert: Alert) -> tuple[str, str] | None:
    """For a source whose alert has no page of its own (an application error links its resource instead)."""
    return None


def lambda_function_page(resource: ResourceRef, region: str) -> str:
    return lambda_function_url(resource.arn or resource.name or "", region)


def ec2_instance_page(resource: ResourceRef, region: str) -> str:
    name = resource.name or resource.arn or ""
    instance_id = name if name.startswith("i-") else (resource.arn or "").rsplit("/", 1)[-1]
    return ec2_instance_url(instance_id, region)


def s3_bucket_url(bucket: str, region: str | None = None) -> str:
    """The S3 console page of one bucket, on its Metrics tab."""
    region = valid_region(region)
    return f"{console_host(region)}/s3/buckets/{_q(bucket)}?region={region}&tab=metrics"


def _resource_id(resource: ResourceRef, separator: str) -> str:
    """The resource's own id: its name, or the last part of its ARN after `separator` ("/" or ":")."""
    name = resource.name or resource.arn or ""
    return name.rsplit(separator, 1)[-1]


def nat_gateway_page(resource: ResourceRef, region: str) -> str:
    return nat_gateway_url(_resource_id(resource, "/"), region)


def log_group_page(resource: ResourceRef, region: str) -> str:
    return log_group_url(resource.name or resource.arn or "", region)


# --- Databases, load balancers, Auto Scaling groups ------------------------------------------------------------


def rds_database_url(identifier: str, region: str | None = None, *, cluster: bool = False) -> str:
    """The RDS console page of one DB instance or cluster (configuration, monitoring, logs and events)."""
    region = valid_region(region)
    kind = "true" if cluster else "false"
    return f"{console_host(region)}/rds/home?region={region}#database:id={_q(identifier)};is-cluster={kind}"


def elb_resource_url(arn: str, region: str | None = None) -> str:
    """The EC2 console page of a load balancer or a target group (listeners, targets and their health)."""
    region = valid_region(region_from_arn(arn), region)
    fragment = "TargetGroup:targetGroupArn" if ":targetgroup/" in arn else "LoadBalancer:loadBalancerArn"
    return f"{console_host(region)}/ec2/home?region={region}#{fragment}={_q(arn)}"


def auto_scaling_group_url(name: str, region: str | None = None) -> str:
    """The EC2 console page of one Auto Scaling group (capacity, activity history, instances)."""
    region = valid_region(region)
    return f"{console_host(region)}/ec2/home?region={region}#AutoScalingGroupDetails:id={_q(name)};view=details"


def _arn_tail(resource: ResourceRef, separator: str) -> str:
    return resource.name or (resource.arn or "").rsplit(separator, 1)[-1]


def rds_instance_page(resource: ResourceRef, region: str) -> str:
    return rds_database_url(_arn_tail(resource, ":"), region)


def rds_cluster_page(resource: ResourceRef, region: str) -> str:
    return rds_database_url(_arn_tail(resource, ":"), region, cluster=True)


def elb_resource_page(resource: ResourceRef, region: str) -> str:
    """A load balancer's or target group's page by its ARN (the console names them by ARN); without one, the
    console's list filtered by the name."""
    if resource.arn:
        return elb_resource_url(resource.arn, region)
    region = valid_region(region)
    page = "TargetGroups" if "TargetGroup" in resource.type else "LoadBalancers"
    name = (resource.name or "").split("/")[1] if (resource.name or "").count("/") == 2 else resource.name or ""
    return f"{console_host(region)}/ec2/home?region={region}#{page}:search={_q(name)}"


def auto_scaling_group_page(resource: ResourceRef, region: str) -> str:
    return auto_scaling_group_url(_arn_tail(resource, "/"), region)


def state_machine_page(resource: ResourceRef, region: str) -> str:
    return state_machine_url(resource.arn or resource.name, region)


def http_api_page(resource: ResourceRef, region: str) -> str:
    return api_gateway_url(resource.name, region, http=True)


def sqs_queue_url(queue_url: str, region: str | None = None) -> str:
    """The SQS console page of one queue (its settings, dead-letter queue, monitoring and Lambda triggers)."""
    region = valid_region(region)
    return f"{console_host(region)}/sqs/v3/home?region={region}#/queues/{_q(queue_url)}"


def kinesis_stream_url(stream_name: str, region: str | None = None) -> str:
    """The Kinesis console page of one data stream (its shards, consumers and monitoring)."""
    region = valid_region(region)
    return f"{console_host(region)}/kinesis/home?region={region}#/streams/details/{_q(stream_name)}/monitoring"


def kinesis_stream_page(resource: ResourceRef, region: str) -> str:
    return kinesis_stream_url(_resource_id(resource, "/"), region)


def elasticache_url(cache_id: str, region: str | None = None) -> str:
    """The ElastiCache console page of one Redis OSS / Valkey cache (a replication group or a cache cluster: its
    nodes, parameter group, events and metrics). The console routes every engine's detail page under `redis`."""
    region = valid_region(region)
    return f"{console_host(region)}/elasticache/home?region={region}#/redis/{_q(cache_id)}"


def elasticache_page(resource: ResourceRef, region: str) -> str:
    return elasticache_url(_resource_id(resource, ":"), region)


def opensearch_domain_url(domain_name: str, region: str | None = None) -> str:
    """The OpenSearch Service console page of one domain (its cluster health, instances and monitoring)."""
    region = valid_region(region)
    return f"{console_host(region)}/aos/home?region={region}#opensearch/domains/{_q(domain_name)}"


def opensearch_domain_page(resource: ResourceRef, region: str) -> str:
    return opensearch_domain_url(_resource_id(resource, "/"), region)


def dynamodb_table_url(table_name: str, region: str | None = None) -> str:
    """The DynamoDB console page of one table (its capacity, indexes and monitoring)."""
    region = valid_region(region)
    return f"{console_host(region)}/dynamodbv2/home?region={region}#table?name={_q(table_name)}"
