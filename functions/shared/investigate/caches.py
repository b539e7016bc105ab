"""ElastiCache evidence (Redis OSS, Valkey, Memcached): the node, its replication group and parameter group, and
which of the four limits a cache pages on it is at.

The interpreter (`cache_verdict`) reads the node's metrics the way an SRE does and writes each part of the answer
as its own structured fact, so the rules weigh them together:

- **memory pressure**: DatabaseMemoryUsagePercentage at or over 90 %, or Evictions rising; with what filled the
  memory, against the same time **a week before**: more items kept (CurrItems, BytesUsedForCache grew while the
  writes did not: keys without a TTL, a key leak) or more written (SetTypeCmds rose with them);
- **engine CPU**: EngineCPUUtilization (the one Redis thread; CPUUtilization is the whole host, and on a node with
  several vCPUs stays low while the engine is saturated), with the command family that moved most against a week
  before (EvalBasedCmds: Lua scripts, KeyBasedCmds: KEYS / SCAN, ...);
- **connections**: CurrConnections against the parameter group's limit (maxclients, 65,000 by default), and
  NewConnections against its usual level (clients that do not pool, a deploy reconnecting everything);
- **replication**: ReplicationLag of a replica, and the failovers among the events of the last hours.

A cache whose numbers stay under these lines gets only a note, however busy it is. The parameter group and the
events are read through readers that answer None when they cannot be read; the facts then say "not read".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.caches import CacheClusterInfo, CacheEvent, CacheParameters, ElastiCacheReader
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.investigate.base import Evidence, number
from functions.shared.investigate.flow import FlowWindow, read_flow
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

NAMESPACE = "AWS/ElastiCache"
MEMORY_PCT = "DatabaseMemoryUsagePercentage"
EVICTIONS = "Evictions"
ITEMS = "CurrItems"
BYTES = "BytesUsedForCache"
RECLAIMED = "Reclaimed"  # keys expired by their TTL
ENGINE_CPU = "EngineCPUUtilization"
HOST_CPU = "CPUUtilization"
CONNECTIONS = "CurrConnections"
NEW_CONNECTIONS = "NewConnections"
REPLICATION_LAG = "ReplicationLag"
SET_COMMANDS = "SetTypeCmds"
# The command families a Redis OSS / Valkey node counts; Memcached counts gets and sets.
REDIS_COMMANDS = (
    "GetTypeCmds",
    SET_COMMANDS,
    "KeyBasedCmds",
    "EvalBasedCmds",
    "HashBasedCmds",
    "ListBasedCmds",
    "SetBasedCmds",
    "SortedSetBasedCmds",
    "StringBasedCmds",
)
MEMCACHED_COMMANDS = ("CmdGet", "CmdSet")
NODE_METRICS = [
    (MEMORY_PCT, "Maximum"),
    (EVICTIONS, "Sum"),
    (ITEMS, "Maximum"),
    (BYTES, "Maximum"),
    (RECLAIMED, "Sum"),
    (ENGINE_CPU, "Average"),
    (HOST_CPU, "Average"),
    (CONNECTIONS, "Maximum"),
    (NEW_CONNECTIONS, "Sum"),
    (REPLICATION_LAG, "Maximum"),
]
COUNT_METRICS = frozenset({EVICTIONS, RECLAIMED, NEW_CONNECTIONS, *REDIS_COMMANDS, *MEMCACHED_COMMANDS})
WEEK = timedelta(days=7)

# Memory at or over this share of maxmemory is full: from here on every write evicts (or fails, with noeviction).
MEMORY_FULL_PCT = 90.0
# Evictions rising: at least this many per 5 minutes, and at least twice the usual level.
MIN_EVICTIONS = 100.0
# Items or bytes at or above this multiple of a week before grew; writes at or above SPIKE_FACTOR rose.
GROWTH_FACTOR = 1.3
SPIKE_FACTOR = 1.5
# Engine CPU at or over this is saturated (AWS's own guidance for the engine thread is to alarm at 90 %).
ENGINE_CPU_HOT_PCT = 90.0
# A command family moved: at least this multiple of a week before, and its rise at least this share of the
# busiest family's level now (a family going from 2 to 20 calls moves nothing).
MOVER_FACTOR = 2.0
MOVER_MIN_SHARE = 0.05
# Redis OSS / Valkey maxclients and Memcached max_simultaneous_connections default, when the group is not read.
DEFAULT_MAX_CONNECTIONS = 65_000
NEAR_CONNECTION_LIMIT = 0.8
# NewConnections at or above this multiple of its usual level, and at least this many per 5 minutes, is churn.
CHURN_FACTOR = 3.0
MIN_NEW_CONNECTIONS = 1_000.0
# A replica this many seconds behind its primary, and at least three times its usual lag, is lagging.
MIN_LAG_SECONDS = 5.0
EVENTS_LOOKBACK = timedelta(hours=6)


class CommandMove(BaseModel):
    metric: str
    recent: float
    week_before: float

    @property
    def factor(self) -> float:
        return self.recent / self.week_before if self.week_before else float("inf")


class CacheVerdict(BaseModel):
    """What the node's metrics say, with the numbers behind them (counts per 5 minutes, percentages, seconds)."""

    memory_pct_peak: float | None = None
    memory_pct_baseline: float | None = None
    evictions_recent: float | None = None
    evictions_baseline: float | None = None
    items_recent: float | None = None
    items_week_before: float | None = None
    bytes_recent: float | None = None
    bytes_week_before: float | None = None
    reclaimed_recent: float | None = None
    reclaimed_week_before: float | None = None
    writes_recent: float | None = None
    writes_week_before: float | None = None
    engine_cpu_peak: float | None = None
    engine_cpu_baseline: float | None = None
    host_cpu_recent: float | None = None
    connections_peak: float | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    new_connections_recent: float | None = None
    new_connections_baseline: float | None = None
    lag_peak: float | None = None
    lag_baseline: float | None = None
    mover: CommandMove | None = None

    @property
    def evictions_rising(self) -> bool:
        recent = self.evictions_recent or 0.0
        return recent >= MIN_EVICTIONS and recent >= 2 * (self.evictions_baseline or 0.0)

    @property
    def memory_full(self) -> bool:
        return (self.memory_pct_peak or 0.0) >= MEMORY_FULL_PCT or self.evictions_rising

    @property
    def items_grew(self) -> bool:
        return _grew(self.items_recent, self.items_week_before) or _grew(self.bytes_recent, self.bytes_week_before)

    @property
    def writes_rose(self) -> bool:
        recent, before = self.writes_recent, self.writes_week_before
        return recent is not None and bool(before) and recent >= SPIKE_FACTOR * (before or 0.0)

    @property
    def engine_saturated(self) -> bool:
        return (self.engine_cpu_peak or 0.0) >= ENGINE_CPU_HOT_PCT

    @property
    def connections_near_limit(self) -> bool:
        return (self.connections_peak or 0.0) >= NEAR_CONNECTION_LIMIT * self.max_connections

    @property
    def connection_churn(self) -> bool:
        recent = self.new_connections_recent or 0.0
        usual = self.new_connections_baseline or 0.0
        return recent >= MIN_NEW_CONNECTIONS and recent >= CHURN_FACTOR * usual

    @property
    def replica_lagging(self) -> bool:
        peak = self.lag_peak or 0.0
        return peak >= MIN_LAG_SECONDS and peak >= 3 * (self.lag_baseline or 0.0)


