"""OpenSearch evidence: the domain's size, and what its cluster health, heap, disk and traffic say.

An OpenSearch page is one of four questions, and each has its own metrics (namespace `AWS/ES`, dimensions
`DomainName` and `ClientId`, the account):

- **cluster status red or yellow**: primary (red) or replica (yellow) shards are unassigned. Either a node is gone
  (`Nodes` below what the domain is configured with), a disk is full (`FreeStorageSpace` of the fullest node; at
  the 95 % flood stage the indices on it become read-only and `ClusterIndexWritesBlocked` says so), or there are
  too few data nodes to place the replicas on;
- **JVM memory pressure**: the heap of the busiest node fills (`JVMMemoryPressure`; old-generation collections
  `JVMGCOldCollectionCount` climb, the thread pools reject work: `ThreadpoolSearchRejected`,
  `ThreadpoolWriteRejected`): heavy queries and aggregations, or more shards than the heap holds;
- **storage**: free space falling against a week before, from ingest growth or indices nobody deletes;
- **CPU**, read with `SearchRate` and `IndexingRate` (per node and minute) against a week before, and
  `AutomatedSnapshotFailure`.

The interpreter (`search_verdict`) writes each part as its own structured fact; the rules weigh them. Which shards
are unassigned and why, and the ISM retention policies, are in the cluster's own REST API: not read, and the
evidence says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.search import OpenSearchReader, SearchDomain
from functions.shared.investigate.base import Evidence, number
from functions.shared.investigate.flow import FlowWindow, read_flow
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

NAMESPACE = "AWS/ES"
RED = "ClusterStatus.red"
YELLOW = "ClusterStatus.yellow"
NODES = "Nodes"
FREE_STORAGE = "FreeStorageSpace"  # megabytes; Minimum over the domain is its fullest node
WRITES_BLOCKED = "ClusterIndexWritesBlocked"
JVM_PRESSURE = "JVMMemoryPressure"
GC_OLD = "JVMGCOldCollectionCount"
SEARCH_REJECTED = "ThreadpoolSearchRejected"
WRITE_REJECTED = "ThreadpoolWriteRejected"
CPU = "CPUUtilization"
SEARCH_RATE = "SearchRate"  # per node and minute
INDEXING_RATE = "IndexingRate"
SNAPSHOT_FAILURE = "AutomatedSnapshotFailure"
FLOW_METRICS = [
    (RED, "Maximum"),
    (YELLOW, "Maximum"),
    (NODES, "Minimum"),
    (FREE_STORAGE, "Minimum"),
    (WRITES_BLOCKED, "Maximum"),
    (JVM_PRESSURE, "Maximum"),
    (GC_OLD, "Maximum"),
    (SEARCH_REJECTED, "Sum"),
    (WRITE_REJECTED, "Sum"),
    (CPU, "Maximum"),
    (SEARCH_RATE, "Average"),
    (INDEXING_RATE, "Average"),
    (SNAPSHOT_FAILURE, "Maximum"),
]
WEEK_METRICS = [(FREE_STORAGE, "Minimum"), (SEARCH_RATE, "Average"), (INDEXING_RATE, "Average")]
# Rejections publish nothing when nothing is rejected.
COUNT_METRICS = frozenset({SEARCH_REJECTED, WRITE_REJECTED})
WEEK = timedelta(days=7)

# At 95 % of a node's disk used (the flood stage) its indices become read-only; AWS recommends alarming at 25 % free.
FLOOD_STAGE_FREE_SHARE = 0.05
LOW_FREE_SHARE = 0.25
# The heap is under pressure from here; at 92 % the service blocks writes, at 95 % a node may run out of memory.
JVM_PRESSURE_HIGH = 80.0
JVM_WRITES_BLOCKED = 92.0
CPU_HIGH = 80.0
# A rate at or above this multiple of a week before (or of its usual level) grew; at or below its inverse it fell.
RATE_GREW = 1.5
# Old-generation collections per period at or above this multiple of their usual count are climbing.
GC_CLIMB = 2.0


class RateChange(BaseModel):
    """A per-node rate now against what it is compared with (a week before when known, else the last hours)."""

    metric: str
    recent: float
    reference: float
    week_before: bool

    @property
    def ratio(self) -> float | None:
        return self.recent / self.reference if self.reference > 0 else None

    @property
    def grew(self) -> bool:
        return self.reference > 0 and self.recent >= RATE_GREW * self.reference


class SearchVerdict(BaseModel):
    """What the domain's metrics say, with the numbers behind them (storage in MB, pressure and CPU in percent)."""

    red_peak: float | None = None
    red_latest: float | None = None
    yellow_peak: float | None = None
    yellow_latest: float | None = None
    nodes_now: float | None = None
    nodes_usual: float | None = None
    nodes_expected: int | None = None
    free_mb_now: float | None = None
    free_mb_usual: float | None = None
    free_mb_week_before: float | None = None
    volume_mb: float | None = None
    writes_blocked_peak: float | None = None
    jvm_peak: float | None = None
    jvm_usual: float | None = None
    gc_old_recent: float | None = None
    gc_old_usual: float | None = None
    search_rejected_peak: float | None = None
    write_rejected_peak: float | None = None
    cpu_peak: float | None = None
    cpu_usual: float | None = None
    search_rate: RateChange | None = None
    indexing_rate: RateChange | None = None
    snapshot_failure_peak: float | None = None

    @property
    def red(self) -> bool:
        return (self.red_peak or 0) >= 1

    @property
    def yellow(self) -> bool:
        return not self.red and (self.yellow_peak or 0) >= 1

    @property
    def nodes_lost(self) -> bool:
        now = self.nodes_now
        if now is None:
            return False
        if self.nodes_expected is not None:
            return now < self.nodes_expected
        return self.nodes_usual is not None and now < self.nodes_usual

    @property
    def free_share(self) -> float | None:
        if self.free_mb_now is None or not self.volume_mb:
            return None
        return self.free_mb_now / self.volume_mb

    @property
    def flood_stage(self) -> bool:
        share = self.free_share
        return share is not None and share <= FLOOD_STAGE_FREE_SHARE

    @property
    def storage_low(self) -> bool:
        share = self.free_share
        return share is not None and share <= LOW_FREE_SHARE

    @property
    def free_mb_reference(self) -> float | None:
        return self.free_mb_week_before if self.free_mb_week_before is not None else self.free_mb_usual

    @property
    def jvm_high(self) -> bool:
        return (self.jvm_peak or 0) >= JVM_PRESSURE_HIGH

    @property
    def gc_climbing(self) -> bool:
        recent, usual = self.gc_old_recent, self.gc_old_usual
        if recent is None or recent < 1:
            return False
        return usual is None or usual == 0 or recent >= GC_CLIMB * usual

    @property
    def cpu_high(self) -> bool:
        return (self.cpu_peak or 0) >= CPU_HIGH


