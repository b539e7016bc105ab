"""RDS, Elastic Load Balancing (v2) and Auto Scaling reads: a database's configuration and events, a load balancer's
listeners, target groups and target health, an Auto Scaling group's capacity and scaling activities, and the
Lambda functions whose environment names a database endpoint (its callers).

Every read is bounded (a few pages at most) and returns what the API returned, so the investigations in
`functions/shared/investigate/` decide what matters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read, aws_read_or_none
from functions.shared.cache import cache_key, cached

_NOT_FOUND = frozenset(
    {
        "DBInstanceNotFound",
        "DBInstanceNotFoundFault",
        "DBClusterNotFoundFault",
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "ValidationError",
    }
)


class _Reader:
    _service = ""

    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._given = client
        self._region = region

    @property
    def _client(self) -> Any:
        # Built on first use: a run that never meets a database or load balancer builds no client for one.
        return self._given or aws_client(self._service, self._region)


class RdsReader(_Reader):
    _service = "rds"

    def db_instance(self, identifier: str) -> dict[str, Any] | None:
        """`DescribeDBInstances` for one instance; None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("rds:DescribeDBInstances"), AwsReadUnavailableError.
        """
        return cached(cache_key("rds.db_instance", self._region, identifier), lambda: self._instance(identifier))

    def _instance(self, identifier: str) -> dict[str, Any] | None:
        response = aws_read_or_none(
            "rds:DescribeDBInstances",
            self._client.describe_db_instances,
            not_found=_NOT_FOUND,
            DBInstanceIdentifier=identifier,
        )
        instances = (response or {}).get("DBInstances", [])
        return dict(instances[0]) if instances else None

    def db_cluster(self, identifier: str) -> dict[str, Any] | None:
        """`DescribeDBClusters` for one cluster; None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("rds:DescribeDBClusters"), AwsReadUnavailableError.
        """
        return cached(cache_key("rds.db_cluster", self._region, identifier), lambda: self._cluster(identifier))

    def _cluster(self, identifier: str) -> dict[str, Any] | None:
        response = aws_read_or_none(
            "rds:DescribeDBClusters",
            self._client.describe_db_clusters,
            not_found=_NOT_FOUND,
            DBClusterIdentifier=identifier,
        )
        clusters = (response or {}).get("DBClusters", [])
        return dict(clusters[0]) if clusters else None

    def events(self, source_type: str, identifier: str, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """`DescribeEvents` of one source (`db-instance` or `db-cluster`) between start and end, oldest first, at
        most 100 (one page).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("rds:DescribeEvents"), AwsReadUnavailableError.
        """
        response = aws_read(
            "rds:DescribeEvents",
            self._client.describe_events,
            SourceType=source_type,
            SourceIdentifier=identifier,
            StartTime=start,
            EndTime=end,
            MaxRecords=100,
        )
        return [dict(e) for e in response.get("Events", [])]


class LoadBalancerReader(_Reader):
    _service = "elbv2"

    def load_balancer(self, name: str) -> dict[str, Any] | None:
        """`DescribeLoadBalancers` by name; None when none has it.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticloadbalancing:DescribeLoadBalancers"),
            AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "elasticloadbalancing:DescribeLoadBalancers",
            self._client.describe_load_balancers,
            not_found=_NOT_FOUND,
            Names=[name],
        )
        found = (response or {}).get("LoadBalancers", [])
        return dict(found[0]) if found else None

    def listeners(self, load_balancer_arn: str) -> list[dict[str, Any]]:
        """The load balancer's listeners (one page, at most 50).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticloadbalancing:DescribeListeners"),
            AwsReadUnavailableError.
        """
        response = aws_read(
            "elasticloadbalancing:DescribeListeners",
            self._client.describe_listeners,
            LoadBalancerArn=load_balancer_arn,
            PageSize=50,
        )
        return [dict(x) for x in response.get("Listeners", [])]

    def target_groups(self, *, load_balancer_arn: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Target groups behind a load balancer, or the one with `name` (one page, at most 50).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticloadbalancing:DescribeTargetGroups"),
            AwsReadUnavailableError.
        """
        params: dict[str, Any] = {"PageSize": 50}
        if load_balancer_arn:
            params["LoadBalancerArn"] = load_balancer_arn
        if name:
            params["Names"] = [name]
            params.pop("PageSize")
        response = aws_read_or_none(
            "elasticloadbalancing:DescribeTargetGroups",
            self._client.describe_target_groups,
            not_found=_NOT_FOUND,
            **params,
        )
        return [dict(x) for x in (response or {}).get("TargetGroups", [])]

    def target_health(self, target_group_arn: str) -> list[dict[str, Any]]:
        """Each registered target with its health (State, Reason, Description).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticloadbalancing:DescribeTargetHealth"),
            AwsReadUnavailableError.
        """
        response = aws_read(
            "elasticloadbalancing:DescribeTargetHealth",
            self._client.describe_target_health,
            TargetGroupArn=target_group_arn,
        )
        return [dict(x) for x in response.get("TargetHealthDescriptions", [])]


class AutoScalingReader(_Reader):
    _service = "autoscaling"

    def group(self, name: str) -> dict[str, Any] | None:
        """`DescribeAutoScalingGroups` for one group; None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("autoscaling:DescribeAutoScalingGroups"),
            AwsReadUnavailableError.
        """
        response = aws_read(
            "autoscaling:DescribeAutoScalingGroups",
            self._client.describe_auto_scaling_groups,
            AutoScalingGroupNames=[name],
        )
        groups = response.get("AutoScalingGroups", [])
        return dict(groups[0]) if groups else None

    def scaling_activities(self, name: str, limit: int = 10) -> list[dict[str, Any]]:
        """The group's most recent scaling activities, newest first.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("autoscaling:DescribeScalingActivities"),
            AwsReadUnavailableError.
        """
        response = aws_read(
            "autoscaling:DescribeScalingActivities",
            self._client.describe_scaling_activities,
            AutoScalingGroupName=name,
            MaxRecords=limit,
        )
        return [dict(x) for x in response.get("Activities", [])][:limit]


class LambdaEnvironmentReader(_Reader):
    """Lambda functions by what their environment variables say (which database endpoint they connect to)."""

    _service = "lambda"

    def functions_mentioning(self, needles: list[str], *, max_pages: int = 3) -> list[str]:
        """Names of the functions (of the first `max_pages` pages of 50) one of whose environment values contains
        one of `needles` (case-insensitive). The values themselves never leave this method: they may be secrets.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("lambda:ListFunctions"), AwsReadUnavailableError.
        """
        wanted = [n.lower() for n in needles if n]
        if not wanted:
            return []
        found: list[str] = []
        marker: str | None = None
        for _ in range(max_pages):
            params: dict[str, Any] = {"MaxItems": 50}
            if marker:
                params["Marker"] = marker
            response = aws_read("lambda:ListFunctions", self._client.list_functions, **params)
            for function in response.get("Functions", []):
                values = ((function.get("Environment") or {}).get("Variables") or {}).values()
                if any(needle in str(value).lower() for value in values for needle in wanted):
                    found.append(str(function.get("FunctionName")))
            marker = response.get("NextMarker")
            if not marker:
                break
        return found
