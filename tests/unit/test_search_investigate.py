"""OpenSearch investigation: the interpreter reads a domain's numbers (cluster status, nodes against its
configuration, free storage against its volume and a week before, heap, rejections, rates against a week before),
the investigator reads the domain and its metrics by DomainName and ClientId, and the rule names the cause, each
with its own next steps and read-only commands. The numbers differ from the built-in scenarios' on purpose."""

from __future__ import annotations

from datetime import timedelta

from functions.analyze.rules import analyze_with_rules
from functions.shared.adapters.cloudwatch import MetricSeries
from functions.shared.adapters.search import OpenSearchReader, SearchDomain, account_of_domain_id
from functions.shared.classification import classify_payload
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.flow import FlowWindow, flow_window
from functions.shared.investigate.search import (
    opensearch_domain_evidence,
    search_verdict,
)
from functions.shared.investigate.target import Target, implicated_target
from functions.shared.models import AnalysisBody, ContextSection, GatheredContext, ResourceRef
from functions.shared.registry import resource_console_link
from tests.support.gather_fakes import NOW, FakeCloudWatch, alarm_alert
from tests.unit.test_companions import _eventbridge_alarm

ACCOUNT = "123456789012"
WEEK_MINUTES = 7 * 24 * 60
DIMENSIONS = {"DomainName": "orders-index", "ClientId": ACCOUNT}


def domain(**overrides: object) -> SearchDomain:
    fields: dict[str, object] = {
        "name": "orders-index",
        "arn": f"arn:aws:es:us-east-1:{ACCOUNT}:domain/orders-index",
        "account_id": ACCOUNT,
        "engine_version": "OpenSearch_2.9",
        "instance_type": "m6g.2xlarge.search",
        "instance_count": 2,
        "dedicated_master_type": "c6g.large.search",
        "dedicated_master_count": 3,
        "volume_gib": 80,
        "volume_type": "gp3",
    }
    fields.update(overrides)
    return SearchDomain.model_validate(fields)


class FakeOpenSearch:
    def __init__(self, *domains: SearchDomain) -> None:
        self.domains = {d.name: d for d in domains}

    def domain(self, name: str) -> SearchDomain | None:
        return self.domains.get(name)


def five_minute(before: list[float], recent: list[float], *, ago: float = 0) -> list[tuple[float, float]]:
    """(minutes before NOW, value), oldest first, one point every 5 minutes, the last one `ago` minutes ago."""
    values = before + recent
    return [(ago + (len(values) - 1 - i) * 5, v) for i, v in enumerate(values)]


def window(metric: str, baseline: float, recent: list[float], *, count: bool = False) -> FlowWindow:
    stamped = [(NOW - timedelta(minutes=m), v) for m, v in five_minute([baseline] * 27, recent)]
    series = MetricSeries(id="x", stat="Maximum", timestamps=[t for t, _ in stamped], values=[v for _, v in stamped])
    return flow_window(metric, series, NOW, missing_is_zero=count)


def steady(metric: str, value: float) -> FlowWindow:
    return window(metric, value, [value] * 9)


# --- The interpreter -------------------------------------------------------------------------------------------


def test_free_storage_is_read_against_the_volume_flood_stage_low_and_fine():
    volume = domain()  # 80 GiB = 81,920 MB per data node
    flood = search_verdict({"FreeStorageSpace": steady("FreeStorageSpace", 2_000)}, domain=volume)
    assert flood.flood_stage and flood.storage_low and flood.volume_mb == 81_920
    low = search_verdict({"FreeStorageSpace": steady("FreeStorageSpace", 15_000)}, domain=volume)
    assert low.storage_low and not low.flood_stage
    fine = search_verdict({"FreeStorageSpace": steady("FreeStorageSpace", 41_000)}, domain=volume)
    assert not fine.storage_low and not fine.flood_stage
    # Without a volume (instance storage) no share is guessed
    unknown = search_verdict({"FreeStorageSpace": steady("FreeStorageSpace", 2_000)}, domain=domain(volume_gib=None))
    assert unknown.free_share is None and not unknown.flood_stage


