"""Seed RDS instances and Aurora clusters (with their events), load balancers (listeners, target groups, targets and
their health) and Auto Scaling groups (with their scaling activities) into the active moto account.

Called by `functions.local_runner.seed.seed_account`, inside `mock_aws(...)`; every time is relative to the run's
`now`. What moto's APIs cannot do is set on moto's own models, here only:

- RDS: an endpoint's host (moto answers `<id>.aaaaaaaaaa.<region>...`), the instance status, pending modified
  values, and events with their own message, categories and date (moto records only a few kinds, stamped now).
- ELBv2: the IDs in the ARNs (the alarm's `LoadBalancer` / `TargetGroup` dimension names them), and each target's
  health (moto reports every registered running instance `healthy`).
- Auto Scaling: the desired capacity above the running instances (a group that fails to launch), and scaling
  activities (moto's `DescribeScalingActivities` always answers an empty list).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from unittest import mock

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.adapters.aws import aws_client


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RdsEventSeed(_Seed):
    message: str
    # RDS event categories, e.g. failover, availability, low storage, maintenance, configuration change.
    categories: list[str] = Field(min_length=1)
    minutes_ago: float = Field(ge=0)


class RdsInstanceSeed(_Seed):
    identifier: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$")
    engine: str = "postgres"
    engine_version: str = "16.3"
    instance_class: str = "db.t3.medium"
    allocated_storage_gb: int = 100
    storage_type: str = "gp3"
    # Storage autoscaling's ceiling; None: autoscaling off.
    max_allocated_storage_gb: int | None = None
    multi_az: bool = False
    status: str = "available"
    log_exports: list[str] = Field(default_factory=list)
    # The random part of the endpoint: `<identifier>.<endpoint_id>.<region>.rds.amazonaws.com`.
    endpoint_id: str = Field(default="c9akciq32abc", pattern=r"^[a-z0-9]{6,16}$")
    pending: dict[str, str] = Field(default_factory=dict)
    events: list[RdsEventSeed] = Field(default_factory=list)


class ClusterMemberSeed(_Seed):
    identifier: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$")
    instance_class: str = "db.r6g.large"
    writer: bool = False
    events: list[RdsEventSeed] = Field(default_factory=list)


class RdsClusterSeed(_Seed):
    identifier: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$")
    engine: Literal["aurora-postgresql", "aurora-mysql"] = "aurora-postgresql"
    engine_version: str = "15.4"
    endpoint_id: str = Field(default="c9akciq32abc", pattern=r"^[a-z0-9]{6,16}$")
    log_exports: list[str] = Field(default_factory=list)
    members: list[ClusterMemberSeed] = Field(default_factory=list)
    events: list[RdsEventSeed] = Field(default_factory=list)


class TargetSeed(_Seed):
    id: str  # an instance id, an IP address or a Lambda function's ARN
    port: int | None = None
    state: Literal["healthy", "unhealthy", "initial", "draining", "unavailable", "unused"] = "healthy"
    reason: str | None = None  # e.g. Target.ResponseCodeMismatch, Target.Timeout, Target.FailedHealthChecks
    description: str | None = None


class TargetGroupSeed(_Seed):
    name: str = Field(pattern=r"^[a-zA-Z0-9-]{1,32}$")
    id: str = Field(default="0123456789abcdef", pattern=r"^[0-9a-f]{16}$")
    protocol: str = "HTTP"
    port: int = 80
    target_type: Literal["instance", "ip", "lambda"] = "instance"
    health_check_path: str | None = "/"
    health_check_interval_seconds: int = 30
    unhealthy_threshold: int = 2
    matcher: str | None = "200"
    targets: list[TargetSeed] = Field(default_factory=list)


class ListenerSeed(_Seed):
    protocol: str = "HTTP"
    port: int = 80
    target_group: str  # the name of one of the load balancer's target groups


class LoadBalancerSeed(_Seed):
    name: str = Field(pattern=r"^[a-zA-Z0-9-]{1,32}$")
    id: str = Field(default="50dc6c495c0c9188", pattern=r"^[0-9a-f]{16}$")
    type: Literal["application", "network"] = "application"
    scheme: Literal["internet-facing", "internal"] = "internet-facing"
    listeners: list[ListenerSeed] = Field(default_factory=list)
    target_groups: list[TargetGroupSeed] = Field(default_factory=list)


class ScalingActivitySeed(_Seed):
    status: Literal["Successful", "Failed", "Cancelled", "InProgress"] = "Successful"
    description: str = "Launching a new EC2 instance"
    cause: str = ""
    status_message: str = ""
    minutes_ago: float = Field(ge=0)


class AutoScalingGroupSeed(_Seed):
    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,255}$")
    min_size: int = Field(default=1, ge=0)
    max_size: int = Field(default=4, ge=0)
    # How many instances run (moto launches them); `desired` may be higher: the launches that failed.
    running: int = Field(default=2, ge=0)
    desired: int | None = None
    instance_type: str = "t3.medium"
    image_id: str = "ami-0abcdef1234567890"
    instances_launched_minutes_ago: float = 3 * 24 * 60
    activities: list[ScalingActivitySeed] = Field(default_factory=list)


def seed_infrastructure(
    *,
    rds_instances: list[RdsInstanceSeed],
    rds_clusters: list[RdsClusterSeed],
    load_balancers: list[LoadBalancerSeed],
    auto_scaling_groups: list[AutoScalingGroupSeed],
    account_id: str,
    region: str,
    now: datetime,
) -> None:
    """Create the seeded databases, load balancers and groups in the active moto account.

    Raises:
        botocore.exceptions.ClientError: moto rejected a seed value.
    """
    for cluster in rds_clusters:
        _seed_cluster(cluster, account_id, region, now)
    for instance in rds_instances:
        _seed_instance(instance, account_id, region, now)
    if load_balancers:
        _seed_load_balancers(load_balancers, account_id, region)
    for group in auto_scaling_groups:
        _seed_group(group, account_id, region, now)


# --- RDS -------------------------------------------------------------------------------------------------------


def _rds_backend(account_id: str, region: str) -> Any:
    from moto.rds.models import rds_backends

    return rds_backends[account_id][region]


def _seed_instance(seed: RdsInstanceSeed, account_id: str, region: str, now: datetime) -> None:
    client = aws_client("rds", region)
    params: dict[str, Any] = {
        "DBInstanceIdentifier": seed.identifier,
        "Engine": seed.engine,
        "EngineVersion": seed.engine_version,
        "DBInstanceClass": seed.instance_class,
        "AllocatedStorage": seed.allocated_storage_gb,
        "StorageType": seed.storage_type,
        "MultiAZ": seed.multi_az,
        "MasterUsername": "app_admin",
        "MasterUserPassword": "simulated-password-1",
        "EnableCloudwatchLogsExports": seed.log_exports,
    }
    if seed.max_allocated_storage_gb is not None:
        params["MaxAllocatedStorage"] = seed.max_allocated_storage_gb
    client.create_db_instance(**params)
    database = _rds_backend(account_id, region).databases[seed.identifier]
    database.status = seed.status
    if seed.pending:
        database.pending_modified_values = dict(seed.pending)
    _set_address(database, f"{seed.identifier}.{seed.endpoint_id}.{region}.rds.amazonaws.com")
    _set_events(account_id, region, seed.identifier, "db-instance", database.arn, seed.events, now)


def _set_address(database: Any, address: str) -> None:
    """moto's endpoint host is a read-only property: give this one instance a subclass that answers `address`."""
    base = type(database)
    database.__class__ = type(f"Seeded{base.__name__}", (base,), {"address": property(lambda self: address)})


