"""OpenSearch domains: why a domain's cluster is red or yellow, its heap under pressure, its disk filling or its CPU
high, and a domain's commands.

The interpreter (`functions.shared.investigate.search`) writes the domain's configuration and each reading of its
metrics as a fact with numbers. The detector rules causes out in the order an SRE does: a disk at the flood stage
explains read-only indices, a red cluster and rejected writes at once; a lost node explains unassigned shards; a
heap under pressure explains rejections, old-generation collections and CPU, and whether the load grew (search or
indexing rate against a week before) or each request got heavier says which fix applies; a yellow cluster with all
its nodes on one data node cannot place its replicas. Storage falling with ingest growth, or without it (nothing
deletes old indices), CPU with the rates that moved, and failing snapshots come after.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.analyze.rules.commands import alert_target, diagnostics_moment, in_region
from functions.analyze.rules.facts import Facts, Finding, alarm_details, as_clause, text_after_colon
from functions.shared.aws_commands import BuiltCommand, ValueKind, kind_problem, opt
from functions.shared.models import Alert, Fact

NAMESPACE = "AWS/ES"
FREE_STORAGE = "FreeStorageSpace"
# The heap share at which the service blocks writes (as the flood stage does for a disk).
JVM_WRITES_BLOCKED = 92.0
METRIC_WINDOW = timedelta(hours=3)
ALLOCATION_EXPLAIN = "GET _cluster/allocation/explain"
WATCH_STATUS = "Watch the cluster status return to green (ClusterStatus.green) before closing the page."


def _domain_metric(alert: Alert, domain: str, metric: str, statistic: str) -> list[BuiltCommand]:
    """The domain's `metric` over the three hours before the alert, when the alert names its account (ClientId)."""
    when = diagnostics_moment(alert, None)
    account = alert.account_id
    if when is None or not account or kind_problem(account, ValueKind.ACCOUNT_ID):
        return []
    when = when.astimezone(UTC)
    return [
        in_region(
            alert,
            "cloudwatch",
            "get-metric-statistics",
            opt("--namespace", NAMESPACE, ValueKind.SHORTHAND),
            opt("--metric-name", metric),
            opt(
                "--dimensions",
                [f"Name=DomainName,Value={domain}", f"Name=ClientId,Value={account}"],
                ValueKind.SHORTHAND,
            ),
            opt("--start-time", (when - METRIC_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")),
            opt("--end-time", (when + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")),
            opt("--period", 300, ValueKind.INTEGER),
            opt("--statistics", [statistic]),
        )
    ]


def _domain_commands(alert: Alert, domain: str, *metrics: tuple[str, str]) -> list[BuiltCommand]:
    """The domain's configuration and processing state, then the metrics the cause rests on."""
    commands = [in_region(alert, "opensearch", "describe-domain", opt("--domain-name", domain))]
    for metric, statistic in metrics:
        commands.extend(_domain_metric(alert, domain, metric, statistic))
    return commands


def _own(facts: Facts, domain: str, key: str) -> Fact | None:
    """The domain's own fact `key` (not a neighbour's, not another domain's)."""
    fact = facts.get(key)
    return fact if fact is not None and fact.via is None and fact.subject == domain else None


def _joined(facts: list[Fact | None]) -> str:
    return "; ".join(as_clause(fact.text) for fact in facts if fact is not None)


def _keys(*facts: Fact | None) -> list[str]:
    return [fact.key for fact in facts if fact is not None]


def _grew(fact: Fact | None) -> bool:
    return fact is not None and fact.key.endswith("_growth")


def _disk_full(alert: Alert, facts: Facts, domain: str) -> Finding | None:
    storage = _own(facts, domain, "compute.search_storage_low")
    blocked = _own(facts, domain, "compute.search_writes_blocked")
    flood = storage is not None and storage.numbers is not None and bool(storage.numbers.crossed)
    jvm = _own(facts, domain, "compute.search_jvm_pressure")
    # Writes are also blocked by a heap past 92 %: short of the flood stage, that block is the heap's.
    heap_blocks = jvm is not None and jvm.numbers is not None and (jvm.numbers.value or 0) >= JVM_WRITES_BLOCKED
    if storage is None or not (flood or (blocked is not None and not heap_blocks)):
        return None
    status = _own(facts, domain, "compute.search_cluster_red") or _own(facts, domain, "compute.search_cluster_yellow")
    indexing = _own(facts, domain, "compute.search_indexing_growth") or _own(
        facts, domain, "compute.search_indexing_rate"
    )
    rejected = _own(facts, domain, "compute.search_write_rejected")
    sentence = f"OpenSearch domain {domain} ran out of disk: {text_after_colon(storage)}"
    symptoms = _joined([blocked, status, rejected])
    if symptoms:
        sentence += f"; {symptoms}"
    if _grew(indexing) and indexing is not None:
        sentence += f"; the disk filled because ingest grew: {as_clause(indexing.text)}"
    elif indexing is not None:
        sentence += f"; ingest did not grow ({as_clause(indexing.text)}), so old indices are not being deleted"
    config = _own(facts, domain, "compute.search_domain_config")
    if config is not None:
        sentence += f"; {as_clause(config.text)}"
    recommendations = [
        f"Free disk on {domain} now: delete the oldest indices you can lose (DELETE /<old-index>) or raise the EBS "
        "volume size (UpdateDomainConfig, EBSOptions; a blue/green change) or add data nodes.",
        "Once usage is back under the flood stage, make sure the indices are writable again: the service lifts "
        "the read-only block itself on current versions; on older ones clear index.blocks.read_only_allow_delete.",
        "Give the indices a retention: an ISM policy that rolls over and deletes (or moves to UltraWarm) what is "
        "older than the retention, sized for the ingest rate.",
    ]
    if _grew(indexing):
        recommendations.append(
            "Find which producer doubled its writes (a new log source, debug logging, a backfill) and whether the "
            "level is the new normal before sizing the storage for it."
        )
    if status is not None:
        recommendations.append(WATCH_STATUS)
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=_keys(storage, blocked, status, indexing, rejected, config),
        recommendations=recommendations,
        diagnostics=_domain_commands(alert, domain, ("FreeStorageSpace", "Minimum"), ("IndexingRate", "Average")),
    )


def _node_lost(alert: Alert, facts: Facts, domain: str) -> Finding | None:
    lost = _own(facts, domain, "compute.search_nodes_lost")
    if lost is None:
        return None
    status = _own(facts, domain, "compute.search_cluster_red") or _own(facts, domain, "compute.search_cluster_yellow")
    jvm = _own(facts, domain, "compute.search_jvm_pressure")
    config = _own(facts, domain, "compute.search_domain_config")
    sentence = f"OpenSearch domain {domain} lost a node, so its shards are unassigned: {text_after_colon(lost)}"
    if status is not None:
        sentence += f"; {as_clause(status.text)}"
    if jvm is not None:
        sentence += f"; the heap was under pressure before it left ({text_after_colon(jvm)}), a node out of memory"
    if config is not None:
        sentence += f"; {as_clause(config.text)}"
    recommendations = [
        f"Check {domain}'s health in the console (and AWS Health) for a replaced instance; the service replaces a "
        "failed node itself, and the shards reassign once it joins.",
        f"See which shards are unassigned and why with {ALLOCATION_EXPLAIN}; a red index without a replica "
        "needs a restore from the latest snapshot.",
        "Keep one lost node from turning the cluster red: at least one replica per index, three dedicated masters, "
        "and zone awareness across two or three zones.",
    ]
    if jvm is not None:
        recommendations.insert(
            1, "Bring the heap down before the replacement fills too: smaller aggregations, fewer shards per node."
        )
    if status is not None:
        recommendations.append(WATCH_STATUS)
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=_keys(lost, status, jvm, config),
        recommendations=recommendations,
        diagnostics=_domain_commands(alert, domain, ("Nodes", "Minimum")),
    )


def _heap_pressure(alert: Alert, facts: Facts, domain: str) -> Finding | None:
    jvm = _own(facts, domain, "compute.search_jvm_pressure")
    if jvm is None:
        return None
    search_rejected = _own(facts, domain, "compute.search_search_rejected")
    write_rejected = _own(facts, domain, "compute.search_write_rejected")
    gc = _own(facts, domain, "compute.search_gc_old_rising")
    cpu = _own(facts, domain, "compute.search_cpu_high")
    queries = _own(facts, domain, "compute.search_query_growth") or _own(facts, domain, "compute.search_query_rate")
    indexing = _own(facts, domain, "compute.search_indexing_growth") or _own(
        facts, domain, "compute.search_indexing_rate"
    )
    config = _own(facts, domain, "compute.search_domain_config")
    status = _own(facts, domain, "compute.search_cluster_red") or _own(facts, domain, "compute.search_cluster_yellow")
    blocked = _own(facts, domain, "compute.search_writes_blocked")
    sentence = f"OpenSearch domain {domain} is short of heap: {text_after_colon(jvm)}"
    symptoms = _joined([blocked, search_rejected, write_rejected, gc, cpu, status])
    if symptoms:
        sentence += f"; {symptoms}"
    if _grew(queries) and queries is not None:
        cause = "search traffic"
        sentence += f"; the load grew: {as_clause(queries.text)}"
    elif _grew(indexing) and indexing is not None:
        cause = "indexing traffic"
        sentence += f"; the load grew: {as_clause(indexing.text)}"
    else:
        cause = "heavier requests"
        moved = _joined([queries, indexing])
        sentence += (
            f"; the number of requests did not grow ({moved}), so each request needs more heap: heavy queries or "
            "aggregations (a new dashboard, a wide terms or date-histogram aggregation), or more shards than the "
            "heap holds"
            if moved
            else "; heavy queries or aggregations, or more shards than the heap holds"
        )
    if config is not None:
        sentence += f"; {as_clause(config.text)}"
    recommendations = []
    if cause == "heavier requests":
        recommendations.append(
            f"Find the expensive searches on {domain}: its search slow logs and the tasks API show what runs "
            "now; cap the aggregations (smaller size, narrower time range, no terms on high-cardinality "
            "fields) of whatever started querying it (a new dashboard or report)."
        )
    else:
        recommendations.append(
            f"Find who sends the extra {cause} to {domain} (a deploy, a new client, a retry loop) and throttle or "
            "batch it; size the cluster for it only if it is the new normal."
        )
    recommendations += [
        "If the load is legitimate, give the heap room: a larger instance type (the heap is half its memory, up to "
        "32 GiB) or more data nodes; keep shards per node under 25 per GiB of heap (shrink or merge small indices).",
        "Keep JVM memory pressure under 80 %: at 92 % the service blocks writes, and a node out of memory leaves "
        "the cluster.",
    ]
    if status is not None:
        recommendations.append(WATCH_STATUS)
    rejected_metric = "ThreadpoolWriteRejected" if cause == "indexing traffic" else "ThreadpoolSearchRejected"
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if search_rejected or write_rejected or gc else "medium",
        evidence_keys=_keys(jvm, search_rejected, write_rejected, gc, queries, indexing, cpu, status, config),
        recommendations=recommendations,
        diagnostics=_domain_commands(alert, domain, ("JVMMemoryPressure", "Maximum"), (rejected_metric, "Sum")),
    )


def _unplaced_replicas(alert: Alert, facts: Facts, domain: str) -> Finding | None:
    """A yellow (or red) cluster with every node there, no full disk and no heap pressure."""
    red, yellow = (
        _own(facts, domain, "compute.search_cluster_red"),
        _own(facts, domain, "compute.search_cluster_yellow"),
    )
    status = red or yellow
    if status is None or (red is None and not (alarm_details(alert).metric_name or "").startswith("ClusterStatus.")):
        return None  # a yellow cluster beside another alarm (CPU, a snapshot) is not that alarm's cause
    config = _own(facts, domain, "compute.search_domain_config")
    data_nodes = config.numbers.value if config is not None and config.numbers is not None else None
    if yellow is not None and data_nodes is not None and data_nodes <= 1:
        sentence = (
            f"OpenSearch domain {domain} cannot place its replica shards: {text_after_colon(yellow)}; it has a single "
            "data node, and a replica is never placed on the node that holds its primary"
        )
        sentence += f" ({as_clause(config.text)})" if config is not None else ""
        return Finding(
            root_cause=sentence + ".",
            confidence="high",
            evidence_keys=_keys(yellow, config),
            recommendations=[
                f"Add a data node to {domain} (two or more, better three across zones), or set number_of_replicas "
                "to 0 on a domain that is meant to be single-node and accepts losing data with the node.",
                WATCH_STATUS,
            ],
            diagnostics=_domain_commands(alert, domain, ("ClusterStatus.yellow", "Maximum")),
        )
    storage = _own(facts, domain, "compute.search_storage")
    sentence = (
        f"OpenSearch domain {domain}: {as_clause(status.text)}; no node is lost, no disk is at the flood stage and the "
        "heap is not under pressure, so why the shards are unassigned is in the cluster itself (not read)"
    )
    if storage is not None:
        sentence += f"; {as_clause(storage.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="low",
        evidence_keys=_keys(status, config, storage),
        recommendations=[
            f"Ask the cluster why: {ALLOCATION_EXPLAIN} names the unassigned shard and the reason (too few nodes for "
            "number_of_replicas, an allocation filter, a shard too large for any disk, a corrupted shard).",
            "If an index has more replicas than the data nodes can hold (replicas + 1 > data nodes), lower its "
            "number_of_replicas or add nodes.",
            WATCH_STATUS,
        ],
        diagnostics=_domain_commands(
            alert, domain, ("ClusterStatus.red" if red else "ClusterStatus.yellow", "Maximum")
        ),
    )


