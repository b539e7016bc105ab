"""From a cost to the resources behind it: which usage type is billed by which kind of resource, and which
resource of that kind grew.

`usage_mechanisms.USAGE_MECHANISMS` maps a Cost Explorer usage type (and its service) to the mechanism that bills
it, in the registry's spirit, never on an alert's wording. A cost anomaly names its usage types; a budget alert
names none, so the mechanisms marked `probe` are tried and report only a resource whose usage clearly grew. The
NAT-gateway, log-group and S3-bucket drills rank the resources of their kind by the CloudWatch metrics AWS bills
them by (`BilledMetrics`, one `rank_by_billed_usage`), last 24 hours against the same day a week earlier (a cost
that stepped up days ago has no day-over-day change to find).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader, MetricQuery
from functions.shared.adapters.compute import Ec2Reader
from functions.shared.adapters.cost_resources import (
    LogGroupInfo,
    LogGroupReader,
    MetricCatalogReader,
    NatGatewayInfo,
    NatGatewayReader,
)
from functions.shared.investigate.base import Evidence, Neighbour, number, percent_change, signed_percent
from functions.shared.investigate.resources import ago
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

# How many days back the drills look, and which days are "a week earlier" (their median is the baseline).
DRILL_DAYS = 8
BASELINE_DAYS = (5, 6, 7)  # buckets counted from the last 24 h (0): six to eight days ago
# A probed resource (no usage type named) is reported only when its usage at least doubled.
PROBE_MIN_GROWTH_PERCENT = 100.0


class ResourceUsage(BaseModel):
    """One resource's billed usage: the last 24 hours against a day a week earlier, per metric and in total."""

    resource_id: str
    recent: float  # last 24 h, summed over the metrics
    baseline: float | None = None  # a day a week earlier (median of BASELINE_DAYS); None: no data then
    by_metric: dict[str, float] = Field(default_factory=dict)  # last 24 h per metric

    @property
    def growth(self) -> float:
        return self.recent - (self.baseline or 0.0)

    @property
    def change_pct(self) -> float | None:
        return None if self.baseline is None else percent_change(self.recent, self.baseline)

    def grew_clearly(self) -> bool:
        change = self.change_pct
        return self.recent > 0 and (change is None or change >= PROBE_MIN_GROWTH_PERCENT)

    def measurement(self, unit: str) -> Measurement:
        return Measurement(
            value=self.recent, baseline=self.baseline, unit=unit, window="24h", change_pct=self.change_pct
        )


def byte_size(value: float | None) -> str:
    """Decimal units, as AWS bills data (per GB = 10^9 bytes)."""
    if value is None:
        return "n/a"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:,.1f} TB"