def _peak(window: FlowWindow | None) -> float | None:
    return window.peak if window is not None else None


def _reference(window: FlowWindow | None) -> float | None:
    """A week-before window's level: its last quarter-hour, else what came before."""
    if window is None or window.points == 0:
        return None
    return window.recent if window.recent is not None else window.baseline


def _rate(metric: str, flow: dict[str, FlowWindow], week: dict[str, FlowWindow]) -> RateChange | None:
    window = flow.get(metric)
    if window is None or window.recent is None:
        return None
    week_before = _reference(week.get(metric))
    reference = week_before if week_before is not None else window.baseline
    if reference is None:
        return None
    return RateChange(metric=metric, recent=window.recent, reference=reference, week_before=week_before is not None)


def search_verdict(
    flow: dict[str, FlowWindow], *, week_before: dict[str, FlowWindow] | None = None, domain: SearchDomain | None = None
) -> SearchVerdict:
    """The domain's health, heap, disk and traffic numbers, from its windows (and a week before)."""
    week = week_before or {}
    red, yellow, nodes = flow.get(RED), flow.get(YELLOW), flow.get(NODES)
    free, jvm, gc, cpu = flow.get(FREE_STORAGE), flow.get(JVM_PRESSURE), flow.get(GC_OLD), flow.get(CPU)
    return SearchVerdict(
        red_peak=_peak(red),
        red_latest=red.latest if red else None,
        yellow_peak=_peak(yellow),
        yellow_latest=yellow.latest if yellow else None,
        nodes_now=nodes.latest if nodes else None,
        nodes_usual=nodes.baseline if nodes else None,
        nodes_expected=domain.expected_nodes if domain else None,
        free_mb_now=free.latest if free else None,
        free_mb_usual=free.baseline if free else None,
        free_mb_week_before=_reference(week.get(FREE_STORAGE)),
        volume_mb=float(domain.volume_gib * 1024) if domain and domain.volume_gib else None,
        writes_blocked_peak=_peak(flow.get(WRITES_BLOCKED)),
        jvm_peak=_peak(jvm),
        jvm_usual=jvm.baseline if jvm else None,
        gc_old_recent=gc.recent if gc else None,
        gc_old_usual=gc.baseline if gc else None,
        search_rejected_peak=_peak(flow.get(SEARCH_REJECTED)),
        write_rejected_peak=_peak(flow.get(WRITE_REJECTED)),
        cpu_peak=_peak(cpu),
        cpu_usual=cpu.baseline if cpu else None,
        search_rate=_rate(SEARCH_RATE, flow, week),
        indexing_rate=_rate(INDEXING_RATE, flow, week),
        snapshot_failure_peak=_peak(flow.get(SNAPSHOT_FAILURE)),
    )