def _grew(recent: float | None, before: float | None) -> bool:
    return recent is not None and bool(before) and recent >= GROWTH_FACTOR * (before or 0.0)


def _level(window: FlowWindow | None) -> float | None:
    """What a window says now: its recent mean, else its usual level (a week-old window has no incident part)."""
    if window is None or window.points == 0:
        return None
    return window.recent if window.recent is not None else window.baseline


def command_mover(recent: dict[str, FlowWindow], week_before: dict[str, FlowWindow]) -> CommandMove | None:
    """The command family that rose most against a week before, if one rose enough to matter."""
    levels = {m: _level(w) for m, w in recent.items()}
    busiest = max((v for v in levels.values() if v is not None), default=0.0)
    moves = []
    for metric, now in levels.items():
        before = _level(week_before.get(metric))
        if now is None or before is None or before <= 0:
            continue
        if now >= MOVER_FACTOR * before and now - before >= MOVER_MIN_SHARE * busiest:
            moves.append(CommandMove(metric=metric, recent=now, week_before=before))
    return max(moves, key=lambda m: m.factor, default=None)


def cache_verdict(
    flow: dict[str, FlowWindow],
    *,
    week_before: dict[str, FlowWindow] | None = None,
    commands: dict[str, FlowWindow] | None = None,
    max_connections: int | None = None,
    write_metric: str = SET_COMMANDS,
) -> CacheVerdict:
    """The node's numbers, now and against a week before, from its windows."""
    week = week_before or {}

    def get(metric: str) -> FlowWindow | None:
        return flow.get(metric)

    def peak(metric: str) -> float | None:
        window = get(metric)
        return window.peak if window is not None else None

    def base(metric: str) -> float | None:
        window = get(metric)
        return window.baseline if window is not None else None

    def recent(metric: str) -> float | None:
        window = get(metric) or (commands or {}).get(metric)
        return window.recent if window is not None else None

    return CacheVerdict(
        memory_pct_peak=peak(MEMORY_PCT),
        memory_pct_baseline=base(MEMORY_PCT),
        evictions_recent=recent(EVICTIONS),
        evictions_baseline=base(EVICTIONS),
        items_recent=recent(ITEMS),
        items_week_before=_level(week.get(ITEMS)),
        bytes_recent=recent(BYTES),
        bytes_week_before=_level(week.get(BYTES)),
        reclaimed_recent=recent(RECLAIMED),
        reclaimed_week_before=_level(week.get(RECLAIMED)),
        writes_recent=recent(write_metric),
        writes_week_before=_level(week.get(write_metric)),
        engine_cpu_peak=peak(ENGINE_CPU),
        engine_cpu_baseline=base(ENGINE_CPU),
        host_cpu_recent=recent(HOST_CPU),
        connections_peak=peak(CONNECTIONS),
        max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
        new_connections_recent=recent(NEW_CONNECTIONS),
        new_connections_baseline=base(NEW_CONNECTIONS),
        lag_peak=peak(REPLICATION_LAG),
        lag_baseline=base(REPLICATION_LAG),
        mover=command_mover(commands or {}, week),
    )