def usage_by_resource(
    cw: CloudWatchReader,
    namespace: str,
    dimension: str,
    resource_ids: list[str],
    metrics: tuple[str, ...],
    *,
    now: datetime,
    qualifiers: dict[str, dict[str, str]] | None = None,
) -> list[ResourceUsage]:
    """Each resource's daily Sum of `metrics` over DRILL_DAYS in one GetMetricData call, the largest growth first.

    `qualifiers`: per resource, the other dimensions completing its metric's name (an S3 bucket's FilterId).

    Raises:
        GatherThrottledError, AwsReadDeniedError ("cloudwatch:GetMetricData"), AwsReadUnavailableError.
    """
    if not resource_ids:
        return []
    queries = [
        MetricQuery(
            id=f"r{r}_m{m}",
            namespace=namespace,
            metric_name=metric,
            dimensions={dimension: resource_id, **(qualifiers or {}).get(resource_id, {})},
            stat="Sum",
            period_seconds=3600,
        )
        for r, resource_id in enumerate(resource_ids)
        for m, metric in enumerate(metrics)
    ]
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    series = cw.metric_data(queries, end - timedelta(days=DRILL_DAYS), end)
    usages = []
    for r, resource_id in enumerate(resource_ids):
        days = [0.0] * DRILL_DAYS
        seen = [False] * DRILL_DAYS
        by_metric: dict[str, float] = {}
        for m, metric in enumerate(metrics):
            points = series[f"r{r}_m{m}"]
            for at, value in zip(points.timestamps, points.values, strict=True):
                # A datapoint is stamped with the start of its hour: the hour belongs to the day it ends in.
                bucket = int(((end - at).total_seconds() - 1) // 86400)
                if 0 <= bucket < DRILL_DAYS:
                    days[bucket] += value
                    seen[bucket] = True
                    if bucket == 0:
                        by_metric[metric] = by_metric.get(metric, 0.0) + value
        if not any(seen):
            continue
        baseline_days = [days[b] for b in BASELINE_DAYS if seen[b]]
        usages.append(
            ResourceUsage(
                resource_id=resource_id,
                recent=days[0],
                baseline=statistics.median(baseline_days) if baseline_days else None,
                by_metric=by_metric,
            )
        )
    usages.sort(key=lambda u: (-u.growth, -u.recent))
    return usages


def _versus(usage: ResourceUsage, unit: str) -> str:
    if usage.baseline is None:
        return "no data a week earlier"
    return f"{_amount(usage.baseline, unit)}/day a week earlier ({signed_percent(usage.change_pct)})"


def _runners_up(
    rest: list[ResourceUsage], labels: dict[str, str], what: str, unit: str, page: Callable[[str], str]
) -> list[Fact]:
    """The next resources of the same kind, in one fact of its own: context, never the cause. It links the first
    one's console page (`page`, from its resource id), as every gathered fact links its evidence."""
    if not rest:
        return []
    listed = ", ".join(
        f"{labels.get(u.resource_id, u.resource_id)} {_amount(u.recent, unit)} ({signed_percent(u.change_pct)})"
        for u in rest[:2]
    )
    return [
        Fact(
            key="compute.cost_runners_up",
            text=f"Next {what} in the last 24 h: {listed}",
            value=rest[0].recent,
            numbers=rest[0].measurement(unit),
            link=page(rest[0].resource_id),
        )
    ]


class BilledMetrics(BaseModel):
    """The CloudWatch metrics AWS bills a kind of resource by: summed per resource, they rank the resources."""

    namespace: str  # "AWS/NATGateway"
    dimension: str  # the dimension naming one resource: "NatGatewayId"
    metrics: tuple[str, ...]  # summed together: ("BytesOutToDestination", "BytesInFromDestination")
    unit: str  # "bytes" or "requests": how amounts are written
    ranked: str  # the ranking in words, for the runners-up fact: "NAT gateways by bytes processed"


def _top_change(top: ResourceUsage) -> float:
    """A top fact's value: its change in percent, or its last 24 h when there is no baseline to compare with."""
    return round(top.change_pct, 1) if top.change_pct is not None else top.recent


def rank_by_billed_usage(
    evidence: Evidence,
    cw: CloudWatchReader,
    billed: BilledMetrics,
    resource_ids: list[str],
    *,
    now: datetime,
    read: str,
    top_fact: Callable[[ResourceUsage], Fact],
    page: Callable[[str], str],
    labels: dict[str, str] | None = None,
    qualifiers: dict[str, dict[str, str]] | None = None,
    probe: bool = False,
    none_reported: str | None = None,
) -> ResourceUsage | None:
    """Rank `resource_ids` by `billed`'s metrics, last 24 h against a week earlier (`usage_by_resource`), and add
    the top one as `top_fact(top)` and the next two as one runners-up fact (`labels` names them, `page` links the
    first) to `evidence`. Returns the top resource's usage, or None when no fact was added: the read failed (a
    note, under `read`), no resource reported the metrics (the note `none_reported`, unless probing), or, when
    `probe`, the top one did not clearly grow."""
    usages = evidence.read(
        read,
        lambda: usage_by_resource(
            cw, billed.namespace, billed.dimension, resource_ids, billed.metrics, now=now, qualifiers=qualifiers
        ),
    )
    if not usages:
        if usages is not None and none_reported and not probe:
            evidence.notes.append(none_reported)
        return None
    top = usages[0]
    if probe and not top.grew_clearly():
        return None
    evidence.facts.append(top_fact(top))
    evidence.facts.extend(_runners_up(usages[1:], labels or {}, billed.ranked, billed.unit, page))
    return top


# --- NAT gateways: data processing is billed per GB through the gateway, both directions ------------------------

NAT_METRICS = ("BytesOutToDestination", "BytesInFromDestination")
NAT_BYTES = BilledMetrics(
    namespace="AWS/NATGateway",
    dimension="NatGatewayId",
    metrics=NAT_METRICS,
    unit="bytes",
    ranked="NAT gateways by bytes processed",
)


def nat_gateway_drill(
    cw: CloudWatchReader, nats: NatGatewayReader, *, now: datetime, region: str | None, probe: bool
) -> Evidence:
    """The NAT gateways ranked by bytes processed (out to and in from destinations), the top one as a fact."""
    evidence = Evidence()
    evidence.looked_at.append("NAT gateways by bytes processed, last 24 h vs a week earlier")
    gateways = evidence.read("NAT gateways", lambda: nats.nat_gateways())
    if gateways is None:
        return evidence
    if not gateways:
        if not probe:
            evidence.notes.append("The bill names NAT gateway usage, but this region has no NAT gateway.")
        return evidence
    by_id = {g.nat_gateway_id: g for g in gateways}

    def top_fact(top: ResourceUsage) -> Fact:
        gateway = by_id[top.resource_id]
        inbound = top.by_metric.get("BytesInFromDestination", 0.0)
        share = (
            f"; {inbound / top.recent * 100:.0f}% of it BytesInFromDestination (responses, e.g. downloads)"
            if top.recent
            else ""
        )
        where = ", ".join(p for p in (gateway.subnet_id, gateway.vpc_id) if p)
        return Fact(
            key="compute.cost_resource.nat_gateway",
            text=(
                f"NAT gateway {gateway.label}{f' in {where}' if where else ''}: {byte_size(top.recent)} processed in "
                f"the last 24 h vs {_versus(top, 'bytes')}{share}"
            ),
            value=_top_change(top),
            subject=gateway.nat_gateway_id,
            numbers=top.measurement("bytes"),
            link=console_links.nat_gateway_url(gateway.nat_gateway_id, region),
        )

    rank_by_billed_usage(
        evidence,
        cw,
        NAT_BYTES,
        list(by_id),
        now=now,
        read="NAT gateway bytes (AWS/NATGateway)",
        top_fact=top_fact,
        page=lambda nat_id: console_links.nat_gateway_url(nat_id, region),
        labels={g.nat_gateway_id: g.label for g in gateways},
        probe=probe,
        none_reported="No NAT gateway reported BytesOutToDestination or BytesInFromDestination.",
    )
    return evidence


def nat_gateway_evidence(nats: NatGatewayReader, nat_gateway_id: str, *, region: str | None) -> Evidence:
    """One NAT gateway's configuration: state, connectivity, subnet, VPC, addresses."""
    evidence = Evidence()
    evidence.looked_at.append(f"NAT gateway {nat_gateway_id} configuration")
    found = evidence.read(f"NAT gateway {nat_gateway_id}", lambda: nats.nat_gateways([nat_gateway_id]))
    if found is None:
        return evidence
    if not found:
        evidence.notes.append(f"NAT gateway {nat_gateway_id} was not found (deleted?).")
        return evidence
    gateway: NatGatewayInfo = found[0]
    parts = [f"{gateway.state or 'unknown state'}", f"{gateway.connectivity_type or 'public'}"]
    if gateway.subnet_id:
        parts.append(f"subnet {gateway.subnet_id}")
    if gateway.vpc_id:
        parts.append(f"VPC {gateway.vpc_id}")
    if gateway.public_ips:
        parts.append("public IP " + ", ".join(gateway.public_ips[:2]))
    evidence.facts.append(
        Fact(
            key="compute.nat_gateway",
            text=f"NAT gateway {gateway.label}: " + ", ".join(parts),
            value=gateway.state,
            subject=gateway.nat_gateway_id,
            link=console_links.nat_gateway_url(gateway.nat_gateway_id, region),
        )
    )
    return evidence


# --- CloudWatch Logs: ingestion is billed per GB (DataProcessing-Bytes) ----------------------------------------

LOG_INGESTION = BilledMetrics(
    namespace="AWS/Logs",
    dimension="LogGroupName",
    metrics=("IncomingBytes",),
    unit="bytes",
    ranked="log groups by IncomingBytes",
)


def log_ingestion_movers(
    cw: CloudWatchReader, groups: LogGroupReader, *, now: datetime
) -> tuple[list[ResourceUsage], dict[str, LogGroupInfo]]:
    """The log groups (one page, up to 50) ranked by the growth of their IncomingBytes.

    Raises:
        GatherThrottledError, AwsReadDeniedError, AwsReadUnavailableError (from the reads it makes).
    """
    listed = {g.name: g for g in groups.log_groups()}
    usages = usage_by_resource(
        cw, LOG_INGESTION.namespace, LOG_INGESTION.dimension, list(listed), LOG_INGESTION.metrics, now=now
    )
    return usages, listed


def _retention(group: LogGroupInfo) -> str:
    return f"retention {group.retention_days} days" if group.retention_days else "retention: never expires"


def log_ingestion_drill(
    cw: CloudWatchReader, groups: LogGroupReader, *, now: datetime, region: str | None, probe: bool
) -> Evidence:
    """The log groups ranked by IncomingBytes growth, the top one (with retention and stored bytes) as a fact."""
    evidence = Evidence()
    evidence.looked_at.append("CloudWatch Logs IncomingBytes per log group, last 24 h vs a week earlier")
    read = "log groups and their IncomingBytes"
    listed = evidence.read(read, lambda: {g.name: g for g in groups.log_groups()})
    if listed is None:
        return evidence

    def top_fact(top: ResourceUsage) -> Fact:
        group = listed[top.resource_id]
        stored = f", {byte_size(group.stored_bytes)} stored" if group.stored_bytes else ""
        return Fact(
            key="compute.cost_resource.log_group",
            text=(
                f"Log group {group.name}: {byte_size(top.recent)} ingested (IncomingBytes) in the last 24 h vs "
                f"{_versus(top, 'bytes')}; {_retention(group)}{stored}"
            ),
            value=_top_change(top),
            subject=group.name,
            numbers=top.measurement("bytes"),
            link=console_links.log_group_url(group.name, region),
        )

    top = rank_by_billed_usage(
        evidence,
        cw,
        LOG_INGESTION,
        list(listed),
        now=now,
        read=read,
        top_fact=top_fact,
        page=lambda name: console_links.log_group_url(name, region),
        probe=probe,
        none_reported="No log group reported IncomingBytes in the last 8 days.",
    )
    if top is not None and len(listed) >= 50:
        evidence.notes.append("Only the first 50 log groups (by name) were ranked by ingestion.")
    return evidence


def lambda_writer(log_group: str) -> str | None:
    """The Lambda function that writes `/aws/lambda/<name>`, else None."""
    name = log_group.removeprefix("/aws/lambda/")
    return name if name != log_group and name and "/" not in name else None


def log_group_evidence(groups: LogGroupReader, name: str, *, region: str | None) -> Evidence:
    """One log group's retention and stored bytes."""
    evidence = Evidence()
    evidence.looked_at.append(f"Log group {name} retention and size")
    found = evidence.read(f"log group {name}", lambda: groups.log_groups(prefix=name, limit=5))
    if found is None:
        return evidence
    group = next((g for g in found if g.name == name), None)
    if group is None:
        evidence.notes.append(f"Log group {name} does not exist.")
        return evidence
    stored = f", {byte_size(group.stored_bytes)} stored" if group.stored_bytes else ""
    evidence.facts.append(
        Fact(
            key="compute.log_group",
            text=f"Log group {name}: {_retention(group)}{stored}",
            value=group.retention_days or 0,
            subject=name,
            link=console_links.log_group_url(name, region),
        )
    )
    writer = lambda_writer(name)
    if writer is not None:
        evidence.neighbours.append(
            Neighbour(target=Target.of("lambda", writer, region), edge=f"writer of log group {name}")
        )
    return evidence


# --- EC2 instance hours (BoxUsage:<type>): the running instances of that type, newest first --------------------

_INSTANCE_TYPE = re.compile(
    r"(?:BoxUsage|SpotUsage|DedicatedUsage|HostBoxUsage|UnusedBox):(?P<type>[a-z0-9-]+\.[a-z0-9]+)"
)


def instance_types_of(usage_types: list[str | None]) -> list[str]:
    """The instance types an EC2 usage type bills ("USE1-BoxUsage:c6i.xlarge" -> "c6i.xlarge")."""
    found = [m.group("type") for u in usage_types if u and (m := _INSTANCE_TYPE.search(u))]
    return list(dict.fromkeys(found))


def _launch_time(instance: dict[str, Any]) -> datetime | None:
    launched = instance.get("LaunchTime")
    if isinstance(launched, datetime):
        return launched if launched.tzinfo else launched.replace(tzinfo=UTC)
    return None


def _name(instance: dict[str, Any]) -> str:
    tag = next((t.get("Value") for t in instance.get("Tags", []) if t.get("Key") == "Name"), None)
    return str(tag or instance.get("InstanceId", "?"))


def ec2_instances_drill(
    ec2: Ec2Reader, instance_types: list[str], *, now: datetime, region: str | None, recent_days: int = 14
) -> Evidence:
    """Per billed instance type: how many run, how many were launched in the last `recent_days`, the newest first."""
    evidence = Evidence()
    if not instance_types:
        return evidence
    evidence.looked_at.append("Running EC2 instances of " + ", ".join(instance_types) + " by launch time")
    running = evidence.read("running EC2 instances", lambda: ec2.running_instances())
    if running is None:
        return evidence
    since = now - timedelta(days=recent_days)
    for instance_type in instance_types[:2]:
        of_type = [i for i in running if i.get("InstanceType") == instance_type]
        if not of_type:
            evidence.notes.append(f"No {instance_type} instance is running now (stopped, terminated or Spot ended).")
            continue
        dated = sorted(of_type, key=lambda i: _launch_time(i) or since, reverse=True)
        recent = [i for i in dated if (_launch_time(i) or since) > since]
        names = [_name(i) for i in dated]
        newest = _launch_time(dated[0])
        newest_words = f", the newest launched {ago(newest, now)}" if newest else ""
        more = " …" if len(names) > 4 else ""
        evidence.facts.append(
            Fact(
                key="compute.cost_resource.ec2_instances",
                text=(
                    f"{len(of_type)} {instance_type} instance(s) running: {len(recent)} launched in the last "
                    f"{recent_days} days{newest_words} ({', '.join(names[:4])}{more})"
                ),
                value=len(of_type),
                subject=instance_type,
                numbers=Measurement(value=len(of_type), baseline=len(of_type) - len(recent), unit="instances"),
                link=console_links.ec2_running_instances_url(region),
            )
        )
    return evidence


# --- S3 (data transfer out, requests): per bucket, where request metrics exist -----------------------------------

# Which S3 request metric a usage type bills by. Request metrics exist only for a bucket with a request-metrics
# filter (its FilterId), so the drill ranks the buckets that have one and says so when none has.
_S3_METRICS = (
    (re.compile(r"DataTransfer-Out-Bytes|AWS-Out-Bytes"), "BytesDownloaded", "bytes"),
    (re.compile(r"Requests-Tier[12]|Requests-"), "AllRequests", "requests"),
)


def s3_metric_for(usage_types: list[str | None]) -> tuple[str, str] | None:
    for usage_type in usage_types:
        for pattern, metric, unit in _S3_METRICS:
            if usage_type and pattern.search(usage_type):
                return metric, unit
    return None


def _amount(value: float | None, unit: str) -> str:
    if unit == "bytes":
        return byte_size(value)
    return f"{number(value)} {unit}" if value is not None else "n/a"


def s3_bucket_drill(
    cw: CloudWatchReader,
    catalog: MetricCatalogReader,
    usage_types: list[str | None],
    *,
    now: datetime,
    region: str | None,
) -> Evidence:
    """The buckets ranked by the request metric the usage type bills by (BytesDownloaded, AllRequests)."""
    evidence = Evidence()
    chosen = s3_metric_for(usage_types)
    if chosen is None:
        return evidence
    metric, unit = chosen
    evidence.looked_at.append(f"S3 {metric} per bucket (request metrics filters), last 24 h vs a week earlier")
    sets = evidence.read(f"S3 buckets with {metric}", lambda: catalog.dimension_sets("AWS/S3", metric))
    if sets is None:
        return evidence
    # One filter per bucket: the whole-bucket filter when there is one.
    filters: dict[str, dict[str, str]] = {}
    for dimensions in sorted(sets, key=lambda d: d.get("FilterId") != "EntireBucket"):
        bucket, filter_id = dimensions.get("BucketName"), dimensions.get("FilterId")
        if bucket and filter_id and bucket not in filters:
            filters[bucket] = {"FilterId": filter_id}
    if not filters:
        evidence.notes.append(
            f"No bucket has S3 request metrics ({metric} needs a request-metrics filter), so CloudWatch cannot say "
            "which bucket it is; S3 server access logs or Storage Lens can."
        )
        return evidence
    billed = BilledMetrics(
        namespace="AWS/S3", dimension="BucketName", metrics=(metric,), unit=unit, ranked=f"buckets by {metric}"
    )

    def top_fact(top: ResourceUsage) -> Fact:
        return Fact(
            key="compute.cost_resource.s3_bucket",
            text=(
                f"S3 bucket {top.resource_id}: {_amount(top.recent, unit)} ({metric}, filter "
                f"{filters[top.resource_id]['FilterId']}) in the last 24 h vs {_versus(top, unit)}"
            ),
            value=_top_change(top),
            subject=top.resource_id,
            numbers=top.measurement(unit),
            link=console_links.s3_bucket_url(top.resource_id, region),
        )

    rank_by_billed_usage(
        evidence,
        cw,
        billed,
        list(filters),
        now=now,
        read=f"S3 {metric} per bucket",
        top_fact=top_fact,
        page=lambda bucket: console_links.s3_bucket_url(bucket, region),
        qualifiers=filters,
    )
    return evidence