def test_nodes_are_counted_against_data_nodes_and_dedicated_masters():
    configured = domain()  # 2 data + 3 masters
    assert configured.expected_nodes == 5
    assert search_verdict({"Nodes": window("Nodes", 5, [5, 4, 4])}, domain=configured).nodes_lost
    assert not search_verdict({"Nodes": steady("Nodes", 5)}, domain=configured).nodes_lost
    # Without the configuration: against the usual count
    assert search_verdict({"Nodes": window("Nodes", 9, [9, 8])}).nodes_lost
    assert not search_verdict({"Nodes": steady("Nodes", 9)}).nodes_lost


def test_heap_gc_and_cpu_thresholds():
    high = search_verdict(
        {
            "JVMMemoryPressure": window("JVMMemoryPressure", 50, [70, 84]),
            "JVMGCOldCollectionCount": window("JVMGCOldCollectionCount", 0.5, [2, 3, 4]),
            "CPUUtilization": window("CPUUtilization", 30, [55, 82]),
        }
    )
    assert high.jvm_high and high.gc_climbing and high.cpu_high
    calm = search_verdict(
        {
            "JVMMemoryPressure": window("JVMMemoryPressure", 60, [66, 72]),
            "JVMGCOldCollectionCount": window("JVMGCOldCollectionCount", 2, [2, 3, 2.5]),
            "CPUUtilization": window("CPUUtilization", 30, [60, 64]),
        }
    )
    assert not calm.jvm_high and not calm.gc_climbing and not calm.cpu_high


def test_rates_are_compared_with_a_week_before_when_known():
    rate = window("SearchRate", 90, [200] * 9)  # more than twice the last hours
    assert search_verdict({"SearchRate": rate}).search_rate.grew  # type: ignore[union-attr]
    week = {"SearchRate": steady("SearchRate", 190)}  # but a week before was the same: the daily peak
    verdict = search_verdict({"SearchRate": rate}, week_before=week)
    assert verdict.search_rate is not None and verdict.search_rate.week_before
    assert verdict.search_rate.reference == 190 and not verdict.search_rate.grew


def test_red_is_not_also_yellow():
    verdict = search_verdict(
        {"ClusterStatus.red": window("ClusterStatus.red", 0, [1]), "ClusterStatus.yellow": window("x", 0, [1])}
    )
    assert verdict.red and not verdict.yellow


def test_a_domain_id_names_its_account():
    assert account_of_domain_id(f"{ACCOUNT}/orders-index") == ACCOUNT
    assert account_of_domain_id("orders-index") is None and account_of_domain_id(None) is None


# --- The investigator ------------------------------------------------------------------------------------------


def metrics(**overrides: list[tuple[float, float]]) -> FakeCloudWatch:
    """A healthy two-node domain (green, all nodes, half its disk free, heap 55 %), then `overrides` (by metric
    name, `_` for `.`); a week before: the same disk and rates."""
    series: dict[str, list[tuple[float, float]]] = {
        "ClusterStatus.red": five_minute([0] * 36, []),
        "ClusterStatus.yellow": five_minute([0] * 36, []),
        "Nodes": five_minute([5] * 36, []),
        "FreeStorageSpace": five_minute([42_000] * 36, []),
        "JVMMemoryPressure": five_minute([55] * 36, []),
        "CPUUtilization": five_minute([35] * 36, []),
        "SearchRate": five_minute([120] * 36, []),
        "IndexingRate": five_minute([700] * 36, []),
    }
    for name, points in overrides.items():
        series[name.replace("_", ".")] = points
    for name, level in (("FreeStorageSpace", 44_000), ("SearchRate", 118), ("IndexingRate", 690)):
        if not any(minutes >= WEEK_MINUTES for minutes, _ in series[name]):
            series[name] = series[name] + five_minute([level] * 36, [], ago=WEEK_MINUTES)
    return FakeCloudWatch(series=series)


def investigate(cloudwatch: FakeCloudWatch, configured: SearchDomain | None = None) -> Evidence:
    return opensearch_domain_evidence(
        FakeOpenSearch(configured or domain()),  # type: ignore[arg-type]
        cloudwatch,  # type: ignore[arg-type]
        Target.of("opensearch_domain", "orders-index", "us-east-1", qualifiers={"ClientId": ACCOUNT}),
        now=NOW,
    )