def _storage_falling(alert: Alert, facts: Facts, domain: str) -> Finding | None:
    storage = _own(facts, domain, "compute.search_storage_low")
    if storage is None or alarm_details(alert).metric_name != FREE_STORAGE:
        return None
    indexing = _own(facts, domain, "compute.search_indexing_growth") or _own(
        facts, domain, "compute.search_indexing_rate"
    )
    sentence = f"OpenSearch domain {domain} is running out of disk: {text_after_colon(storage)}"
    if _grew(indexing) and indexing is not None:
        sentence += f"; ingest grew: {as_clause(indexing.text)}"
        first = (
            "Find which producer writes more (a new log source, debug logging, a backfill) and whether the level is "
            "the new normal; size the storage for it."
        )
    else:
        sentence += (
            f"; ingest did not grow ({as_clause(indexing.text)}), so the indices are kept longer than the disk holds"
            if indexing is not None
            else "; the indices are kept longer than the disk holds"
        )
        first = "Give the indices a retention: an ISM policy that rolls over and deletes what is older than needed."
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=_keys(storage, indexing, _own(facts, domain, "compute.search_domain_config")),
        recommendations=[
            first,
            f"Before the fullest node reaches the 95 % flood stage (its indices become read-only), delete old indices "
            f"or raise {domain}'s EBS volume size or data node count.",
        ],
        diagnostics=_domain_commands(alert, domain, ("FreeStorageSpace", "Minimum"), ("IndexingRate", "Average")),
    )