def _seed_cluster(seed: RdsClusterSeed, account_id: str, region: str, now: datetime) -> None:
    client = aws_client("rds", region)
    client.create_db_cluster(
        DBClusterIdentifier=seed.identifier,
        Engine=seed.engine,
        EngineVersion=seed.engine_version,
        MasterUsername="app_admin",
        MasterUserPassword="simulated-password-1",
        EnableCloudwatchLogsExports=seed.log_exports,
    )
    backend = _rds_backend(account_id, region)
    cluster = backend.clusters[seed.identifier]
    cluster.url_identifier = seed.endpoint_id
    # The writer first: Aurora makes the first instance created in a cluster its writer.
    for member in sorted(seed.members, key=lambda m: not m.writer):
        client.create_db_instance(
            DBInstanceIdentifier=member.identifier,
            DBClusterIdentifier=seed.identifier,
            Engine=seed.engine,
            DBInstanceClass=member.instance_class,
        )
        instance = backend.databases[member.identifier]
        _set_events(account_id, region, member.identifier, "db-instance", instance.arn, member.events, now)
    _set_events(account_id, region, seed.identifier, "db-cluster", cluster.arn, seed.events, now)


def _set_events(
    account_id: str,
    region: str,
    identifier: str,
    source_type: str,
    arn: str,
    events: list[RdsEventSeed],
    now: datetime,
) -> None:
    """Replace the events moto recorded for the source (stamped with the seeding moment) with the scenario's."""
    from moto.rds.models import Event

    backend = _rds_backend(account_id, region)
    backend.events = [e for e in backend.events if e.source_identifier != identifier]
    for seed in events:
        event = Event.__new__(Event)
        event.source_identifier = identifier
        event.source_type = source_type
        event.message = seed.message
        event.event_categories = list(seed.categories)
        event.source_arn = arn
        event.date = (now - timedelta(minutes=seed.minutes_ago)).astimezone(UTC).replace(tzinfo=None)
        backend.events.append(event)
    _install_event_window_filter()