def test_the_investigator_reads_the_domain_and_its_metrics_by_domain_and_account():
    cloudwatch = metrics(
        FreeStorageSpace=five_minute([9_000] * 27, [6_000, 4_000, 3_100])
        + five_minute([30_000] * 36, [], ago=WEEK_MINUTES),
        ClusterIndexWritesBlocked=five_minute([0] * 30, [1, 1, 1]),
        IndexingRate=five_minute([700] * 36, []) + five_minute([350] * 36, [], ago=WEEK_MINUTES),
    )
    evidence = investigate(cloudwatch)

    config = evidence.fact("compute.search_domain_config")
    assert config is not None and config.numbers is not None and config.numbers.value == 2
    assert "2 x m6g.2xlarge.search data nodes" in config.text and "3 dedicated masters" in config.text
    storage = evidence.fact("compute.search_storage_low")
    assert storage is not None and storage.numbers is not None and storage.numbers.crossed
    assert (storage.numbers.value, storage.numbers.baseline) == (3_100, 30_000)
    assert "flood stage" in storage.text and "a week before" in storage.text
    assert evidence.fact("compute.search_writes_blocked") is not None
    indexing = evidence.fact("compute.search_indexing_growth")
    assert indexing is not None and indexing.value == 2.0
    assert evidence.fact("compute.search_nodes_lost") is None and evidence.fact("compute.search_jvm_pressure") is None
    assert any("not an AWS API" in note for note in evidence.notes)
    assert all(q.dimensions == DIMENSIONS for call in cloudwatch.calls for q in call)


def test_a_healthy_domain_has_only_its_configuration_storage_and_rates():
    evidence = investigate(metrics())
    keys = {fact.key for fact in evidence.facts}
    assert keys == {
        "compute.search_domain_config",
        "compute.search_storage",
        "compute.search_query_rate",
        "compute.search_indexing_rate",
    }
    assert any("has all its nodes" in note for note in evidence.notes)


def test_a_missing_domain_is_reported_not_guessed():
    evidence = opensearch_domain_evidence(
        FakeOpenSearch(),  # type: ignore[arg-type]
        FakeCloudWatch(),  # type: ignore[arg-type]
        Target.of("opensearch_domain", "gone-domain", "us-east-1"),
        now=NOW,
    )
    assert evidence.facts == []
    assert "No OpenSearch domain named gone-domain" in evidence.notes[0]


def test_without_an_account_the_metrics_are_not_read():
    cloudwatch = metrics()
    evidence = opensearch_domain_evidence(
        FakeOpenSearch(domain(account_id=None)),  # type: ignore[arg-type]
        cloudwatch,  # type: ignore[arg-type]
        Target.of("opensearch_domain", "orders-index", "us-east-1"),
        now=NOW,
    )
    assert [f.key for f in evidence.facts] == ["compute.search_domain_config"] and cloudwatch.calls == []
    assert any("ClientId" in note for note in evidence.notes)


def test_an_aws_es_alarm_types_the_domain_and_links_its_console_page():
    alert = classify_payload(_eventbridge_alarm("AWS/ES", {"DomainName": "orders-index", "ClientId": ACCOUNT}))
    assert alert.resource is not None and alert.resource.type == "AWS::OpenSearchService::Domain"
    assert alert.resource.arn == f"arn:aws:es:ap-southeast-2:{ACCOUNT}:domain/orders-index"
    target = implicated_target(alert)
    assert target is not None and (target.kind, target.name) == ("opensearch_domain", "orders-index")
    assert target.dimensions == DIMENSIONS
    link = resource_console_link(ResourceRef(type="AWS::OpenSearchService::Domain", name="orders-index"), "eu-west-1")
    assert link is not None and link[0] == "OpenSearch domain" and "/aos/home?region=eu-west-1" in link[1]
    # DomainName in another namespace is not a domain
    other = classify_payload(_eventbridge_alarm("AWS/Cognito", {"DomainName": "orders-index"}))
    assert other.resource is not None and other.resource.type != "AWS::OpenSearchService::Domain"


# --- The rule --------------------------------------------------------------------------------------------------


def analyse(evidence: Evidence, metric: str) -> AnalysisBody:
    alert = alarm_alert(metric, "AWS/ES", dict(DIMENSIONS), threshold=1)
    context = GatheredContext(compute=ContextSection(name="compute", status="ok", facts=evidence.facts))
    return analyze_with_rules(alert, context, now=NOW)