def _gib(mb: float) -> str:
    gib = mb / 1024
    return f"{gib:.1f} GiB" if gib < 10 else f"{gib:,.0f} GiB"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _config_text(domain: SearchDomain) -> str:
    parts = [domain.engine_version or "engine version unknown"]
    if domain.instance_count is not None:
        parts.append(
            f"{domain.instance_count} x {domain.instance_type or '?'} data node{'s' * (domain.instance_count != 1)}"
        )
    if domain.dedicated_master_count:
        parts.append(f"{_plural(domain.dedicated_master_count, 'dedicated master')} ({domain.dedicated_master_type})")
    else:
        parts.append("no dedicated masters")
    if domain.warm_count:
        parts.append(_plural(domain.warm_count, "UltraWarm node"))
    if domain.volume_gib is not None:
        parts.append(f"{domain.volume_gib} GiB {domain.volume_type or 'EBS'} volume per data node")
    if domain.zone_awareness:
        parts.append("zone awareness")
    if domain.upgrade_processing:
        parts.append("an engine upgrade is running")
    elif domain.processing:
        parts.append("a configuration change is being applied (blue/green)")
    return f"OpenSearch domain {domain.name}: " + ", ".join(parts)


def _status_fact(name: str, verdict: SearchVerdict, link: str) -> Fact | None:
    if verdict.red:
        colour, latest, meaning = "red", verdict.red_latest, "at least one primary shard is unassigned"
    elif verdict.yellow:
        colour, latest, meaning = "yellow", verdict.yellow_latest, "replica shards are unassigned"
    else:
        return None
    now = f"still {colour} now" if (latest or 0) >= 1 else f"no longer {colour} at the last datapoint"
    return Fact(
        key=f"compute.search_cluster_{colour}",
        text=f"Cluster status of {name} is {colour} ({meaning}) in the last 45 min, {now}",
        value=colour,
        link=link,
        subject=name,
        numbers=Measurement(value=1.0, latest=latest, unit="status", threshold=1.0, crossed=True),
    )


def _nodes_fact(name: str, verdict: SearchVerdict, domain: SearchDomain, link: str) -> Fact | None:
    now = verdict.nodes_now
    if now is None:
        return None
    expected = verdict.nodes_expected
    configured = f"{expected} configured" if expected is not None else f"usually {number(verdict.nodes_usual or 0)}"
    if not verdict.nodes_lost:
        return None
    missing = (expected if expected is not None else verdict.nodes_usual or now) - now
    text = f"{name} has lost {_plural(round(missing), 'node')}: Nodes {number(now)} ({configured}"
    if expected is not None and domain.dedicated_master_count:
        text += f": {domain.instance_count} data, {domain.dedicated_master_count} dedicated masters"
    text += ")"
    return Fact(
        key="compute.search_nodes_lost",
        text=text,
        value=now,
        link=link,
        subject=name,
        numbers=Measurement(
            value=now, baseline=verdict.nodes_usual, threshold=float(expected) if expected else None, unit="nodes"
        ),
    )


def _storage_fact(name: str, verdict: SearchVerdict, link: str) -> Fact | None:
    free, volume, share = verdict.free_mb_now, verdict.volume_mb, verdict.free_share
    if free is None:
        return None
    text = f"Free storage on {name}'s fullest node: {_gib(free)}"
    if volume and share is not None:
        text += f" free of its {_gib(volume)} volume ({share:.0%})"
        if verdict.flood_stage:
            text += ", under the 5 % flood stage where its indices become read-only"
    reference = verdict.free_mb_reference
    since = "a week before" if verdict.free_mb_week_before is not None else "usual"
    if reference is not None:
        text += f"; {since} {_gib(reference)} free"
    return Fact(
        key="compute.search_storage_low" if verdict.storage_low else "compute.search_storage",
        text=text,
        value=round(share, 3) if share is not None else None,
        link=link,
        subject=name,
        numbers=Measurement(
            value=free,
            baseline=reference,
            unit="MB",
            change_pct=round((free - reference) / reference * 100, 1) if reference else None,
            threshold=volume * FLOOD_STAGE_FREE_SHARE if volume else None,
            crossed=verdict.flood_stage if volume else None,
        ),
    )