def _install_event_window_filter() -> None:
    """moto's DescribeEvents ignores StartTime and EndTime: filter by them as RDS does (idempotent patch on moto's
    backend class, a no-op for requests without a window)."""
    from moto.rds.models import RDSBackend

    if getattr(RDSBackend.describe_events, "_windowed", False):
        return
    unwindowed = RDSBackend.describe_events

    def describe_events(self: Any, source_identifier: Any = None, source_type: Any = None, **kwargs: Any) -> Any:
        events = unwindowed(self, source_identifier=source_identifier, source_type=source_type, **kwargs)
        start, end = kwargs.get("start_time"), kwargs.get("end_time")

        def naive(value: Any) -> datetime | None:
            if value is None:
                return None
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment

        first, last = naive(start), naive(end)
        return [
            e for e in events if (first is None or _naive(e.date) >= first) and (last is None or _naive(e.date) <= last)
        ]

    describe_events._windowed = True  # type: ignore[attr-defined]
    RDSBackend.describe_events = describe_events  # type: ignore[method-assign]


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


# --- Load balancers --------------------------------------------------------------------------------------------


def _seed_load_balancers(balancers: list[LoadBalancerSeed], account_id: str, region: str) -> None:
    from moto.elbv2.models import elbv2_backends
    from moto.moto_api._internal import mock_random

    ec2 = aws_client("ec2", region)
    elbv2 = aws_client("elbv2", region)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    backend = elbv2_backends[account_id][region]
    for seed in balancers:
        # moto draws the ARN's ID at random; the alarm's dimension names it, so pin it for this call only.
        with mock.patch.object(mock_random, "get_random_hex", return_value=seed.id):
            balancer_arn = elbv2.create_load_balancer(
                Name=seed.name, Subnets=subnets, Scheme=seed.scheme, Type=seed.type
            )["LoadBalancers"][0]["LoadBalancerArn"]
        groups: dict[str, str] = {}
        for group in seed.target_groups:
            params: dict[str, Any] = {
                "Name": group.name,
                "TargetType": group.target_type,
                "HealthCheckIntervalSeconds": group.health_check_interval_seconds,
                "UnhealthyThresholdCount": group.unhealthy_threshold,
            }
            if group.target_type != "lambda":  # a Lambda target group has no protocol, port or VPC
                params.update(Protocol=group.protocol, Port=group.port, VpcId=vpc)
            if group.health_check_path:
                params["HealthCheckPath"] = group.health_check_path
            if group.matcher and group.protocol.startswith("HTTP"):
                params["Matcher"] = {"HttpCode": group.matcher}
            with mock.patch.object(mock_random, "get_random_hex", return_value=group.id):
                group_arn = elbv2.create_target_group(**params)["TargetGroups"][0]["TargetGroupArn"]
            groups[group.name] = group_arn
            if group.targets:
                elbv2.register_targets(
                    TargetGroupArn=group_arn,
                    Targets=[{"Id": t.id, **({"Port": t.port} if t.port else {})} for t in group.targets],
                )
                _set_target_health(backend.target_groups[group_arn], group.targets)
        for listener in seed.listeners:
            elbv2.create_listener(
                LoadBalancerArn=balancer_arn,
                Protocol=listener.protocol,
                Port=listener.port,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[listener.target_group]}],
            )