def full_disk(*, ingest_week_before: float) -> FakeCloudWatch:
    return metrics(
        ClusterStatus_red=five_minute([0] * 33, [1, 1, 1]),
        FreeStorageSpace=five_minute([8_000] * 30, [3_900, 3_000, 2_500])
        + five_minute([20_000] * 36, [], ago=WEEK_MINUTES),
        ClusterIndexWritesBlocked=five_minute([0] * 31, [1, 1]),
        IndexingRate=five_minute([700] * 36, []) + five_minute([ingest_week_before] * 36, [], ago=WEEK_MINUTES),
    )


def test_a_disk_at_the_flood_stage_is_named_with_the_ingest_growth_and_its_commands():
    analysis = analyse(investigate(full_disk(ingest_week_before=300)), "ClusterStatus.red")
    assert analysis.root_cause.startswith("OpenSearch domain orders-index ran out of disk")
    assert "ClusterIndexWritesBlocked" in analysis.root_cause and "ingest grew" in analysis.root_cause
    assert analysis.recommendations[0].startswith("Free disk on orders-index")
    assert any("ISM policy" in r for r in analysis.recommendations)
    assert any(c.startswith("aws opensearch describe-domain --domain-name orders-index") for c in analysis.diagnostics)
    assert any(
        "--metric-name FreeStorageSpace" in c and f"Name=ClientId,Value={ACCOUNT}" in c for c in analysis.diagnostics
    )


def test_a_full_disk_with_flat_ingest_is_old_indices_not_deleted():
    analysis = analyse(investigate(full_disk(ingest_week_before=690)), "ClusterIndexWritesBlocked")
    assert "ran out of disk" in analysis.root_cause and "old indices are not being deleted" in analysis.root_cause
    assert "ingest grew" not in analysis.root_cause


def test_a_lost_node_explains_a_red_cluster_with_room_on_disk():
    evidence = investigate(
        metrics(ClusterStatus_red=five_minute([0] * 34, [1, 1]), Nodes=five_minute([5] * 33, [4, 4, 4]))
    )
    analysis = analyse(evidence, "ClusterStatus.red")
    assert "lost a node" in analysis.root_cause and "Nodes 4 (5 configured" in analysis.root_cause
    assert "ran out of disk" not in analysis.root_cause
    assert any("_cluster/allocation/explain" in r for r in analysis.recommendations)


def test_heap_pressure_with_flat_rates_is_heavier_requests():
    evidence = investigate(
        metrics(
            JVMMemoryPressure=five_minute([52] * 30, [70, 80, 87]),
            ThreadpoolSearchRejected=five_minute([0] * 32, [30, 75]),
        )
    )
    analysis = analyse(evidence, "JVMMemoryPressure")
    assert "short of heap" in analysis.root_cause and "ThreadpoolSearchRejected" in analysis.root_cause
    assert "did not grow" in analysis.root_cause and "aggregations" in analysis.root_cause
    assert analysis.recommendations[0].startswith("Find the expensive searches on orders-index")
    assert analysis.confidence == "high"


def test_writes_blocked_by_a_heap_past_92_percent_are_the_heap_not_a_low_disk():
    # A fifth of the disk free (low, not at the flood stage) and writes blocked, with the heap at 95 %
    evidence = investigate(
        metrics(
            FreeStorageSpace=five_minute([17_000] * 36, []),
            ClusterIndexWritesBlocked=five_minute([0] * 33, [1, 1, 1]),
            JVMMemoryPressure=five_minute([60] * 30, [88, 93, 95]),
        )
    )
    assert evidence.fact("compute.search_storage_low") is not None
    analysis = analyse(evidence, "ClusterIndexWritesBlocked")
    assert "short of heap" in analysis.root_cause and "ran out of disk" not in analysis.root_cause
    assert "ClusterIndexWritesBlocked" in analysis.root_cause


def test_a_name_no_domain_can_have_is_not_looked_up():
    class Refusing:
        def describe_domain(self, **_: object) -> object:
            raise AssertionError("asked AWS about an impossible domain name")

    assert OpenSearchReader(client=Refusing(), region="us-east-1").domain("Bad Name <!here>") is None