def _count_fact(key: str, name: str, text: str, peak: float | None, link: str) -> Fact | None:
    if not peak:
        return None
    return Fact(
        key=key,
        text=text,
        value=peak,
        link=link,
        subject=name,
        numbers=Measurement(value=peak, unit="count", window="5m"),
    )


def _jvm_fact(name: str, verdict: SearchVerdict, link: str) -> Fact | None:
    peak = verdict.jvm_peak
    if peak is None or not verdict.jvm_high:
        return None
    text = f"The heap of {name} is under pressure: {JVM_PRESSURE} {peak:.0f} % at the peak"
    if verdict.jvm_usual is not None:
        text += f" (usual {verdict.jvm_usual:.0f} %)"
    if peak >= JVM_WRITES_BLOCKED:
        text += ", past the 92 % at which the service blocks writes"
    return Fact(
        key="compute.search_jvm_pressure",
        text=text,
        value=peak,
        link=link,
        subject=name,
        numbers=Measurement(
            value=peak, baseline=verdict.jvm_usual, unit="percent", threshold=JVM_PRESSURE_HIGH, crossed=True
        ),
    )


def _gc_fact(name: str, verdict: SearchVerdict, link: str) -> Fact | None:
    recent = verdict.gc_old_recent
    if recent is None or not verdict.gc_climbing:
        return None
    usual = verdict.gc_old_usual
    text = f"Old-generation garbage collections on {name} climb: {GC_OLD} {number(round(recent, 1))} per 5 min"
    text += f" (usual {number(round(usual, 1))})" if usual is not None else ""
    return Fact(
        key="compute.search_gc_old_rising",
        text=text,
        value=recent,
        link=link,
        subject=name,
        numbers=Measurement(value=recent, baseline=usual, unit="count", window="5m"),
    )


def _rate_fact(name: str, rate: RateChange | None, link: str) -> Fact | None:
    if rate is None:
        return None
    what = "Search traffic" if rate.metric == SEARCH_RATE else "Indexing"
    since = "a week before" if rate.week_before else "usual"
    ratio = rate.ratio
    moved = f"grew {ratio:.1f}x" if rate.grew and ratio is not None else "is about as usual"
    if not rate.grew and ratio is not None and ratio <= 1 / RATE_GREW:
        moved = f"fell to {ratio:.0%}"
    text = (
        f"{what} on {name} {moved}: {rate.metric} {number(round(rate.recent, 1))} per node and minute "
        f"({since} {number(round(rate.reference, 1))})"
    )
    base = "compute.search_query" if rate.metric == SEARCH_RATE else "compute.search_indexing"
    return Fact(
        key=f"{base}_growth" if rate.grew else f"{base}_rate",
        text=text,
        value=round(ratio, 2) if ratio is not None else None,
        link=link,
        subject=name,
        numbers=Measurement(
            value=rate.recent,
            baseline=rate.reference,
            unit="per minute",
            change_pct=round((rate.recent - rate.reference) / rate.reference * 100, 1) if rate.reference else None,
        ),
    )


def _cpu_fact(name: str, verdict: SearchVerdict, link: str) -> Fact | None:
    peak = verdict.cpu_peak
    if peak is None or not verdict.cpu_high:
        return None
    text = f"CPU of {name}'s busiest node: {peak:.0f} % at the peak"
    text += f" (usual {verdict.cpu_usual:.0f} %)" if verdict.cpu_usual is not None else ""
    return Fact(
        key="compute.search_cpu_high",
        text=text,
        value=peak,
        link=link,
        subject=name,
        numbers=Measurement(value=peak, baseline=verdict.cpu_usual, unit="percent", threshold=CPU_HIGH, crossed=True),
    )