def _busy_cpu(alert: Alert, facts: Facts, domain: str) -> Finding | None:
    cpu = _own(facts, domain, "compute.search_cpu_high")
    if cpu is None:
        return None
    queries = _own(facts, domain, "compute.search_query_growth") or _own(facts, domain, "compute.search_query_rate")
    indexing = _own(facts, domain, "compute.search_indexing_growth") or _own(
        facts, domain, "compute.search_indexing_rate"
    )
    grown = [fact for fact in (queries, indexing) if _grew(fact)]
    sentence = f"OpenSearch domain {domain} is CPU-bound: {text_after_colon(cpu)}"
    if grown:
        sentence += "; the load grew: " + _joined(list(grown))
        first = (
            f"Find who sends the extra requests to {domain} (a deploy, a new client, a retry loop); scale the data "
            "nodes (more or larger) only if it is the new normal."
        )
    else:
        moved = _joined([queries, indexing])
        sentence += f"; the request rates did not grow ({moved}), so each request costs more" if moved else ""
        first = (
            f"Find the expensive searches on {domain} (its search slow logs, the tasks API): heavy "
            "aggregations, wildcard or regex queries, scripts."
        )
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=_keys(cpu, queries, indexing, _own(facts, domain, "compute.search_domain_config")),
        recommendations=[first, "Spread the load: enough primary shards for every data node to share the work."],
        diagnostics=_domain_commands(alert, domain, ("CPUUtilization", "Maximum"), ("SearchRate", "Average")),
    )


