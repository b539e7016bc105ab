"""ElastiCache (Redis OSS, Valkey, Memcached): which of a cache's limits it is at, why, and a cache's commands.

The interpreter (`functions.shared.investigate.caches`) writes one fact per limit with its numbers: memory
(`compute.cache_memory_pressure`, with what filled it against a week before: `compute.cache_key_growth` or
`compute.cache_write_rise`), engine CPU (`compute.cache_engine_cpu`, with `compute.cache_command_mover`),
connections (`compute.cache_connections`) and replication (`compute.cache_replication_lag`,
`compute.cache_failover`). The detector explains the limit the alarm watches first, then the others in that order;
each cause has its own next steps, because the fixes differ: TTLs for a key leak, a bigger node for real growth,
the script or caller for hot commands, pooling for connection churn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from functions.analyze.rules.commands import alert_target, in_region
from functions.analyze.rules.facts import (
    Facts,
    Finding,
    alarm_details,
    alert_region,
    as_clause,
    text_after_colon,
    with_facts,
)
from functions.shared.aws_commands import BuiltCommand, ValueKind, build_command, flag, kind_problem, opt
from functions.shared.models import Alert, Fact

NAMESPACE = "AWS/ElastiCache"
# The alarm's metric decides which limit is explained first.
MEMORY_METRICS = frozenset(
    {
        "DatabaseMemoryUsagePercentage",
        "DatabaseMemoryUsageCountedForEvictPercentage",
        "Evictions",
        "BytesUsedForCache",
        "CurrItems",
        "FreeableMemory",
        "SwapUsage",
    }
)
CPU_METRICS = frozenset({"EngineCPUUtilization", "CPUUtilization"})
CONNECTION_METRICS = frozenset({"CurrConnections", "NewConnections"})
REPLICATION_METRICS = frozenset({"ReplicationLag", "ReplicationBytes", "IsMaster"})
# Only the parameters the answer turns on, out of the group's hundred or so.
PARAMETERS_QUERY = (
    'Parameters[?contains(`["maxmemory-policy", "maxclients"]`, ParameterName)].[ParameterName, ParameterValue]'
)
# How far back `describe-events` looks, in minutes.
EVENTS_MINUTES = 360
# A cache id: letters, digits and hyphens (ElastiCache allows at most 40; a node's own id, "0001", is digits).
_CACHE_ID_MAX = 50
# The policies that evict only keys that have a TTL: with keys written without one, nothing can be evicted.
VOLATILE_POLICIES = frozenset({"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"})


def _valid_id(value: str | None) -> str | None:
    if not value or len(value) > _CACHE_ID_MAX or kind_problem(value, ValueKind.WORD):
        return None
    return value


def _cluster_commands(alert: Alert, cluster: str, group: str | None = None) -> list[BuiltCommand]:
    """The node (type, engine, parameter group), its replication group, and the events of the last hours."""
    commands = [
        in_region(
            alert,
            "elasticache",
            "describe-cache-clusters",
            opt("--cache-cluster-id", cluster),
            flag("--show-cache-node-info"),
        )
    ]
    if group:
        commands.append(_group_command(alert, group))
    commands.append(_events_command(alert, group or cluster, "replication-group" if group else "cache-cluster"))
    return commands


def _group_command(alert: Alert, group: str) -> BuiltCommand:
    return in_region(alert, "elasticache", "describe-replication-groups", opt("--replication-group-id", group))


def _events_command(alert: Alert, source: str, source_type: str) -> BuiltCommand:
    return in_region(
        alert,
        "elasticache",
        "describe-events",
        opt("--source-identifier", source),
        opt("--source-type", source_type),
        opt("--duration", EVENTS_MINUTES, ValueKind.INTEGER),
    )


def _parameters_command(alert: Alert, group: str) -> BuiltCommand:
    return build_command(
        "elasticache",
        "describe-cache-parameters",
        opt("--cache-parameter-group-name", group),
        region=alert_region(alert),
        query=PARAMETERS_QUERY,
    )


def _own(facts: Facts, key: str) -> Fact | None:
    """The cache's own fact (not a neighbour's, reached by the graph walk)."""
    fact = facts.get(key)
    return fact if fact is not None and fact.via is None else None


def _policy(facts: Facts) -> tuple[str | None, str | None]:
    """(maxmemory-policy or None when not read, the parameter group)."""
    fact = _own(facts, "compute.cache_policy")
    if fact is None:
        return None, None
    value = str(fact.value) if fact.value and fact.value != "not read" else None
    return value, fact.subject


def _names(alert: Alert, facts: Facts) -> tuple[str, str | None]:
    config = _own(facts, "compute.cache_config")
    cluster = (config.subject if config is not None else None) or alert_target(alert, "elasticache_cluster")
    group = alert_target(alert, "elasticache_replication_group")
    if group is None and config is not None and config.value:
        group = str(config.value)  # the replication group the node belongs to
    return cluster or alert_target(alert, "elasticache_replication_group") or "the cache", _valid_id(group)


def _with_parameters(alert: Alert, facts: Facts, commands: list[BuiltCommand]) -> list[BuiltCommand]:
    _, parameter_group = _policy(facts)
    if _valid_id(parameter_group):
        commands.append(_parameters_command(alert, str(parameter_group)))
    return commands


def _commands(alert: Alert, facts: Facts) -> list[BuiltCommand]:
    cluster, group = _names(alert, facts)
    valid = _valid_id(cluster)
    commands = _cluster_commands(alert, valid, group) if valid else []
    return _with_parameters(alert, facts, commands)


def _memory(alert: Alert, facts: Facts) -> Finding | None:
    pressure = _own(facts, "compute.cache_memory_pressure")
    if pressure is None:
        return None
    cluster, _ = _names(alert, facts)
    policy, _group = _policy(facts)
    growth = _own(facts, "compute.cache_key_growth")
    writes = _own(facts, "compute.cache_write_rise")
    lead = f"ElastiCache {cluster} is out of memory: {text_after_colon(pressure)}"
    if policy == "noeviction":
        lead += "; with noeviction, writes now fail with OOM errors instead of evicting keys"
    elif policy in VOLATILE_POLICIES:
        lead += f"; {policy} evicts only keys that have a TTL, so keys written without one are never evicted"
    elif policy is not None and policy.startswith("allkeys-"):
        lead += f"; with {policy}, live keys are evicted to make room, so callers miss data they just wrote"
    elif policy is None:
        lead += " (the maxmemory-policy was not read, so whether writes fail or keys are evicted is not known)"
    keys = ["compute.cache_memory_pressure", "compute.cache_config", "compute.cache_policy"]
    steps_policy = (
        "Until memory is back under control, a policy that evicts (allkeys-lru or allkeys-lfu) keeps writes "
        "working; noeviction makes every write fail with OOM once memory is full."
    )
    if growth is not None:
        sentence = f"{lead}; more keys are kept than a week before while writes did not grow, so keys are not "
        sentence += f"expiring (a key leak or keys written without a TTL): {text_after_colon(growth)}"
        sentence = with_facts(sentence, facts, ("compute.recent_change",))
        recommendations = [
            "Find the keys that grow: sample key names by prefix (SCAN with a pattern, MEMORY USAGE, TTL on a few of "
            "them) on a replica; keys with TTL -1 are the ones that never expire.",
            "Find the release that stopped setting TTLs (or started writing a new key family) and restore the TTL; "
            "expire or delete the keys it left behind in batches, not with one blocking command.",
            steps_policy,
            "Scale up or add shards only for real growth: a leak fills any node size.",
        ]
        return Finding(
            root_cause=sentence + ".",
            confidence="high",
            evidence_keys=[*keys, "compute.cache_key_growth", "compute.recent_change"],
            recommendations=recommendations,
            diagnostics=_commands(alert, facts),
        )
    if writes is not None:
        sentence = f"{lead}; more is written than a week before: {text_after_colon(writes)}"
        sentence = with_facts(sentence, facts, ("compute.recent_change",))
        return Finding(
            root_cause=sentence + ".",
            confidence="high",
            evidence_keys=[*keys, "compute.cache_write_rise", "compute.recent_change"],
            recommendations=[
                "Find the caller whose writes rose (a deploy, a backfill, a new feature caching more) and whether "
                "the level is the new normal.",
                "If it is: scale up to a node type with more memory, or add shards (cluster mode), before sizing "
                "TTLs down.",
                steps_policy,
            ],
            diagnostics=_commands(alert, facts),
        )
    usage = _own(facts, "compute.cache_usage")
    sentence = f"{lead}; neither the items nor the writes grew against a week before"
    if usage is not None:
        sentence += f" ({text_after_colon(usage)})"
    sentence += ": look for larger values (a few big keys) or memory fragmentation"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=[*keys, "compute.cache_usage"],
        recommendations=[
            "Look for big keys (redis-cli --bigkeys on a replica) and at MemoryFragmentationRatio: values that "
            "grew fill memory without more items.",
            steps_policy,
            "Scale up to a node type with more memory if the data set itself grew.",
        ],
        diagnostics=_commands(alert, facts),
    )


def _engine_cpu(alert: Alert, facts: Facts) -> Finding | None:
    cpu = _own(facts, "compute.cache_engine_cpu")
    if cpu is None:
        return None
    cluster, _ = _names(alert, facts)
    mover = _own(facts, "compute.cache_command_mover")
    sentence = f"The engine thread of ElastiCache {cluster} is saturated: {text_after_colon(cpu)}"
    keys = ["compute.cache_engine_cpu", "compute.cache_command_mover", "compute.cache_config"]
    if mover is not None:
        sentence += f"; the command mix moved: {text_after_colon(mover)}"
        sentence = with_facts(sentence, facts, ("compute.recent_change",))
        family = str(mover.value)
        recommendations = [
            f"Find the caller behind the extra {family} (SLOWLOG GET and the client's deploys): a command family "
            "that rose this much against last week is a code path, not organic traffic.",
            "Fix the calls (cache the script's result, batch, replace KEYS with SCAN, keep Lua scripts short); "
            "every command waits behind the slow ones on the one engine thread.",
            "Meanwhile move reads to replicas (reader endpoint) or add shards; a node type with more vCPUs does "
            "not add engine threads.",
        ]
        return Finding(
            root_cause=sentence + ".",
            confidence="high",
            evidence_keys=[*keys, "compute.recent_change"],
            recommendations=recommendations,
            diagnostics=_commands(alert, facts),
        )
    sentence += "; no command family rose against a week before, so the cost per command did"
    return Finding(
        root_cause=sentence + " (larger values, slow commands on big keys, or more traffic of the same mix).",
        confidence="medium",
        evidence_keys=keys,
        recommendations=[
            "Read SLOWLOG GET on the node: slow commands on big keys (HGETALL, SMEMBERS, LRANGE 0 -1, SORT) cost "
            "the engine thread without more calls.",
            "Spread the load: reads to replicas, or more shards; a larger node type only helps with a faster CPU.",
        ],
        diagnostics=_commands(alert, facts),
    )


def _connections(alert: Alert, facts: Facts) -> Finding | None:
    connections = _own(facts, "compute.cache_connections")
    if connections is None:
        return None
    cluster, _ = _names(alert, facts)
    near = bool(connections.numbers and connections.numbers.crossed)
    what = "is near its connection limit" if near else "is flooded with new connections"
    sentence = f"ElastiCache {cluster} {what}: {text_after_colon(connections)}"
    sentence = with_facts(sentence, facts, ("compute.recent_change",))
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if near else "medium",
        evidence_keys=["compute.cache_connections", "compute.cache_config", "compute.recent_change"],
        recommendations=[
            "Find the clients that open the connections (CLIENT LIST on the node, by address and name): a client "
            "that connects per request instead of pooling, or a deploy that reconnects every instance at once.",
            "Pool connections in the clients (one pool per process, bounded) and reuse them; Lambda callers "
            "should connect once per execution environment, outside the handler.",
            "Set a timeout on idle connections (the timeout parameter) so leaked ones are closed.",
        ],
        diagnostics=_commands(alert, facts),
    )


def _replication(alert: Alert, facts: Facts) -> Finding | None:
    lag = _own(facts, "compute.cache_replication_lag")
    failover = _own(facts, "compute.cache_failover")
    if lag is None and failover is None:
        return None
    cluster, _ = _names(alert, facts)
    parts = [text_after_colon(f) if f is lag else as_clause(f.text) for f in (lag, failover) if f is not None]
    sentence = f"Replication of ElastiCache {cluster} is behind or moved: " + "; ".join(parts)
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if failover is not None else "medium",
        evidence_keys=["compute.cache_replication_lag", "compute.cache_failover", "compute.cache_config"],
        recommendations=[
            "Read the replication group's events: a failover promotes a replica, and clients that pin the old "
            "primary's address fail writes until they use the primary endpoint.",
            "A replica that lags serves stale reads: a write burst or a large key on the primary, or a replica "
            "that is resyncing after a restart.",
            "Check the primary's memory and engine CPU too: a saturated primary replicates late.",
        ],
        diagnostics=_commands(alert, facts),
    )


FAMILIES: tuple[tuple[frozenset[str], Callable[[Alert, Facts], Finding | None]], ...] = (
    (MEMORY_METRICS, _memory),
    (CPU_METRICS, _engine_cpu),
    (CONNECTION_METRICS, _connections),
    (REPLICATION_METRICS, _replication),
)


def cache_at_its_limit(alert: Alert, facts: Facts) -> Finding | None:
    """The limit the cache is at: the one the alarm watches first, then memory, engine CPU, connections and
    replication."""
    metric = alarm_details(alert).metric_name or ""
    ordered = sorted(FAMILIES, key=lambda family: metric not in family[0])
    for _, explain in ordered:
        found = explain(alert, facts)
        if found is not None:
            return found
    return None


def cache_cluster_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    cluster = _valid_id(alert_target(alert, "elasticache_cluster"))
    return _cluster_commands(alert, cluster) if cluster else []


def replication_group_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    group = _valid_id(alert_target(alert, "elasticache_replication_group"))
    if not group:
        return []
    return [_group_command(alert, group), _events_command(alert, group, "replication-group")]
