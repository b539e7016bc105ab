"""Reads behind a cost drill that no other adapter makes: NAT gateways (DescribeNatGateways) and log groups with
their stored bytes and retention (DescribeLogGroups), each bounded and cached five minutes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.cache import cache_key, cached

MAX_NAT_GATEWAYS = 50
MAX_LOG_GROUPS = 50


class NatGatewayInfo(BaseModel):
    nat_gateway_id: str
    name: str | None = None  # its Name tag
    state: str | None = None
    connectivity_type: str | None = None  # "public" or "private"
    subnet_id: str | None = None
    vpc_id: str | None = None
    public_ips: list[str] = []
    created: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.nat_gateway_id} ({self.name})" if self.name else self.nat_gateway_id


class LogGroupInfo(BaseModel):
    name: str
    stored_bytes: int | None = None
    retention_days: int | None = None  # None: never expires
    created: datetime | None = None


def _nat(raw: dict[str, Any]) -> NatGatewayInfo:
    tags = {t.get("Key"): t.get("Value") for t in raw.get("Tags", [])}
    addresses = [str(a["PublicIp"]) for a in raw.get("NatGatewayAddresses", []) if a.get("PublicIp")]
    created = raw.get("CreateTime")
    return NatGatewayInfo(
        nat_gateway_id=str(raw.get("NatGatewayId", "")),
        name=tags.get("Name"),
        state=raw.get("State"),
        connectivity_type=raw.get("ConnectivityType"),
        subnet_id=raw.get("SubnetId"),
        vpc_id=raw.get("VpcId"),
        public_ips=addresses,
        created=created if isinstance(created, datetime) else None,
    )


class NatGatewayReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("ec2", region)
        self._region = region

    def nat_gateways(self, ids: list[str] | None = None) -> list[NatGatewayInfo]:
        """The region's NAT gateways (up to MAX_NAT_GATEWAYS), or the ones named; deleted ones left out.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ec2:DescribeNatGateways"), AwsReadUnavailableError.
        """
        key = cache_key("ec2.describe_nat_gateways", self._region, sorted(ids or []))
        return cached(key, lambda: self._fetch(ids))

    def _fetch(self, ids: list[str] | None) -> list[NatGatewayInfo]:
        params: dict[str, Any] = {"NatGatewayIds": ids} if ids else {"MaxResults": MAX_NAT_GATEWAYS}
        response = aws_read("ec2:DescribeNatGateways", self._client.describe_nat_gateways, **params)
        found = [_nat(raw) for raw in response.get("NatGateways", [])]
        return [n for n in found if n.state not in ("deleted", "deleting")][:MAX_NAT_GATEWAYS]


class LogGroupReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("logs", region)
        self._region = region

    def log_groups(self, prefix: str | None = None, limit: int = MAX_LOG_GROUPS) -> list[LogGroupInfo]:
        """Log groups (one page of up to `limit`, in name order), with stored bytes and retention.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("logs:DescribeLogGroups"), AwsReadUnavailableError.
        """
        key = cache_key("logs.describe_log_groups", self._region, prefix, limit)
        return cached(key, lambda: self._fetch(prefix, limit))

    def _fetch(self, prefix: str | None, limit: int) -> list[LogGroupInfo]:
        params: dict[str, Any] = {"limit": min(limit, MAX_LOG_GROUPS)}
        if prefix:
            params["logGroupNamePrefix"] = prefix
        response = aws_read("logs:DescribeLogGroups", self._client.describe_log_groups, **params)
        groups = []
        for raw in response.get("logGroups", []):
            created = raw.get("creationTime")
            groups.append(
                LogGroupInfo(
                    name=str(raw.get("logGroupName", "")),
                    stored_bytes=raw.get("storedBytes"),
                    retention_days=raw.get("retentionInDays"),
                    created=datetime.fromtimestamp(created / 1000, tz=UTC) if isinstance(created, int) else None,
                )
            )
        return groups


MAX_METRIC_SETS = 100


class MetricCatalogReader:
    """Which dimension sets a metric exists for (ListMetrics): e.g. the buckets that have S3 request metrics, which
    exist only where someone configured a request-metrics filter (FilterId)."""

    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("cloudwatch", region)
        self._region = region

    def dimension_sets(self, namespace: str, metric_name: str) -> list[dict[str, str]]:
        """The dimension sets of `metric_name` that had data in the last two weeks (one page, up to 100).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("cloudwatch:ListMetrics"), AwsReadUnavailableError.
        """
        key = cache_key("cloudwatch.list_metrics", self._region, namespace, metric_name)
        return cached(key, lambda: self._fetch(namespace, metric_name))

    def _fetch(self, namespace: str, metric_name: str) -> list[dict[str, str]]:
        response = aws_read(
            "cloudwatch:ListMetrics",
            self._client.list_metrics,
            Namespace=namespace,
            MetricName=metric_name,
        )
        sets = [
            {str(d.get("Name")): str(d.get("Value")) for d in metric.get("Dimensions", [])}
            for metric in response.get("Metrics", [])
        ]
        return sets[:MAX_METRIC_SETS]

    def metric_names(self, namespace: str, dimensions: dict[str, str]) -> list[str]:
        """The metrics of `namespace` published for exactly these dimensions (one page): what else CloudWatch
        knows about the resource an alarm names, when no interpreter knows its type or its metric.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("cloudwatch:ListMetrics"), AwsReadUnavailableError.
        """
        key = cache_key("cloudwatch.list_metrics_of", self._region, namespace, sorted(dimensions.items()))
        return cached(key, lambda: self._fetch_names(namespace, dimensions))

    def _fetch_names(self, namespace: str, dimensions: dict[str, str]) -> list[str]:
        response = aws_read(
            "cloudwatch:ListMetrics",
            self._client.list_metrics,
            Namespace=namespace,
            Dimensions=[{"Name": name, "Value": value} for name, value in dimensions.items()],
        )
        names: list[str] = []
        for metric in response.get("Metrics", []):
            # ListMetrics also returns metrics with more dimensions than asked for: keep the same resource only.
            if {str(d.get("Name")) for d in metric.get("Dimensions", [])} != set(dimensions):
                continue
            name = str(metric.get("MetricName", ""))
            if name and name not in names:
                names.append(name)
        return names[:MAX_METRIC_SETS]
