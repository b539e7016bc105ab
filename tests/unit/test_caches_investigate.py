"""ElastiCache investigation: the interpreter reads the node's numbers (memory and evictions, items and writes
against a week before, engine vs host CPU and the command mix, connections, replication), the investigator reads the
node, its replication group, its parameter group and its events, and the rule names which limit the cache is at,
each cause with its own next steps and read-only commands. The numbers here are not the built-in scenarios'."""

from __future__ import annotations

from datetime import timedelta

from functions.analyze.rules import analyze_with_rules
from functions.shared.adapters.caches import (
    CacheClusterInfo,
    CacheEvent,
    CacheParameters,
    ReplicationGroupInfo,
    ReplicationGroupMember,
)
from functions.shared.errors import AwsReadDeniedError
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.caches import cache_verdict, command_mover, elasticache_evidence
from functions.shared.investigate.flow import FlowWindow, flow_window
from functions.shared.investigate.target import Target, implicated_target
from functions.shared.models import ContextSection, GatheredContext, ResourceRef
from functions.shared.registry import resource_console_link
from tests.support.gather_fakes import NOW, FakeCloudWatch, alarm_alert

WEEK_MINUTES = 7 * 24 * 60
NODE = "carts-redis-002"
GROUP = "carts-redis"


class FakeElastiCache:
    def __init__(
        self,
        *,
        engine: str = "redis",
        policy: str | None = "volatile-lru",
        maxclients: int | None = None,
        events: list[CacheEvent] | None = None,
        parameters_denied: bool = False,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.maxclients = maxclients
        self.event_log = events or []
        self.parameters_denied = parameters_denied

    def cache_cluster(self, cluster_id: str) -> CacheClusterInfo | None:
        if cluster_id not in (NODE, "carts-redis-001"):
            return None
        return CacheClusterInfo(
            cluster_id=cluster_id,
            engine=self.engine,
            engine_version="7.1",
            node_type="cache.m7g.xlarge",
            status="available",
            node_count=1,
            replication_group_id=GROUP,
            parameter_group="carts-params",
            node_ids=["0001"],
        )

    def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
        if group_id != GROUP:
            return None
        return ReplicationGroupInfo(
            group_id=GROUP,
            status="available",
            automatic_failover="enabled",
            members=[
                ReplicationGroupMember(cluster_id="carts-redis-001", role="replica"),
                ReplicationGroupMember(cluster_id=NODE, role="primary"),
            ],
            member_clusters=["carts-redis-001", NODE],
        )

    def parameters(self, group: str) -> CacheParameters | None:
        if self.parameters_denied:
            raise AwsReadDeniedError("elasticache:DescribeCacheParameters", "denied")
        if self.policy is None and self.maxclients is None:
            return None
        return CacheParameters(group=group, maxmemory_policy=self.policy, max_connections=self.maxclients)

    def events(self, source_ids: list[str], *, start: object, end: object) -> list[CacheEvent] | None:
        return [e for e in self.event_log if e.source in source_ids]


def series(before: float, recent: list[float], *, week: float | None = None) -> list[tuple[float, float]]:
    """27 points at `before`, then `recent` (newest last, every 5 minutes up to NOW); `week`: 36 points a week
    earlier."""
    values = [before] * 27 + recent
    points = [((len(values) - 1 - i) * 5.0, v) for i, v in enumerate(values)]
    if week is not None:
        points += [(WEEK_MINUTES + m * 5.0, week) for m in range(36)]
    return points


def window(metric: str, before: float, recent: list[float], *, count: bool = False) -> FlowWindow:
    from functions.shared.adapters.cloudwatch import MetricSeries

    stamped = sorted((NOW - timedelta(minutes=m), v) for m, v in series(before, recent))
    return flow_window(
        metric,
        MetricSeries(id="x", stat="Sum", timestamps=[t for t, _ in stamped], values=[v for _, v in stamped]),
        NOW,
        missing_is_zero=count,
    )


def investigate(reader: FakeElastiCache, metrics: dict[str, list[tuple[float, float]]], name: str = NODE) -> Evidence:
    target = Target.of("elasticache_cluster", name, "eu-west-1")
    return elasticache_evidence(reader, FakeCloudWatch(series=metrics), target, now=NOW)  # type: ignore[arg-type]


def analyse(evidence: Evidence, metric: str, dimensions: dict[str, str] | None = None):
    alert = alarm_alert(metric, "AWS/ElastiCache", dimensions or {"CacheClusterId": NODE}, threshold=80)
    context = GatheredContext(compute=ContextSection(name="compute", status="ok", facts=evidence.facts))
    return analyze_with_rules(alert, context, now=NOW)


def keys(evidence: Evidence) -> set[str]:
    return {fact.key for fact in evidence.facts}


# --- The interpreter -------------------------------------------------------------------------------------------


def test_items_growing_while_writes_stay_flat_is_key_growth_not_traffic():
    verdict = cache_verdict(
        {
            "DatabaseMemoryUsagePercentage": window("DatabaseMemoryUsagePercentage", 78, [88, 91, 93]),
            "CurrItems": window("CurrItems", 880_000, [900_000] * 3),
        },
        week_before={"CurrItems": window("CurrItems", 400_000, [400_000] * 3)},
        commands={"SetTypeCmds": window("SetTypeCmds", 52_000, [51_000] * 3, count=True)},
        # flat writes against a week before
    )
    assert verdict.memory_full and verdict.items_grew
    assert not verdict.writes_rose  # no week-before writes: not a rise either


def test_writes_that_rose_against_a_week_before_are_a_write_rise():
    verdict = cache_verdict(
        {"CurrItems": window("CurrItems", 700_000, [800_000] * 3)},
        week_before={
            "CurrItems": window("CurrItems", 450_000, [450_000] * 3),
            "SetTypeCmds": window("SetTypeCmds", 20_000, [20_000] * 3),
        },
        commands={"SetTypeCmds": window("SetTypeCmds", 45_000, [46_000] * 3, count=True)},
    )
    assert verdict.items_grew and verdict.writes_rose


def test_evictions_alone_say_memory_is_full_and_a_trickle_does_not():
    rising = cache_verdict({"Evictions": window("Evictions", 0, [300, 900, 1500], count=True)})
    trickle = cache_verdict({"Evictions": window("Evictions", 20, [30, 40, 35], count=True)})
    assert rising.memory_full
    assert not trickle.memory_full


def test_a_busy_cache_under_its_limits_names_no_pressure():
    verdict = cache_verdict(
        {
            "DatabaseMemoryUsagePercentage": window("DatabaseMemoryUsagePercentage", 60, [72, 74, 75]),
            "EngineCPUUtilization": window("EngineCPUUtilization", 40, [70, 75, 78]),
            "CurrConnections": window("CurrConnections", 9_000, [11_000] * 3),
            "NewConnections": window("NewConnections", 800, [900] * 3, count=True),
            "ReplicationLag": window("ReplicationLag", 0.2, [0.4, 0.3, 0.5]),
        }
    )
    assert not verdict.memory_full and not verdict.engine_saturated
    assert not verdict.connections_near_limit and not verdict.connection_churn and not verdict.replica_lagging


def test_the_command_family_that_moved_most_against_a_week_before_is_named():
    recent = {
        "GetTypeCmds": window("GetTypeCmds", 300_000, [310_000] * 4, count=True),
        "KeyBasedCmds": window("KeyBasedCmds", 5_000, [42_000] * 4, count=True),
        "HashBasedCmds": window("HashBasedCmds", 30_000, [70_000] * 4, count=True),
    }
    week = {
        "GetTypeCmds": window("GetTypeCmds", 300_000, [300_000] * 3),
        "KeyBasedCmds": window("KeyBasedCmds", 6_000, [6_000] * 3),
        "HashBasedCmds": window("HashBasedCmds", 30_000, [30_000] * 3),
    }
    mover = command_mover(recent, week)
    assert mover is not None and mover.metric == "KeyBasedCmds" and round(mover.factor) == 7


def test_a_tiny_command_family_that_multiplies_moves_nothing():
    recent = {
        "GetTypeCmds": window("GetTypeCmds", 500_000, [500_000] * 3, count=True),
        "ListBasedCmds": window("ListBasedCmds", 40, [400] * 3, count=True),
    }
    week = {
        "GetTypeCmds": window("GetTypeCmds", 480_000, [480_000] * 3),
        "ListBasedCmds": window("ListBasedCmds", 40, [40] * 3),
    }
    assert command_mover(recent, week) is None


def test_connections_are_judged_against_the_parameter_groups_limit():
    flow = {"CurrConnections": window("CurrConnections", 6_000, [8_200, 8_700, 9_100])}
    assert cache_verdict(flow, max_connections=10_000).connections_near_limit
    assert not cache_verdict(flow).connections_near_limit  # against the 65,000 default


# --- The investigator ------------------------------------------------------------------------------------------


def memory_metrics(*, writes_week: float) -> dict[str, list[tuple[float, float]]]:
    return {
        "DatabaseMemoryUsagePercentage": series(81, [90, 92, 94, 95]),
        "Evictions": series(0, [150, 700, 1_300, 2_000]),
        "CurrItems": series(3_300_000, [3_400_000] * 4, week=1_500_000),
        "BytesUsedForCache": series(9.1e9, [9.3e9] * 4, week=4.0e9),
        "SetTypeCmds": series(75_000, [76_000] * 4, week=writes_week),
        "EngineCPUUtilization": series(22, [24] * 4),
        "CPUUtilization": series(7, [8] * 4),
    }


def test_memory_full_with_items_up_and_writes_flat_is_named_key_growth_with_ttl_steps():
    evidence = investigate(FakeElastiCache(policy="volatile-lru"), memory_metrics(writes_week=74_000))
    assert {"compute.cache_memory_pressure", "compute.cache_key_growth", "compute.cache_config"} <= keys(evidence)
    assert "compute.cache_engine_cpu" not in keys(evidence)
    analysis = analyse(evidence, "DatabaseMemoryUsagePercentage")
    assert NODE in analysis.root_cause and "TTL" in analysis.root_cause
    assert "volatile-lru evicts only keys that have a TTL" in analysis.root_cause
    assert any("TTL" in step for step in analysis.recommendations)
    assert any("describe-cache-parameters --cache-parameter-group-name carts-params" in c for c in analysis.diagnostics)
    assert any(f"describe-replication-groups --replication-group-id {GROUP}" in c for c in analysis.diagnostics)


def test_memory_full_with_writes_up_is_named_a_write_rise_not_a_leak():
    evidence = investigate(FakeElastiCache(policy="noeviction"), memory_metrics(writes_week=30_000))
    assert "compute.cache_write_rise" in keys(evidence) and "compute.cache_key_growth" not in keys(evidence)
    analysis = analyse(evidence, "Evictions")
    assert "more is written" in analysis.root_cause and "not expiring" not in analysis.root_cause
    assert "writes now fail with OOM errors" in analysis.root_cause


def test_a_policy_that_cannot_be_read_is_said_so():
    evidence = investigate(FakeElastiCache(policy=None), memory_metrics(writes_week=74_000))
    policy = next(f for f in evidence.facts if f.key == "compute.cache_policy")
    assert policy.value == "not read" and "maxmemory-policy not read" in policy.text
    assert "maxmemory-policy was not read" in analyse(evidence, "DatabaseMemoryUsagePercentage").root_cause


def test_a_denied_parameter_read_is_a_missing_permission_not_a_failure():
    evidence = investigate(FakeElastiCache(parameters_denied=True), memory_metrics(writes_week=74_000))
    assert evidence.missing_permissions == ["elasticache:DescribeCacheParameters"]
    assert "compute.cache_memory_pressure" in keys(evidence)


def cpu_metrics() -> dict[str, list[tuple[float, float]]]:
    return {
        "EngineCPUUtilization": series(45, [80, 91, 93, 92]),
        "CPUUtilization": series(14, [19] * 4),
        "DatabaseMemoryUsagePercentage": series(55, [55] * 4),
        "KeyBasedCmds": series(4_000, [36_000] * 4, week=4_500),
        "GetTypeCmds": series(210_000, [215_000] * 4, week=205_000),
    }


def test_engine_cpu_with_a_command_family_up_is_named_with_the_family():
    evidence = investigate(FakeElastiCache(), cpu_metrics())
    assert {"compute.cache_engine_cpu", "compute.cache_command_mover"} <= keys(evidence)
    engine = next(f for f in evidence.facts if f.key == "compute.cache_engine_cpu")
    assert engine.numbers is not None and engine.numbers.value == 93 and engine.numbers.latest == 19
    analysis = analyse(evidence, "EngineCPUUtilization")
    assert "engine thread" in analysis.root_cause and "KeyBasedCmds" in analysis.root_cause
    assert "memory" not in analysis.root_cause.lower().split("engine thread")[0]


def test_the_alarmed_limit_is_explained_first():
    metrics = {**memory_metrics(writes_week=74_000), **cpu_metrics()}
    metrics["DatabaseMemoryUsagePercentage"] = series(81, [90, 92, 94, 95])
    evidence = investigate(FakeElastiCache(), metrics)
    assert "engine thread" in analyse(evidence, "EngineCPUUtilization").root_cause
    assert "out of memory" in analyse(evidence, "DatabaseMemoryUsagePercentage").root_cause


def test_connection_churn_names_pooling():
    evidence = investigate(
        FakeElastiCache(maxclients=20_000),
        {"CurrConnections": series(3_000, [4_000] * 4), "NewConnections": series(300, [9_000, 12_000, 11_000, 10_000])},
    )
    assert "compute.cache_connections" in keys(evidence)
    analysis = analyse(evidence, "NewConnections")
    assert "new connections" in analysis.root_cause and any("Pool" in s for s in analysis.recommendations)


def test_a_replica_lag_and_a_failover_event_name_replication():
    failover = CacheEvent(
        source=GROUP, source_type="replication-group", message="Failover to replica node carts-redis-002 completed"
    )
    evidence = investigate(
        FakeElastiCache(events=[failover]), {"ReplicationLag": series(0.1, [2, 9, 14, 16])}, name="carts-redis-001"
    )
    assert {"compute.cache_replication_lag", "compute.cache_failover"} <= keys(evidence)
    analysis = analyse(evidence, "ReplicationLag", {"CacheClusterId": "carts-redis-001"})
    assert "Replication" in analysis.root_cause and "Failover" in analysis.root_cause
    assert analysis.confidence == "high"


def test_a_healthy_busy_cache_gets_a_note_and_no_cache_cause():
    evidence = investigate(
        FakeElastiCache(),
        {
            "DatabaseMemoryUsagePercentage": series(62, [70, 71, 72, 73]),
            "EngineCPUUtilization": series(35, [60, 66, 64, 65]),
            "CurrConnections": series(8_000, [9_000] * 4),
        },
    )
    causes = {k for k in keys(evidence) if k not in ("compute.cache_config", "compute.cache_policy")}
    assert not {k for k in causes if k.startswith("compute.cache_")}
    assert any("under its limits" in note for note in evidence.notes)
    assert "out of memory" not in analyse(evidence, "EngineCPUUtilization").root_cause


def test_a_replication_group_alarm_reads_its_primary():
    reader = FakeElastiCache()
    target = Target.of("elasticache_replication_group", GROUP, "eu-west-1")
    cloudwatch = FakeCloudWatch(series={f"EngineCPUUtilization:{NODE}": series(45, [90, 94, 95, 96])})
    evidence = elasticache_evidence(reader, cloudwatch, target, now=NOW)  # type: ignore[arg-type]
    config = next(f for f in evidence.facts if f.key == "compute.cache_config")
    assert config.subject == NODE and "primary of replication group carts-redis" in config.text
    assert "compute.cache_engine_cpu" in keys(evidence)


def test_no_such_cache_is_a_note():
    evidence = investigate(FakeElastiCache(), {}, name="nope-001")
    assert not evidence.facts and "No ElastiCache cache cluster named nope-001" in evidence.notes[0]


# --- Registry, target, commands ----------------------------------------------------------------------------------


def test_an_alarm_on_a_node_names_the_cluster_with_its_node_id():
    alert = alarm_alert("Evictions", "AWS/ElastiCache", {"CacheClusterId": NODE, "CacheNodeId": "0001"})
    target = implicated_target(alert)
    assert target is not None and target.kind == "elasticache_cluster" and target.name == NODE
    assert target.dimensions == {"CacheClusterId": NODE, "CacheNodeId": "0001"}


def test_the_console_link_names_the_cache():
    resource = ResourceRef(type="AWS::ElastiCache::ReplicationGroup", name=GROUP)
    label, url = resource_console_link(resource, "eu-west-1") or ("", "")
    assert label == "ElastiCache replication group" and url.endswith(f"#/redis/{GROUP}") and "eu-west-1" in url


def test_a_cache_id_that_is_not_an_id_yields_no_command():
    alert = alarm_alert("Evictions", "AWS/ElastiCache", {"CacheClusterId": "x; rm -rf /"})
    context = GatheredContext(compute=ContextSection(name="compute", status="ok", facts=[]))
    analysis = analyze_with_rules(alert, context, now=NOW)
    assert not any("elasticache" in c for c in analysis.diagnostics)


def test_an_elasticache_alarm_parses_into_the_node_with_its_arn():
    from functions.shared.sources.cloudwatch import parse_cloudwatch_alarm

    payload = {
        "AlarmName": "carts-evictions",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": "2026-11-25T18:55:00.000+0000",
        "Region": "EU (Ireland)",
        "AWSAccountId": "123456789012",
        "Trigger": {
            "MetricName": "Evictions",
            "Namespace": "AWS/ElastiCache",
            "Statistic": "SUM",
            "Dimensions": [{"name": "CacheClusterId", "value": NODE}, {"name": "CacheNodeId", "value": "0001"}],
            "Period": 300,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 1000.0,
        },
    }
    alert = parse_cloudwatch_alarm(payload, None)
    assert alert is not None and alert.resource is not None
    assert alert.resource.type == "AWS::ElastiCache::CacheCluster" and alert.resource.name == NODE
    assert alert.resource.arn == f"arn:aws:elasticache:eu-west-1:123456789012:cluster:{NODE}"
    label, _ = resource_console_link(alert.resource, "eu-west-1") or ("", "")
    assert label == "ElastiCache cluster"
