"""RDS instance and Aurora cluster evidence: the configuration that matters, recent RDS events, and what the numbers
say about connections and storage; the cluster's members and the database's callers as neighbours.

What an SRE checks first on a database alarm, and what each fact answers:

- `compute.db_instance` / `compute.db_cluster`: engine and version, class, Multi-AZ, storage (allocated, type,
  autoscaling ceiling), status and pending changes, which logs are exported.
- `compute.db_event`: the RDS events of the last hours that explain a blip (a failover, a reboot, storage full,
  maintenance, a configuration change), most telling first.
- `compute.db_connections_near_max`: DatabaseConnections at (or near) the engine's max_connections for the class.
- `compute.db_storage_low`: FreeStorageSpace low and still falling, and whether storage autoscaling can save it.
- `compute.db_cpu_credits_exhausted`: a burstable (db.t*) instance's CPUCreditBalance spent: held to baseline CPU.

The numbers ride on `Fact.numbers`, so the rules compare numbers, never sentences.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader, MetricQuery
from functions.shared.adapters.infrastructure import LambdaEnvironmentReader, RdsReader
from functions.shared.investigate.base import Evidence, Neighbour, number, parse_aws_time
from functions.shared.investigate.metrics import MetricWindow, summarize
from functions.shared.investigate.resources import ago
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

EVENT_WINDOW = timedelta(hours=6)
METRIC_WINDOW = timedelta(hours=3)
METRIC_RECENT = timedelta(minutes=30)
# GetMetricData's end is exclusive: a minute past now keeps the datapoint stamped at now.
METRIC_END_SLACK = timedelta(minutes=1)
GIB = 1024**3
# Connections at or above this share of max_connections: new connections are (about to be) refused. Below 1.0
# because the default is a formula of the class's memory less what RDS reserves, so the real limit sits a little
# under the estimate.
CONNECTIONS_NEAR_MAX = 0.85
# Free storage at or below this share of the allocated storage, and still falling: it runs out.
STORAGE_LOW_SHARE = 0.10
# CPU credits at or below this: a burstable (db.t*) instance is throttled to its baseline.
CREDITS_EXHAUSTED = 5.0
CALLER_SCAN_PAGES = 3
MAX_CALLERS = 2
MAX_CALLER_METRICS = 10

# RDS event categories (`EventCategories`), most telling first: what explains a blip on a database.
_EVENT_RANK = ("failover", "low storage", "failure", "availability", "recovery", "maintenance", "configuration change")

# Memory (GiB) of a db.m* class by size; r* classes have twice, c* half, t* the same up to 2xlarge.
_M_FAMILY_GIB = {
    "micro": 1,
    "small": 2,
    "medium": 4,
    "large": 8,
    "xlarge": 16,
    "2xlarge": 32,
    "4xlarge": 64,
    "8xlarge": 128,
    "12xlarge": 192,
    "16xlarge": 256,
    "24xlarge": 384,
}
_FAMILY_FACTOR = {"m": 1.0, "t": 1.0, "r": 2.0, "x": 4.0, "z": 2.0, "c": 0.5}
# Aurora MySQL's documented default max_connections per class size (the parameter is a log formula of memory).
_AURORA_MYSQL_DEFAULTS = {"medium": 90, "large": 1000, "xlarge": 2000, "2xlarge": 3000, "4xlarge": 4000}
_CLASS = re.compile(r"^db\.(?P<family>[a-z])\d*[a-z]*\.(?P<size>\w+)$")


def class_memory_gib(instance_class: str) -> float | None:
    """The memory of a DB instance class ("db.r6g.large" -> 16), or None for a class not in the table."""
    match = _CLASS.match(instance_class or "")
    if not match or match.group("size") not in _M_FAMILY_GIB:
        return None
    family, size = match.group("family"), match.group("size")
    if family == "t" and size == "large":
        return 8
    factor = _FAMILY_FACTOR.get(family)
    return _M_FAMILY_GIB[size] * factor if factor else None


def default_max_connections(engine: str, instance_class: str) -> int | None:
    """The engine's default max_connections for the class (the default parameter group's formula), or None when
    the engine's default is not a formula of memory (SQL Server, Oracle) or the class is unknown."""
    memory = class_memory_gib(instance_class)
    if memory is None:
        return None
    engine = (engine or "").lower()
    size = instance_class.rsplit(".", 1)[-1]
    if engine == "aurora-mysql":
        if instance_class.startswith("db.t"):
            return 45 if size == "small" else 90 if size == "medium" else 135
        return _AURORA_MYSQL_DEFAULTS.get(size, 5000 if memory >= 256 else 4000)
    # DBInstanceClassMemory is the class's memory less what the OS and RDS keep (about a quarter of 1 GiB, some
    # 400 MiB from 2 GiB up): db.t3.micro PostgreSQL answers 81-ish, db.t3.medium about 405.
    usable = (memory - min(memory * 0.25, 0.4)) * GIB
    if engine in ("mysql", "mariadb"):
        return int(usable // 12_582_880)
    if engine in ("postgres", "aurora-postgresql"):
        return int(min(usable // 9_531_392, 5000))
    return None


def _read_windows(
    cw: CloudWatchReader, target: Target, metrics: list[tuple[str, str]], *, now: datetime, evidence: Evidence
) -> dict[str, MetricWindow]:
    queries = [
        MetricQuery(
            id=f"db{i}",
            namespace="AWS/RDS",
            metric_name=name,
            dimensions=target.dimensions,
            stat=stat,
            period_seconds=300,
        )
        for i, (name, stat) in enumerate(metrics)
    ]
    series = evidence.read(
        f"AWS/RDS {', '.join(m for m, _ in metrics)} of {target.name}",
        lambda: cw.metric_data(queries, now - METRIC_WINDOW, now + METRIC_END_SLACK),
    )
    if series is None:
        return {}
    return {
        q.metric_name: summarize(series[q.id], "AWS/RDS", q.metric_name, 300, now, METRIC_RECENT)
        for q in queries
        if q.id in series
    }


def _storage_text(instance: dict[str, Any]) -> str:
    allocated = instance.get("AllocatedStorage")
    text = f"{allocated} GiB {instance.get('StorageType', '')}".strip() if allocated else "storage ?"
    ceiling = instance.get("MaxAllocatedStorage")
    if isinstance(ceiling, int) and isinstance(allocated, int) and ceiling > allocated:
        text += f", storage autoscaling up to {ceiling} GiB"
    elif str(instance.get("Engine", "")).startswith("aurora"):
        text = "Aurora cluster storage (grows by itself)"
    else:
        text += ", no storage autoscaling"
    return text


def rds_instance_evidence(
    rds: RdsReader, cw: CloudWatchReader, lambdas: LambdaEnvironmentReader, target: Target, *, now: datetime
) -> Evidence:
    """One DB instance: configuration, recent events, connections vs max_connections, storage running out; its
    cluster (Aurora) and the Lambda functions whose environment names its endpoint as neighbours."""
    evidence = Evidence()
    identifier = target.name
    evidence.looked_at.append(f"RDS {identifier} configuration and events")
    instance = evidence.read_resource(
        f"RDS instance {identifier}", lambda: rds.db_instance(identifier), missing=f"No RDS instance {identifier}"
    )
    if instance is None:
        return evidence
    engine = str(instance.get("Engine", "?"))
    instance_class = str(instance.get("DBInstanceClass", "?"))
    status = str(instance.get("DBInstanceStatus", "unknown"))
    parts = [
        f"{engine} {instance.get('EngineVersion', '')}".strip(),
        instance_class,
        # An Aurora instance's availability is its cluster's (replicas in other zones), not its own MultiAZ flag.
        f"Aurora instance of {instance.get('DBClusterIdentifier')}"
        if engine.startswith("aurora")
        else "Multi-AZ"
        if instance.get("MultiAZ")
        else "single-AZ",
        _storage_text(instance),
        f"status {status}",
    ]
    pending = {k: v for k, v in (instance.get("PendingModifiedValues") or {}).items() if v not in (None, [], {})}
    if pending:
        parts.append("pending: " + ", ".join(f"{k}={v}" for k, v in list(pending.items())[:3]))
    exports = instance.get("EnabledCloudwatchLogsExports") or []
    parts.append("logs exported: " + ", ".join(exports) if exports else "no logs exported to CloudWatch")
    cluster_id = instance.get("DBClusterIdentifier")
    allocated = instance.get("AllocatedStorage")
    evidence.facts.append(
        Fact(
            key="compute.db_instance",
            text=f"RDS {identifier}: " + ", ".join(parts),
            value=status,
            subject=identifier,
            numbers=Measurement(value=float(allocated), unit="GiB") if isinstance(allocated, int) else None,
        )
    )
    evidence.add(_events_evidence(rds, "db-instance", identifier, now=now))
    metrics = [("DatabaseConnections", "Maximum"), ("FreeStorageSpace", "Minimum")]
    burstable = instance_class.startswith("db.t")
    if burstable:  # a burstable class runs at its baseline CPU once its credits are spent
        metrics.append(("CPUCreditBalance", "Minimum"))
    windows = _read_windows(cw, target, metrics, now=now, evidence=evidence)
    evidence.add(_connections_evidence(identifier, engine, instance_class, windows.get("DatabaseConnections")))
    if burstable:
        evidence.add(_credits_evidence(identifier, instance_class, windows.get("CPUCreditBalance")))
    if not engine.startswith("aurora"):
        evidence.add(_storage_evidence(identifier, instance, windows.get("FreeStorageSpace")))
    if cluster_id:
        evidence.neighbours.append(
            Neighbour(
                target=Target.of("rds_cluster", str(cluster_id), target.region),
                edge=f"Aurora cluster {cluster_id}, which {identifier} belongs to",
            )
        )
    endpoint = (instance.get("Endpoint") or {}).get("Address")
    evidence.add(_callers(lambdas, cw, identifier, [str(endpoint)] if endpoint else [], region=target.region, now=now))
    return _linked(evidence, console_links.rds_database_url(identifier, target.region))


def rds_cluster_evidence(
    rds: RdsReader, cw: CloudWatchReader, lambdas: LambdaEnvironmentReader, target: Target, *, now: datetime
) -> Evidence:
    """One Aurora (or Multi-AZ) cluster: engine, members by role, status, recent events (failovers); its writer and
    readers and its callers as neighbours."""
    evidence = Evidence()
    identifier = target.name
    evidence.looked_at.append(f"RDS cluster {identifier} members and events")
    cluster = evidence.read_resource(
        f"RDS cluster {identifier}", lambda: rds.db_cluster(identifier), missing=f"No RDS cluster {identifier}"
    )
    if cluster is None:
        return evidence
    members = cluster.get("DBClusterMembers") or []
    writers = [str(m.get("DBInstanceIdentifier")) for m in members if m.get("IsClusterWriter")]
    readers = [str(m.get("DBInstanceIdentifier")) for m in members if not m.get("IsClusterWriter")]
    status = str(cluster.get("Status", "unknown"))
    parts = [
        f"{cluster.get('Engine', '?')} {cluster.get('EngineVersion', '')}".strip(),
        f"status {status}",
        f"writer {', '.join(writers) or 'none'}",
        f"readers {', '.join(readers) or 'none'}",
        "Multi-AZ" if cluster.get("MultiAZ") else "single-AZ",
    ]
    exports = cluster.get("EnabledCloudwatchLogsExports") or []
    parts.append("logs exported: " + ", ".join(exports) if exports else "no logs exported to CloudWatch")
    evidence.facts.append(
        Fact(
            key="compute.db_cluster",
            text=f"Aurora cluster {identifier}: " + ", ".join(parts),
            value=status,
            subject=identifier,
            numbers=Measurement(value=float(len(members)), unit="members"),
        )
    )
    evidence.add(_events_evidence(rds, "db-cluster", identifier, now=now))
    for member in (writers + readers)[:2]:
        role = "writer" if member in writers else "reader"
        evidence.neighbours.append(
            Neighbour(
                target=Target.of("rds_instance", member, target.region),
                edge=f"{role} instance of Aurora cluster {identifier}",
            )
        )
    endpoints = [str(e) for e in (cluster.get("Endpoint"), cluster.get("ReaderEndpoint")) if e]
    evidence.add(_callers(lambdas, cw, identifier, endpoints, region=target.region, now=now))
    return _linked(evidence, console_links.rds_database_url(identifier, target.region, cluster=True))


def _linked(evidence: Evidence, link: str) -> Evidence:
    """Every fact links to its evidence: the database's console page (configuration, monitoring, logs and events)
    for those that have no page of their own."""
    for fact in evidence.facts:
        fact.link = fact.link or link
    return evidence


def _events_evidence(rds: RdsReader, source_type: str, identifier: str, *, now: datetime) -> Evidence:
    evidence = Evidence()
    hours = int(EVENT_WINDOW.total_seconds() // 3600)
    evidence.looked_at.append(f"RDS events of {identifier}, last {hours} h")
    events = evidence.read(
        f"RDS events of {identifier}",
        lambda: rds.events(source_type, identifier, start=now - EVENT_WINDOW, end=now),
    )
    if events is None:
        return evidence
    ranked: list[tuple[int, datetime, str, str]] = []
    for event in events:
        at = parse_aws_time(event.get("Date"))
        if at is None or not now - EVENT_WINDOW <= at <= now + timedelta(minutes=5):
            continue
        categories = [str(c).lower() for c in event.get("EventCategories") or []]
        rank = min((_EVENT_RANK.index(c) for c in categories if c in _EVENT_RANK), default=None)
        if rank is None:
            continue
        category = _EVENT_RANK[rank]
        ranked.append((rank, at, category, _first_sentences(str(event.get("Message", "")))))
    if not ranked:
        evidence.notes.append(f"No failover, reboot, storage or maintenance event on {identifier} in {hours} h.")
        return evidence
    # The most telling category first; within one, the newest.
    ranked.sort(key=lambda e: (e[0], -e[1].timestamp()))
    for i, (_, at, category, message) in enumerate(ranked[:2]):
        minutes = (now - at).total_seconds() / 60
        evidence.facts.append(
            Fact(
                key="compute.db_event" if i == 0 else "compute.db_event.2",
                text=f"RDS event on {identifier} {ago(at, now)} ({category}): {message}",
                value=category,
                subject=identifier,
                numbers=Measurement(value=round(minutes, 1), unit="minutes ago"),
            )
        )
    return evidence


def _first_sentences(message: str, limit: int = 160) -> str:
    """The message's whole sentences that fit in `limit` characters (at least its first, cut), not a torn word."""
    kept = ""
    for sentence in re.split(r"(?<=[.!?])\s+", message.strip()):
        if kept and len(kept) + 1 + len(sentence) > limit:
            break
        kept = f"{kept} {sentence}".strip()
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"


def _connections_evidence(identifier: str, engine: str, instance_class: str, window: MetricWindow | None) -> Evidence:
    evidence = Evidence()
    limit = default_max_connections(engine, instance_class)
    if window is None or window.peak is None or limit is None:
        return evidence
    share = window.peak / limit
    if share < CONNECTIONS_NEAR_MAX:
        return evidence
    evidence.facts.append(
        Fact(
            key="compute.db_connections_near_max",
            text=(
                f"{identifier}: DatabaseConnections peaked at {number(window.peak)}, "
                + (f"{share:.0%} of" if share < 1 else "at")
                + f" max_connections ≈{limit} (the {engine} default for {instance_class})"
                + (f", usually {number(window.baseline)}" if window.baseline is not None else "")
            ),
            value=round(share * 100, 1),
            subject=identifier,
            numbers=Measurement(
                value=window.peak,
                baseline=window.baseline,
                threshold=float(limit),
                unit="connections",
                crossed=window.peak >= limit * CONNECTIONS_NEAR_MAX,
                change_pct=window.change_percent,
            ),
        )
    )
    return evidence


def _credits_evidence(identifier: str, instance_class: str, window: MetricWindow | None) -> Evidence:
    """CPUCreditBalance of a burstable instance spent (near zero, down from its usual level)."""
    evidence = Evidence()
    if window is None or window.peak is None:
        return evidence
    left = min(window.latest if window.latest is not None else window.peak, window.peak)
    usual = window.baseline
    if left > CREDITS_EXHAUSTED or usual is None or usual <= left:
        return evidence
    evidence.facts.append(
        Fact(
            key="compute.db_cpu_credits_exhausted",
            text=(
                f"{identifier}: CPUCreditBalance down to {number(left)} from {number(usual)}: the burstable "
                f"{instance_class} is held to its baseline CPU until credits accrue again"
            ),
            value=left,
            subject=identifier,
            numbers=Measurement(value=left, baseline=usual, threshold=CREDITS_EXHAUSTED, unit="CPU credits"),
        )
    )
    return evidence


def _storage_evidence(identifier: str, instance: dict[str, Any], window: MetricWindow | None) -> Evidence:
    evidence = Evidence()
    allocated = instance.get("AllocatedStorage")
    if window is None or window.peak is None or not isinstance(allocated, int) or allocated <= 0:
        return evidence
    free = window.latest if window.latest is not None else window.peak
    # FreeStorageSpace is read as Minimum: its "peak" is the largest minimum; the newest point is where it is now.
    free = min(free, window.peak)
    total = allocated * GIB
    share = free / total
    falling = window.baseline is not None and free < window.baseline
    if share > STORAGE_LOW_SHARE or not falling:
        return evidence
    ceiling = instance.get("MaxAllocatedStorage")
    autoscaling = isinstance(ceiling, int) and ceiling > allocated
    text = (
        f"{identifier}: FreeStorageSpace down to {free / GIB:.1f} GiB of {allocated} GiB ({share:.1%} free)"
        + (f", from {window.baseline / GIB:.1f} GiB" if window.baseline is not None else "")
        + (
            f"; storage autoscaling may grow it to {ceiling} GiB"
            if autoscaling
            else "; storage autoscaling is off (no MaxAllocatedStorage)"
        )
    )
    evidence.facts.append(
        Fact(
            key="compute.db_storage_low",
            text=text,
            value=round(share * 100, 2),
            subject=identifier,
            numbers=Measurement(
                value=round(free / GIB, 2),
                baseline=round(window.baseline / GIB, 2) if window.baseline else None,
                threshold=float(allocated),
                unit="GiB free",
                crossed=True,
            ),
        )
    )
    return evidence


def _callers(
    lambdas: LambdaEnvironmentReader,
    cw: CloudWatchReader,
    identifier: str,
    endpoints: list[str],
    *,
    region: str | None,
    now: datetime,
) -> Evidence:
    """The Lambda functions whose environment names one of the endpoints (bounded scan), the one whose concurrency
    rose most first (a fan-out opens one connection per execution), as neighbours."""
    evidence = Evidence()
    if not endpoints:
        return evidence
    evidence.looked_at.append(f"Lambda functions whose environment names {identifier}'s endpoint")
    names = evidence.read(
        "Lambda functions (environment)",
        lambda: lambdas.functions_mentioning(endpoints, max_pages=CALLER_SCAN_PAGES),
    )
    if not names:
        return evidence
    names = names[:MAX_CALLER_METRICS]
    windows = _caller_concurrency(cw, names, now=now, evidence=evidence)
    names.sort(key=lambda n: -_rise(windows.get(n)))
    top = windows.get(names[0])
    described = []
    for name in names[:4]:
        window = windows.get(name)
        if window is not None and window.peak is not None:
            usual = f" vs usually {number(window.baseline)}" if window.baseline is not None else ""
            described.append(f"{name} (ConcurrentExecutions peak {number(window.peak)}{usual})")
        else:
            described.append(name)
    evidence.facts.append(
        Fact(
            key="compute.db_callers",
            text=f"{identifier} is called by Lambda {', '.join(described)} (their environment names its endpoint)"
            + (f" and {len(names) - 4} more" if len(names) > 4 else ""),
            value=len(names),
            link=console_links.lambda_function_url(names[0], region),
            # The caller whose concurrency rose most, and its numbers.
            subject=names[0],
            numbers=Measurement(
                value=top.peak, baseline=top.baseline, change_pct=top.change_percent, unit="concurrent executions"
            )
            if top is not None and top.peak is not None
            else None,
        )
    )
    for name in names[:MAX_CALLERS]:
        evidence.neighbours.append(
            Neighbour(
                target=Target.of("lambda", name, region),
                edge=f"Lambda {name}, a caller of {identifier} (its environment names the endpoint)",
            )
        )
    return evidence


def _rise(window: MetricWindow | None) -> float:
    if window is None or window.peak is None:
        return 0.0
    return window.peak - (window.baseline or 0.0)


def _caller_concurrency(
    cw: CloudWatchReader, names: list[str], *, now: datetime, evidence: Evidence
) -> dict[str, MetricWindow]:
    queries = [
        MetricQuery(
            id=f"caller{i}",
            namespace="AWS/Lambda",
            metric_name="ConcurrentExecutions",
            dimensions={"FunctionName": name},
            stat="Maximum",
            period_seconds=300,
        )
        for i, name in enumerate(names)
    ]
    series = evidence.read(
        "ConcurrentExecutions of the callers",
        lambda: cw.metric_data(queries, now - METRIC_WINDOW, now + METRIC_END_SLACK),
    )
    if series is None:
        return {}
    found = {}
    for name, query in zip(names, queries, strict=True):
        if query.id in series:
            window = summarize(series[query.id], "AWS/Lambda", "ConcurrentExecutions", 300, now, METRIC_RECENT)
            if window.has_data:
                found[name] = window
    return found