def _n(value: float) -> str:
    """A count as an SRE reads it off a graph: 41.2 M, 310 k, 950."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f} M"
    if value >= 100_000:
        return f"{value / 1000:.0f} k"
    return number(round(value))


def _bytes(value: float) -> str:
    gib = value / 1024**3
    return f"{gib:.1f} GiB" if gib >= 1 else f"{value / 1024**2:.0f} MiB"


def _pct(value: float) -> str:
    return f"{value:.0f} %"


def _change(recent: float, before: float) -> float | None:
    return round((recent - before) / before * 100, 1) if before else None


def _config_text(cluster: CacheClusterInfo, role: str | None, failover: str | None) -> str:
    engine = " ".join(p for p in ((cluster.engine or "engine unknown"), cluster.engine_version) if p)
    parts = [cluster.status or "status unknown", engine]
    if cluster.node_type:
        parts.append(cluster.node_type)
    if cluster.is_memcached and cluster.node_count is not None:
        parts.append(f"{cluster.node_count} node{'s' if cluster.node_count != 1 else ''}")
    if cluster.replication_group_id:
        group = (
            f"{role} of replication group {cluster.replication_group_id}"
            if role
            else (f"in replication group {cluster.replication_group_id}")
        )
        if failover:
            group += f" (automatic failover {failover})"
        parts.append(group)
    return f"ElastiCache {cluster.cluster_id}: " + ", ".join(parts)


def _policy_text(parameters: CacheParameters | None, group: str | None) -> str:
    if parameters is not None and parameters.maxmemory_policy:
        return f"maxmemory-policy {parameters.maxmemory_policy} (parameter group {parameters.group})"
    return f"maxmemory-policy not read (parameter group {group or 'unknown'})"


def _memory_fact(name: str, verdict: CacheVerdict, policy: str, link: str) -> Fact:
    parts = []
    if verdict.memory_pct_peak is not None:
        text = f"{MEMORY_PCT} {_pct(verdict.memory_pct_peak)}"
        if verdict.memory_pct_baseline is not None:
            text += f" (usual {_pct(verdict.memory_pct_baseline)})"
        parts.append(text)
    if verdict.evictions_recent is not None:
        text = f"{EVICTIONS} {_n(verdict.evictions_recent)} per 5 min"
        if verdict.evictions_baseline is not None:
            text += f" (usual {_n(verdict.evictions_baseline)})"
        parts.append(text)
    parts.append(policy)
    value = verdict.memory_pct_peak if verdict.memory_pct_peak is not None else verdict.evictions_recent
    return Fact(
        key="compute.cache_memory_pressure",
        text=f"Memory of {name} is full: " + "; ".join(parts),
        value=value,
        link=link,
        subject=name,
        numbers=Measurement(
            value=value,
            baseline=verdict.memory_pct_baseline if verdict.memory_pct_peak is not None else verdict.evictions_baseline,
            unit="percent" if verdict.memory_pct_peak is not None else "evictions",
            threshold=MEMORY_FULL_PCT if verdict.memory_pct_peak is not None else MIN_EVICTIONS,
            crossed=True,
        ),
    )


def _growth_fact(name: str, verdict: CacheVerdict, write_metric: str, link: str) -> Fact | None:
    """What filled the memory against a week before: more kept (items grew, writes did not), or more written."""
    if verdict.items_recent is None and verdict.bytes_recent is None:
        return None
    parts = []
    if verdict.items_recent is not None and verdict.items_week_before:
        parts.append(f"{ITEMS} {_n(verdict.items_recent)} (a week before {_n(verdict.items_week_before)})")
    if verdict.bytes_recent is not None and verdict.bytes_week_before:
        parts.append(f"{BYTES} {_bytes(verdict.bytes_recent)} (a week before {_bytes(verdict.bytes_week_before)})")
    if verdict.writes_recent is not None and verdict.writes_week_before:
        parts.append(
            f"{write_metric} {_n(verdict.writes_recent)} per 5 min (a week before {_n(verdict.writes_week_before)})"
        )
    if verdict.reclaimed_recent is not None and verdict.reclaimed_week_before:
        parts.append(
            f"{RECLAIMED} (keys expired by their TTL) {_n(verdict.reclaimed_recent)} per 5 min "
            f"(a week before {_n(verdict.reclaimed_week_before)})"
        )
    if not parts:
        return None
    grew, rose = verdict.items_grew, verdict.writes_rose
    if grew and not rose:
        key, lead = "compute.cache_key_growth", f"{name} keeps more keys than a week before, with no more writes"
    elif rose:
        key, lead = "compute.cache_write_rise", f"Writes to {name} rose against a week before"
    else:
        key, lead = "compute.cache_usage", f"Contents of {name} against a week before"
    use_items = verdict.items_recent is not None and bool(verdict.items_week_before)
    recent = verdict.items_recent if use_items else verdict.bytes_recent
    before = verdict.items_week_before if use_items else verdict.bytes_week_before
    if rose:
        recent, before = verdict.writes_recent, verdict.writes_week_before
    return Fact(
        key=key,
        text=f"{lead}: " + "; ".join(parts),
        value=round(recent / before, 2) if recent is not None and before else None,
        link=link,
        subject=name,
        numbers=Measurement(
            value=recent,
            baseline=before,
            unit="commands" if rose else ("items" if use_items else "bytes"),
            change_pct=_change(recent, before) if recent is not None and before else None,
        ),
    )


def _cpu_fact(name: str, verdict: CacheVerdict, node_type: str | None, link: str) -> Fact:
    text = f"Engine CPU of {name} is saturated: {ENGINE_CPU} {_pct(verdict.engine_cpu_peak or 0)}"
    if verdict.engine_cpu_baseline is not None:
        text += f" (usual {_pct(verdict.engine_cpu_baseline)})"
    if verdict.host_cpu_recent is not None:
        text += f", host {HOST_CPU} {_pct(verdict.host_cpu_recent)}"
    text += ": the single engine thread is the limit" + (f" on {node_type}" if node_type else "")
    return Fact(
        key="compute.cache_engine_cpu",
        text=text,
        value=verdict.engine_cpu_peak,
        link=link,
        subject=name,
        numbers=Measurement(
            value=verdict.engine_cpu_peak,
            baseline=verdict.engine_cpu_baseline,
            latest=verdict.host_cpu_recent,
            unit="percent",
            threshold=ENGINE_CPU_HOT_PCT,
            crossed=True,
        ),
    )


def _mover_fact(name: str, mover: CommandMove, link: str) -> Fact:
    return Fact(
        key="compute.cache_command_mover",
        text=f"Commands that moved on {name}: {mover.metric} {_n(mover.recent)} per 5 min, {mover.factor:.1f}x a "
        f"week before ({_n(mover.week_before)})",
        value=mover.metric,
        link=link,
        subject=mover.metric,
        numbers=Measurement(
            value=mover.recent,
            baseline=mover.week_before,
            unit="commands",
            window="5m",
            change_pct=_change(mover.recent, mover.week_before),
        ),
    )


def _connections_fact(name: str, verdict: CacheVerdict, limit_read: bool, link: str) -> Fact:
    parts = []
    if verdict.connections_peak is not None:
        share = verdict.connections_peak / verdict.max_connections
        limit = f"{number(verdict.max_connections)}{'' if limit_read else ' (the default)'}"
        parts.append(f"{CONNECTIONS} {number(round(verdict.connections_peak))} of at most {limit} ({share:.0%})")
    if verdict.new_connections_recent is not None:
        text = f"{NEW_CONNECTIONS} {_n(verdict.new_connections_recent)} per 5 min"
        if verdict.new_connections_baseline is not None:
            text += f" (usual {_n(verdict.new_connections_baseline)})"
        parts.append(text)
    lead = "near its connection limit" if verdict.connections_near_limit else "churns connections"
    return Fact(
        key="compute.cache_connections",
        text=f"{name} {lead}: " + "; ".join(parts),
        value=verdict.connections_peak,
        link=link,
        subject=name,
        numbers=Measurement(
            value=verdict.connections_peak,
            threshold=float(verdict.max_connections),
            baseline=verdict.new_connections_baseline,
            latest=verdict.new_connections_recent,
            unit="connections",
            crossed=verdict.connections_near_limit,
        ),
    )


def _lag_fact(name: str, verdict: CacheVerdict, link: str) -> Fact:
    text = f"Replica {name} lags its primary: {REPLICATION_LAG} {verdict.lag_peak or 0:.1f} s"
    if verdict.lag_baseline is not None:
        text += f" (usual {verdict.lag_baseline:.1f} s)"
    return Fact(
        key="compute.cache_replication_lag",
        text=text,
        value=verdict.lag_peak,
        link=link,
        subject=name,
        numbers=Measurement(
            value=verdict.lag_peak, baseline=verdict.lag_baseline, unit="seconds", threshold=MIN_LAG_SECONDS
        ),
    )


def _event_facts(events: list[CacheEvent], link: str) -> list[Fact]:
    """Failovers first (what an SRE looks for when a replica lags or a primary changed), then the newest events."""
    failovers = [e for e in events if "failover" in e.message.lower()]
    facts = []
    if failovers:
        event = failovers[0]
        facts.append(
            Fact(
                key="compute.cache_failover",
                text=f"ElastiCache event on {event.source}"
                + (f" at {event.at:%H:%M} UTC" if event.at else "")
                + f": {event.message[:200]}",
                value=len(failovers),
                link=link,
                subject=event.source,
                numbers=Measurement(value=float(len(failovers)), unit="failovers", window="6h"),
            )
        )
    others = [e for e in events if e not in failovers][:2]
    for i, event in enumerate(others, start=1):
        facts.append(
            Fact(
                key=f"compute.cache_event.{i}",
                text=f"ElastiCache event on {event.source}"
                + (f" at {event.at:%H:%M} UTC" if event.at else "")
                + f": {event.message[:200]}",
                link=link,
                subject=event.source,
            )
        )
    return facts


def _metrics_cluster(reader: ElastiCacheReader, target: Target, evidence: Evidence) -> tuple[str | None, str | None]:
    """The cache cluster whose metrics stand for the target, and the replication group: a cluster names itself;
    a replication group's metrics are its primary's (or its first member's)."""
    if target.kind == "elasticache_cluster":
        return target.name, None
    group = evidence.read(f"ElastiCache replication group {target.name}", lambda: reader.replication_group(target.name))
    if group is None:
        return None, None
    primary = next((m.cluster_id for m in group.members if m.role == "primary"), None)
    return primary or next(iter(group.member_clusters), None), group.group_id


def elasticache_evidence(
    reader: ElastiCacheReader, cloudwatch: CloudWatchReader, target: Target, *, now: datetime
) -> Evidence:
    """The node's engine, node type, replication role and maxmemory-policy, and what its memory, engine CPU,
    connections and replication metrics (against a week before) say, with the failovers of the last hours."""
    evidence = Evidence()
    evidence.looked_at.append(
        f"ElastiCache {target.name}: cluster and nodes, replication group, parameter group and events of the last "
        f"{EVENTS_LOOKBACK.seconds // 3600} h"
    )
    cluster_id, group_id = _metrics_cluster(reader, target, evidence)
    if cluster_id is None:
        if not evidence.notes:
            evidence.notes.append(f"No ElastiCache cache cluster or replication group named {target.name} here.")
        return evidence
    cluster = evidence.read_resource(
        f"ElastiCache cache cluster {cluster_id}",
        lambda: reader.cache_cluster(cluster_id),
        missing=f"No ElastiCache cache cluster named {cluster_id}",
    )
    if cluster is None:
        return evidence
    link = console_links.elasticache_url(cluster.replication_group_id or cluster.cluster_id, target.region)
    group = None
    if cluster.replication_group_id:
        group_name = cluster.replication_group_id
        group = evidence.read(
            f"ElastiCache replication group {group_name}", lambda: reader.replication_group(group_name)
        )
    parameters = None
    if cluster.parameter_group:
        parameter_group = cluster.parameter_group
        parameters = evidence.read(f"parameters of {parameter_group}", lambda: reader.parameters(parameter_group))
    policy = _policy_text(parameters, cluster.parameter_group)
    role = group.role_of(cluster.cluster_id) if group is not None else None
    evidence.facts.append(
        Fact(
            key="compute.cache_config",
            text=_config_text(cluster, role, group.automatic_failover if group else None),
            value=cluster.replication_group_id,  # what the rules name the node's group by
            link=link,
            subject=cluster.cluster_id,
        )
    )
    if not cluster.is_memcached:  # Memcached evicts by LRU, with no policy to choose
        evidence.facts.append(
            Fact(
                key="compute.cache_policy",
                text=policy,
                value=(parameters.maxmemory_policy if parameters else None) or "not read",
                link=link,
                subject=cluster.parameter_group,
            )
        )
    sources = [cluster.cluster_id, *([cluster.replication_group_id] if cluster.replication_group_id else [])]
    if group_id and group_id not in sources:
        sources.append(group_id)
    events = evidence.read(
        f"ElastiCache events of {', '.join(sources)}",
        lambda: reader.events(sources, start=now - EVENTS_LOOKBACK, end=now + timedelta(minutes=1)),
    )
    if events is None:
        evidence.notes.append("The ElastiCache events of the last hours were not read.")
    else:
        evidence.facts.extend(_event_facts(events, link))
    dimensions = {"CacheClusterId": cluster.cluster_id}
    if target.kind == "elasticache_cluster":
        dimensions = target.dimensions
    commands = list(MEMCACHED_COMMANDS if cluster.is_memcached else REDIS_COMMANDS)
    write_metric = "CmdSet" if cluster.is_memcached else SET_COMMANDS
    evidence.looked_at.append(
        f"CloudWatch {NAMESPACE} metrics of {cluster.cluster_id} (memory, evictions, items, engine and host CPU, "
        "connections, replication lag, command families), last 3 h, and a week before"
    )
    flow = evidence.read(
        f"{NAMESPACE} metrics of {cluster.cluster_id}",
        lambda: read_flow(cloudwatch, NAMESPACE, dimensions, NODE_METRICS, now=now, count_metrics=COUNT_METRICS),
    )
    if flow is None:
        return evidence
    command_flow = evidence.read(
        f"{NAMESPACE} command families of {cluster.cluster_id}",
        lambda: read_flow(
            cloudwatch, NAMESPACE, dimensions, [(c, "Sum") for c in commands], now=now, count_metrics=COUNT_METRICS
        ),
    )
    week_metrics = [(ITEMS, "Maximum"), (BYTES, "Maximum"), (RECLAIMED, "Sum")] + [(c, "Sum") for c in commands]
    week = evidence.read(
        f"{NAMESPACE} items and commands of {cluster.cluster_id} a week before",
        lambda: read_flow(cloudwatch, NAMESPACE, dimensions, week_metrics, now=now - WEEK),
    )
    limit = parameters.max_connections if parameters else None
    verdict = cache_verdict(
        flow,
        week_before={m: w for m, w in (week or {}).items() if w.points},
        commands=command_flow or {},
        max_connections=limit,
        write_metric=write_metric,
    )
    found: list[Fact | None] = []
    if verdict.memory_full:
        found += [_memory_fact(cluster.cluster_id, verdict, policy, link)]
    found.append(_growth_fact(cluster.cluster_id, verdict, write_metric, link))
    if verdict.engine_saturated:
        found.append(_cpu_fact(cluster.cluster_id, verdict, cluster.node_type, link))
    if verdict.mover is not None:
        found.append(_mover_fact(cluster.cluster_id, verdict.mover, link))
    if verdict.connections_near_limit or verdict.connection_churn:
        found.append(_connections_fact(cluster.cluster_id, verdict, limit is not None, link))
    if verdict.replica_lagging:
        found.append(_lag_fact(cluster.cluster_id, verdict, link))
    if not any(f is not None and f.key not in {"compute.cache_usage"} for f in found):
        evidence.notes.append(
            f"{cluster.cluster_id} is under its limits: memory, engine CPU, connections and replication lag are "
            "all below the lines that page."
        )
    evidence.facts[:0] = [fact for fact in found if fact is not None]
    return evidence