def _snapshots_failing(alert: Alert, facts: Facts, domain: str) -> Finding | None:
    failed = _own(facts, domain, "compute.search_snapshot_failed")
    if failed is None:
        return None
    return Finding(
        root_cause=f"OpenSearch domain {domain}: {text_after_colon(failed)}; the cluster is not red, so the cause "
        "is in the snapshot itself (not read).",
        confidence="low",
        evidence_keys=_keys(failed, _own(facts, domain, "compute.search_domain_config")),
        recommendations=[
            "List the automated snapshots (the cs-automated repository, through the snapshot API) and why they "
            "failed; automated snapshots also fail while an index is red or read-only.",
        ],
        diagnostics=_domain_commands(alert, domain, ("AutomatedSnapshotFailure", "Maximum")),
    )


def search_domain_trouble(alert: Alert, facts: Facts) -> Finding | None:
    """Why the alert's OpenSearch domain pages: the first cause its facts show, in the order above."""
    domain = alert_target(alert, "opensearch_domain")
    if domain is None or not any(_own(facts, domain, key) for key in facts.keys("compute.search_")):
        return None  # no domain, or it was not investigated
    config = _own(facts, domain, "compute.search_domain_config")
    metric = alarm_details(alert).metric_name or ""
    # A storage alarm asks about the disk first: a busy heap beside it is not why the disk fills.
    storage_first = (_storage_falling,) if metric == FREE_STORAGE else ()
    for detect in (
        _disk_full,
        _node_lost,
        *storage_first,
        _heap_pressure,
        _unplaced_replicas,
        _storage_falling,
        _busy_cpu,
        _snapshots_failing,
    ):
        found = detect(alert, facts, domain)
        if found is not None:
            return found
    if alarm_details(alert).namespace != NAMESPACE:
        return None
    return Finding(
        root_cause=f"OpenSearch domain {domain}'s {metric or 'metric'} alarm fired, but its cluster status, nodes, "
        "free storage, heap and request rates show no cause" + (f"; {as_clause(config.text)}." if config else "."),
        confidence="low",
        evidence_keys=_keys(config, _own(facts, domain, "compute.search_storage")),
        recommendations=[
            f"Graph {metric or 'the metric'} per node (the NodeId dimension) to see whether one node is the outlier.",
            f"Check {domain}'s recent configuration changes and AWS Health events.",
        ],
        diagnostics=_domain_commands(alert, domain),
    )


def opensearch_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    domain = alert_target(alert, "opensearch_domain")
    return _domain_commands(alert, domain) if domain else []