def test_heap_pressure_after_search_traffic_grew_is_the_load():
    evidence = investigate(
        metrics(
            JVMMemoryPressure=five_minute([52] * 30, [70, 80, 87]),
            ThreadpoolSearchRejected=five_minute([0] * 32, [30, 75]),
            SearchRate=five_minute([120] * 27, [300] * 9) + five_minute([118] * 36, [], ago=WEEK_MINUTES),
        )
    )
    analysis = analyse(evidence, "ThreadpoolSearchRejected")
    assert "the load grew" in analysis.root_cause and "did not grow" not in analysis.root_cause
    assert analysis.recommendations[0].startswith("Find who sends the extra search traffic")


def test_a_yellow_single_node_domain_cannot_place_its_replicas():
    evidence = investigate(
        metrics(ClusterStatus_yellow=five_minute([1] * 36, []), Nodes=five_minute([1] * 36, [])),
        domain(instance_count=1, dedicated_master_type=None, dedicated_master_count=None),
    )
    analysis = analyse(evidence, "ClusterStatus.yellow")
    assert "cannot place its replica shards" in analysis.root_cause and analysis.confidence == "high"


def test_a_yellow_cluster_with_every_node_and_room_says_the_reason_was_not_read():
    evidence = investigate(metrics(ClusterStatus_yellow=five_minute([0] * 33, [1, 1, 1])))
    analysis = analyse(evidence, "ClusterStatus.yellow")
    assert analysis.confidence == "low" and "not read" in analysis.root_cause
    assert "lost a node" not in analysis.root_cause and "replica shards: " not in analysis.root_cause


def test_free_storage_falling_without_ingest_growth_is_retention():
    evidence = investigate(
        metrics(
            FreeStorageSpace=five_minute([19_000] * 30, [18_200, 17_900, 17_500])
            + five_minute([36_000] * 36, [], ago=WEEK_MINUTES)
        )
    )
    analysis = analyse(evidence, "FreeStorageSpace")
    assert "running out of disk" in analysis.root_cause and "kept longer than the disk holds" in analysis.root_cause
    assert analysis.confidence == "medium" and "ISM policy" in analysis.recommendations[0]


def test_a_storage_alarm_is_answered_about_the_disk_even_with_a_busy_heap():
    evidence = investigate(
        metrics(
            FreeStorageSpace=five_minute([16_000] * 30, [15_500, 15_200, 15_000])
            + five_minute([30_000] * 36, [], ago=WEEK_MINUTES),
            JVMMemoryPressure=five_minute([70] * 30, [84, 86, 85]),
        )
    )
    assert evidence.fact("compute.search_jvm_pressure") is not None
    storage = analyse(evidence, "FreeStorageSpace")
    assert "running out of disk" in storage.root_cause and "short of heap" not in storage.root_cause
    # The same facts under a heap alarm are the heap
    assert "short of heap" in analyse(evidence, "JVMMemoryPressure").root_cause


def test_a_yellow_cluster_beside_a_cpu_alarm_is_not_that_alarms_cause():
    evidence = investigate(
        metrics(
            ClusterStatus_yellow=five_minute([0] * 33, [1, 1, 1]),
            CPUUtilization=five_minute([40] * 30, [85, 91, 90]),
            SearchRate=five_minute([120] * 27, [260] * 9) + five_minute([115] * 36, [], ago=WEEK_MINUTES),
        )
    )
    analysis = analyse(evidence, "CPUUtilization")
    assert "CPU-bound" in analysis.root_cause and "the load grew" in analysis.root_cause
    assert "not read" not in analysis.root_cause


def test_a_busy_but_healthy_domain_names_no_cause():
    # CPU at 70 %, heap at 74 %, searches up a third on a week before: busy, none of it past a threshold
    evidence = investigate(
        metrics(
            CPUUtilization=five_minute([40] * 30, [62, 70, 68]),
            JVMMemoryPressure=five_minute([60] * 30, [70, 74, 72]),
            SearchRate=five_minute([120] * 27, [158] * 9),
        )
    )
    analysis = analyse(evidence, "CPUUtilization")
    assert analysis.confidence == "low" and "show no cause" in analysis.root_cause
    for cause in ("ran out of disk", "lost a node", "short of heap", "CPU-bound"):
        assert cause not in analysis.root_cause