def search_facts(name: str, verdict: SearchVerdict, domain: SearchDomain, link: str) -> list[Fact]:
    """The verdict as facts, the cause-naming ones first."""
    found = [
        _status_fact(name, verdict, link),
        _nodes_fact(name, verdict, domain, link),
        _count_fact(
            "compute.search_writes_blocked",
            name,
            f"Writes to {name} are blocked: {WRITES_BLOCKED} {number(verdict.writes_blocked_peak or 0)} "
            "(its indices are read-only)",
            verdict.writes_blocked_peak,
            link,
        ),
        _storage_fact(name, verdict, link),
        _jvm_fact(name, verdict, link),
        _count_fact(
            "compute.search_search_rejected",
            name,
            f"Searches on {name} are rejected: {SEARCH_REJECTED} {number(round(verdict.search_rejected_peak or 0))} "
            "per 5 min at the peak (the search thread pool's queue is full)",
            verdict.search_rejected_peak,
            link,
        ),
        _count_fact(
            "compute.search_write_rejected",
            name,
            f"Writes to {name} are rejected: {WRITE_REJECTED} {number(round(verdict.write_rejected_peak or 0))} "
            "per 5 min at the peak (the write thread pool's queue is full)",
            verdict.write_rejected_peak,
            link,
        ),
        _gc_fact(name, verdict, link),
        _cpu_fact(name, verdict, link),
        _rate_fact(name, verdict.indexing_rate, link),
        _rate_fact(name, verdict.search_rate, link),
        _count_fact(
            "compute.search_snapshot_failed",
            name,
            f"Automated snapshots of {name} fail: {SNAPSHOT_FAILURE} {number(verdict.snapshot_failure_peak or 0)}",
            verdict.snapshot_failure_peak,
            link,
        ),
    ]
    return [fact for fact in found if fact is not None]


NOT_READ = (
    "Not read: which shards are unassigned and why (_cluster/allocation/explain), the shards per node and the ISM "
    "retention policies: they are in the cluster's own REST API, not an AWS API."
)


def opensearch_domain_evidence(
    reader: OpenSearchReader, cloudwatch: CloudWatchReader, target: Target, *, now: datetime
) -> Evidence:
    """The domain's configuration, and what its cluster status, nodes, storage, heap, rejections, CPU and rates
    (against a week before) say."""
    evidence = Evidence()
    name = target.name
    evidence.looked_at.append(f"OpenSearch domain {name} configuration (DescribeDomain)")
    domain = evidence.read_resource(
        f"OpenSearch domain {name}", lambda: reader.domain(name), missing=f"No OpenSearch domain named {name}"
    )
    if domain is None:
        return evidence
    link = console_links.opensearch_domain_url(name, target.region)
    evidence.facts.append(
        Fact(
            key="compute.search_domain_config",
            text=_config_text(domain),
            value=domain.instance_type,
            link=link,
            subject=name,
            numbers=Measurement(value=float(domain.instance_count), unit="data nodes")
            if domain.instance_count is not None
            else None,
        )
    )
    account = domain.account_id or target.qualifiers.get("ClientId")
    if account is None:
        evidence.notes.append(f"Not read: {name}'s metrics (no account id for their ClientId dimension).")
        return evidence
    dimensions = {"DomainName": name, "ClientId": account}
    evidence.looked_at.append(
        f"CloudWatch AWS/ES metrics of {name} (cluster status, nodes, free storage, JVM pressure, rejections, CPU, "
        "search and indexing rates), last 3 h, and storage and rates a week before"
    )
    flow = evidence.read(
        f"AWS/ES metrics of {name}",
        lambda: read_flow(cloudwatch, NAMESPACE, dimensions, FLOW_METRICS, now=now, count_metrics=COUNT_METRICS),
    )
    if flow is None:
        return evidence
    week = evidence.read(
        f"AWS/ES storage and rates of {name} a week before",
        lambda: read_flow(cloudwatch, NAMESPACE, dimensions, WEEK_METRICS, now=now - WEEK),
    )
    verdict = search_verdict(flow, week_before=week, domain=domain)
    evidence.facts[:0] = search_facts(name, verdict, domain, link)
    if verdict.nodes_now is not None and not verdict.nodes_lost:
        evidence.notes.append(f"{name} has all its nodes: Nodes {number(verdict.nodes_now)}.")
    if verdict.jvm_peak is not None and not verdict.jvm_high:
        evidence.notes.append(f"{name}'s JVM memory pressure peaks at {verdict.jvm_peak:.0f} %.")
    evidence.notes.append(NOT_READ)
    return evidence