def _set_target_health(group: Any, targets: list[TargetSeed]) -> None:
    """moto reports every registered running target healthy: give this target group a subclass whose health
    answers are the scenario's."""
    from moto.elbv2.models import FakeHealthStatus

    by_id = {t.id: t for t in targets}
    base = type(group)

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        seeded = by_id.get(target["Id"])
        if seeded is None:
            return base.health_for(self, target, ec2_backend)
        # A Lambda target has no port: None, which moto then leaves out of the answer as AWS does.
        port = target.get("Port") or seeded.port or self.port
        return FakeHealthStatus(
            seeded.id,
            port,  # type: ignore[arg-type]  # moto annotates str; it serialises an int or None as AWS does
            self.health_check_port,
            seeded.state,
            seeded.reason,
            seeded.description,
        )

    group.__class__ = type(f"Seeded{base.__name__}", (base,), {"health_for": health_for})


# --- Auto Scaling ----------------------------------------------------------------------------------------------


def _seed_group(seed: AutoScalingGroupSeed, account_id: str, region: str, now: datetime) -> None:
    from moto.autoscaling.models import autoscaling_backends

    ec2 = aws_client("ec2", region)
    client = aws_client("autoscaling", region)
    template = f"{seed.name}-template"
    ec2.create_launch_template(
        LaunchTemplateName=template,
        LaunchTemplateData={"ImageId": seed.image_id, "InstanceType": seed.instance_type},
    )
    zones = [f"{region}a", f"{region}b"]
    client.create_auto_scaling_group(
        AutoScalingGroupName=seed.name,
        LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
        MinSize=min(seed.min_size, seed.running),
        MaxSize=seed.max_size,
        DesiredCapacity=seed.running,
        AvailabilityZones=zones,
    )
    backend = autoscaling_backends[account_id][region]
    group = backend.autoscaling_groups[seed.name]
    # Set on the model, not through the API: moto would launch the instances that, in the scenario, fail to.
    group.min_size = seed.min_size
    from moto.ec2.models import ec2_backends

    launched = (now - timedelta(minutes=seed.instances_launched_minutes_ago)).astimezone(UTC).replace(tzinfo=None)
    for state in group.instance_states:
        ec2_backends[account_id][region].get_instance(state.instance.id).launch_time = launched
    if seed.desired is not None:
        group.desired_capacity = seed.desired
    activities = [
        {
            "ActivityId": f"seeded-{seed.name}-{i}",
            "AutoScalingGroupName": seed.name,
            "Description": a.description,
            "Cause": a.cause,
            "StartTime": now - timedelta(minutes=a.minutes_ago),
            "StatusCode": a.status,
            "StatusMessage": a.status_message,
            "Progress": 100,
        }
        for i, a in enumerate(sorted(seed.activities, key=lambda a: a.minutes_ago))
    ]
    seeded: dict[str, list[dict[str, Any]]] = getattr(backend, "seeded_scaling_activities", {})
    seeded[seed.name] = activities
    setattr(backend, "seeded_scaling_activities", seeded)  # noqa: B010 (an attribute moto's model does not declare)
    _install_scaling_activities()


def _install_scaling_activities() -> None:
    """moto's DescribeScalingActivities always answers []: answer the seeded activities of the group asked about
    (idempotent patch; a backend with none seeded still answers [])."""
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    if getattr(AutoScalingResponse.describe_scaling_activities, "_seeded", False):
        return

    def describe_scaling_activities(self: Any) -> Any:
        name = self._get_param("AutoScalingGroupName")
        limit = int(self._get_param("MaxRecords") or 100)
        seeded = getattr(self.autoscaling_backend, "seeded_scaling_activities", {})
        found = [a for group, items in seeded.items() if name in (None, group) for a in items]
        return ActionResult({"Activities": found[:limit]})

    describe_scaling_activities._seeded = True  # type: ignore[attr-defined]
    AutoScalingResponse.describe_scaling_activities = describe_scaling_activities  # type: ignore[method-assign]
