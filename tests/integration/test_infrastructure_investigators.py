"""The database, load balancer and Auto Scaling investigators against the simulated account (moto), seeded the way
the scenarios seed it: what each one reports, what it leaves out, and the neighbours it hands the graph walk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from functions.gather_compute.logic import ComputeReaders, resource_evidence
from functions.local_runner.seed import AccountSeed, seed_account
from functions.shared.console_links import is_console_url
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.databases import class_memory_gib, default_max_connections
from functions.shared.investigate.target import Target

REGION = "us-east-1"
ENDPOINT = "orders-db.c7x2k9mwq4ab.us-east-1.rds.amazonaws.com"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def account() -> Iterator[None]:
    with mock_aws():
        yield


def _seed(now: datetime, **parts: Any) -> ComputeReaders:
    seed_account(AccountSeed.model_validate(parts), now=now)
    return ComputeReaders.default(REGION)


def _investigate(readers: ComputeReaders, target: Target, now: datetime) -> Evidence:
    evidence = resource_evidence(
        readers, target, at=now, now=now, before=timedelta(hours=3), after=timedelta(minutes=30), period_seconds=300
    )
    # Every fact links to its evidence in the console
    assert all(is_console_url(f.link) for f in evidence.facts), [f.key for f in evidence.facts if not f.link]
    return evidence


def _series(metric: str, dimensions: dict[str, str], baseline: float, recent: list[float], **extra: Any) -> dict:
    return {
        "namespace": extra.pop("namespace", "AWS/RDS"),
        "metric_name": metric,
        "dimensions": dimensions,
        "segments": [{"value": baseline, "points": 30}],
        "values": recent,
        **extra,
    }


DB = {"DBInstanceIdentifier": "orders-db"}


def _orders_db(**overrides: Any) -> dict[str, Any]:
    return {
        "identifier": "orders-db",
        "engine": "postgres",
        "instance_class": "db.t3.medium",
        "allocated_storage_gb": 100,
        "multi_az": True,
        "endpoint_id": "c7x2k9mwq4ab",
        **overrides,
    }


def test_max_connections_follow_the_engine_formula_for_the_class() -> None:
    assert class_memory_gib("db.r6g.large") == 16
    assert class_memory_gib("db.t3.medium") == 4
    assert default_max_connections("postgres", "db.t3.medium") == 405
    assert default_max_connections("mysql", "db.m5.large") == 648
    assert default_max_connections("aurora-mysql", "db.r6g.large") == 1000
    assert default_max_connections("sqlserver-se", "db.m5.large") is None
    assert default_max_connections("postgres", "db.unknown.size") is None


def test_an_rds_instance_reports_its_configuration_recent_events_and_callers(account: None, now: datetime) -> None:
    readers = _seed(
        now,
        rds_instances=[
            _orders_db(
                pending={"DBInstanceClass": "db.r6g.large"},
                log_exports=["postgresql"],
                events=[
                    {"message": "Multi-AZ instance failover started.", "categories": ["failover"], "minutes_ago": 12},
                    {"message": "Finished DB Instance backup", "categories": ["backup"], "minutes_ago": 30},
                    {"message": "DB instance restarted", "categories": ["availability"], "minutes_ago": 60 * 9},
                ],
            )
        ],
        lambda_functions=[
            {"name": "Repricer", "environment": {"DB_HOST": ENDPOINT}},
            {"name": "OrdersApi", "environment": {"PGHOST": ENDPOINT.upper()}},
            {"name": "Thumbnails", "environment": {"BUCKET": "orders-db-exports"}},
        ],
        metrics=[
            _series("ConcurrentExecutions", {"FunctionName": "Repricer"}, 9, [300, 420], namespace="AWS/Lambda"),
            _series("ConcurrentExecutions", {"FunctionName": "OrdersApi"}, 20, [22, 21], namespace="AWS/Lambda"),
        ],
    )

    evidence = _investigate(readers, Target.of("rds_instance", "orders-db", REGION), now)

    config = evidence.fact("compute.db_instance")
    assert config is not None
    for part in (
        "postgres",
        "db.t3.medium",
        "Multi-AZ",
        "100 GiB",
        "no storage autoscaling",
        "DBInstanceClass=db.r6g.large",
    ):
        assert part in config.text
    assert "logs exported: postgresql" in config.text
    # Only the events that explain a blip, inside the window, most telling first: the failover, not the backup or
    # the restart nine hours ago
    event = evidence.fact("compute.db_event")
    assert event is not None and event.value == "failover" and "failover started" in event.text
    assert evidence.fact("compute.db_event.2") is None
    # The callers: the functions whose environment names the endpoint, the one whose concurrency surged first
    callers = evidence.fact("compute.db_callers")
    assert callers is not None and callers.subject == "Repricer" and callers.value == 2
    assert "Thumbnails" not in callers.text
    assert [n.target.name for n in evidence.neighbours] == ["Repricer", "OrdersApi"]
    assert all(n.target.kind == "lambda" and "caller of orders-db" in n.edge for n in evidence.neighbours)


def test_connections_near_max_connections_are_interpreted_and_ordinary_load_is_not(
    account: None, now: datetime
) -> None:
    readers = _seed(
        now,
        rds_instances=[_orders_db(), {**_orders_db(identifier="quiet-db"), "endpoint_id": "q1w2e3r4t5y6"}],
        metrics=[
            _series("DatabaseConnections", DB, 58, [212, 396, 401]),
            _series("DatabaseConnections", {"DBInstanceIdentifier": "quiet-db"}, 58, [150, 210, 240]),
        ],
    )

    busy = _investigate(readers, Target.of("rds_instance", "orders-db", REGION), now)
    near = busy.fact("compute.db_connections_near_max")
    assert near is not None
    assert near.numbers is not None and near.numbers.value == 401 and near.numbers.threshold == 405
    assert "99% of max_connections ≈405" in near.text

    quiet = _investigate(readers, Target.of("rds_instance", "quiet-db", REGION), now)
    assert quiet.fact("compute.db_connections_near_max") is None


def test_storage_low_and_falling_is_interpreted_but_low_and_flat_is_not(account: None, now: datetime) -> None:
    gib = 1024**3
    readers = _seed(
        now,
        rds_instances=[
            _orders_db(),
            {**_orders_db(identifier="archive-db"), "endpoint_id": "a1s2d3f4g5h6", "max_allocated_storage_gb": 400},
        ],
        metrics=[
            _series("FreeStorageSpace", DB, 40 * gib, [20 * gib, 9 * gib, 3.5 * gib]),
            # Low, but it has been this low for hours: nothing is filling it now
            _series("FreeStorageSpace", {"DBInstanceIdentifier": "archive-db"}, 4 * gib, [4 * gib, 4 * gib]),
        ],
    )

    filling = _investigate(readers, Target.of("rds_instance", "orders-db", REGION), now)
    low = filling.fact("compute.db_storage_low")
    assert low is not None and "3.5 GiB of 100 GiB" in low.text and "storage autoscaling is off" in low.text
    assert low.numbers is not None and low.numbers.value == 3.5

    flat = _investigate(readers, Target.of("rds_instance", "archive-db", REGION), now)
    assert flat.fact("compute.db_storage_low") is None
    config = flat.fact("compute.db_instance")
    assert config is not None and "storage autoscaling up to 400 GiB" in config.text


def test_an_aurora_cluster_names_writer_and_readers_and_its_failover(account: None, now: datetime) -> None:
    readers = _seed(
        now,
        rds_clusters=[
            {
                "identifier": "ledger",
                "endpoint_id": "h3m9v2kq8trz",
                "members": [{"identifier": "ledger-2", "writer": True}, {"identifier": "ledger-1"}],
                "events": [
                    {
                        "message": "Completed failover to DB instance: ledger-2",
                        "categories": ["failover"],
                        "minutes_ago": 5,
                    }
                ],
            }
        ],
        lambda_functions=[
            {"name": "Postings", "environment": {"PGHOST": "ledger.cluster-h3m9v2kq8trz.us-east-1.rds.amazonaws.com"}}
        ],
    )

    evidence = _investigate(readers, Target.of("rds_cluster", "ledger", REGION), now)

    cluster = evidence.fact("compute.db_cluster")
    assert cluster is not None and "writer ledger-2" in cluster.text and "readers ledger-1" in cluster.text
    event = evidence.fact("compute.db_event")
    assert event is not None and event.value == "failover" and "ledger-2" in event.text
    kinds = [(n.target.kind, n.target.name) for n in evidence.neighbours]
    assert kinds == [("rds_instance", "ledger-2"), ("rds_instance", "ledger-1"), ("lambda", "Postings")]
    assert evidence.neighbours[0].edge == "writer instance of Aurora cluster ledger"


def _load_balancer(targets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "shop-alb",
        "id": "50dc6c495c0c9188",
        "listeners": [{"protocol": "HTTP", "port": 80, "target_group": "shop-web"}],
        "target_groups": [
            {
                "name": "shop-web",
                "id": "0123456789abcdef",
                "port": 8080,
                "health_check_path": "/health",
                "targets": targets,
            }
        ],
    }


INSTANCES = [{"instance_id": "i-0a1b2c3d4e5f60718", "name": "web-1"}, {"instance_id": "i-0b1c2d3e4f5a60718"}]
MISMATCH = {
    "state": "unhealthy",
    "reason": "Target.ResponseCodeMismatch",
    "description": "Health checks failed with these codes: [500]",
}


def test_an_alb_reports_listeners_target_health_and_5xx_origin(account: None, now: datetime) -> None:
    alb = {"LoadBalancer": "app/shop-alb/50dc6c495c0c9188"}
    readers = _seed(
        now,
        ec2_instances=INSTANCES,
        load_balancers=[_load_balancer([{"id": i["instance_id"], "port": 8080, **MISMATCH} for i in INSTANCES])],
        metrics=[
            _series("HTTPCode_ELB_5XX_Count", alb, 0, [400, 1100], namespace="AWS/ApplicationELB"),
            _series("HTTPCode_Target_5XX_Count", alb, 0, [0, 0], namespace="AWS/ApplicationELB"),
        ],
    )

    evidence = _investigate(readers, Target.of("alb", "app/shop-alb/50dc6c495c0c9188", REGION), now)

    lb = evidence.fact("compute.lb")
    assert lb is not None and "HTTP:80 -> shop-web" in lb.text
    health = evidence.fact("compute.lb_target_health")
    assert health is not None and "0 of 2 targets healthy" in health.text and "/health" in health.text
    unhealthy = evidence.fact("compute.lb_all_targets_unhealthy")
    assert unhealthy is not None and unhealthy.value == "Target.ResponseCodeMismatch"
    assert unhealthy.subject == "targetgroup/shop-web/0123456789abcdef"
    origin = evidence.fact("compute.lb_5xx_origin")
    assert origin is not None and origin.value == "load_balancer"
    assert [n.target.name for n in evidence.neighbours] == ["i-0a1b2c3d4e5f60718", "i-0b1c2d3e4f5a60718"]


def test_one_healthy_target_is_not_all_unhealthy_and_app_5xx_are_the_application(account: None, now: datetime) -> None:
    alb = {"LoadBalancer": "app/shop-alb/50dc6c495c0c9188"}
    readers = _seed(
        now,
        ec2_instances=INSTANCES,
        load_balancers=[
            _load_balancer(
                [
                    {"id": INSTANCES[0]["instance_id"], "port": 8080, "state": "healthy"},
                    {"id": INSTANCES[1]["instance_id"], "port": 8080, **MISMATCH},
                ]
            )
        ],
        metrics=[
            _series("HTTPCode_ELB_5XX_Count", alb, 0, [1, 0], namespace="AWS/ApplicationELB"),
            _series("HTTPCode_Target_5XX_Count", alb, 2, [300, 650], namespace="AWS/ApplicationELB"),
        ],
    )

    evidence = _investigate(readers, Target.of("alb", "app/shop-alb/50dc6c495c0c9188", REGION), now)

    assert evidence.fact("compute.lb_all_targets_unhealthy") is None
    health = evidence.fact("compute.lb_target_health")
    assert health is not None and "1 of 2 targets healthy" in health.text
    origin = evidence.fact("compute.lb_5xx_origin")
    assert origin is not None and origin.value == "targets"
    # The unhealthy target is the first neighbour: that is where the failing check answers
    assert evidence.neighbours[0].target.name == INSTANCES[1]["instance_id"]


def test_a_target_group_alarm_reads_its_group_by_the_dimension(account: None, now: datetime) -> None:
    readers = _seed(
        now,
        ec2_instances=INSTANCES[:1],
        load_balancers=[
            _load_balancer(
                [{"id": INSTANCES[0]["instance_id"], "port": 8080, "state": "unhealthy", "reason": "Target.Timeout"}]
            )
        ],
    )
    target = Target.of(
        "target_group",
        "targetgroup/shop-web/0123456789abcdef",
        REGION,
        qualifiers={"LoadBalancer": "app/shop-alb/50dc6c495c0c9188"},
    )
    evidence = _investigate(readers, target, now)
    unhealthy = evidence.fact("compute.lb_all_targets_unhealthy")
    assert unhealthy is not None and unhealthy.value == "Target.Timeout"


def test_an_auto_scaling_group_that_cannot_launch_shows_the_failure(account: None, now: datetime) -> None:
    readers = _seed(
        now,
        auto_scaling_groups=[
            {
                "name": "workers",
                "min_size": 3,
                "max_size": 8,
                "running": 3,
                "desired": 8,
                "activities": [
                    {"status": "Successful", "description": "Launching a new EC2 instance", "minutes_ago": 30},
                    {
                        "status": "Failed",
                        "description": "Launching a new EC2 instance. Status Reason: ...",
                        "status_message": "We currently do not have sufficient c6i.xlarge capacity.",
                        "minutes_ago": 3,
                    },
                    {"status": "Failed", "description": "old failure", "minutes_ago": 60 * 24},
                ],
            }
        ],
    )

    evidence = _investigate(readers, Target.of("asg", "workers", REGION), now)

    group = evidence.fact("compute.asg")
    assert group is not None and "3 of 8 desired instances InService" in group.text
    assert group.numbers is not None and group.numbers.threshold == 8
    assert evidence.fact("compute.asg_at_max") is not None
    failed = evidence.fact("compute.asg_launch_failed")
    assert failed is not None and failed.value == "Failed"
    assert failed.text.startswith("1 scaling activity of workers failed") and "sufficient c6i.xlarge" in failed.text
    assert len(evidence.neighbours) == 2 and all(n.target.kind == "ec2" for n in evidence.neighbours)


def test_a_healthy_group_shows_its_latest_activity_and_no_failure(account: None, now: datetime) -> None:
    readers = _seed(
        now,
        auto_scaling_groups=[
            {
                "name": "workers",
                "max_size": 10,
                "running": 2,
                "activities": [{"status": "Successful", "cause": "target tracking", "minutes_ago": 20}],
            }
        ],
    )
    evidence = _investigate(readers, Target.of("asg", "workers", REGION), now)
    assert evidence.fact("compute.asg_launch_failed") is None and evidence.fact("compute.asg_at_max") is None
    activity = evidence.fact("compute.asg_activity")
    assert activity is not None and "target tracking" in activity.text


def test_an_instance_launched_by_a_group_leads_to_its_group(account: None, now: datetime) -> None:
    readers = _seed(
        now,
        ec2_instances=[
            {"instance_id": "i-0a1b2c3d4e5f60718", "name": "web-1", "tags": {"aws:autoscaling:groupName": "web-asg"}},
            {"instance_id": "i-0b1c2d3e4f5a60718", "name": "bastion"},
        ],
    )
    in_group = _investigate(readers, Target.of("ec2", "i-0a1b2c3d4e5f60718", REGION), now)
    assert [(n.target.kind, n.target.name) for n in in_group.neighbours] == [("asg", "web-asg")]
    alone = _investigate(readers, Target.of("ec2", "i-0b1c2d3e4f5a60718", REGION), now)
    assert alone.neighbours == []


def test_a_burstable_database_out_of_cpu_credits_is_interpreted(account: None, now: datetime) -> None:
    readers = _seed(
        now,
        rds_instances=[
            _orders_db(instance_class="db.t3.large"),
            {**_orders_db(identifier="steady-db"), "endpoint_id": "z9x8c7v6b5n4", "instance_class": "db.t3.large"},
        ],
        metrics=[
            _series("CPUCreditBalance", DB, 144, [60, 12, 0.4]),
            _series("CPUCreditBalance", {"DBInstanceIdentifier": "steady-db"}, 144, [140, 141, 143]),
        ],
    )
    spent = _investigate(readers, Target.of("rds_instance", "orders-db", REGION), now)
    credits = spent.fact("compute.db_cpu_credits_exhausted")
    assert credits is not None and credits.numbers is not None and credits.numbers.value == 0.4
    assert "db.t3.large" in credits.text
    steady = _investigate(readers, Target.of("rds_instance", "steady-db", REGION), now)
    assert steady.fact("compute.db_cpu_credits_exhausted") is None


def test_a_lambda_target_without_health_checks_is_not_unhealthy(account: None, now: datetime) -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:CatalogApi"
    readers = _seed(
        now,
        lambda_functions=[{"name": "CatalogApi"}],
        load_balancers=[
            {
                "name": "catalog-alb",
                "listeners": [{"target_group": "catalog-api"}],
                "target_groups": [
                    {
                        "name": "catalog-api",
                        "target_type": "lambda",
                        "health_check_path": None,
                        "matcher": None,
                        "targets": [{"id": function, "state": "unavailable", "reason": "Target.HealthCheckDisabled"}],
                    }
                ],
            }
        ],
    )
    evidence = _investigate(readers, Target.of("alb", "app/catalog-alb/50dc6c495c0c9188", REGION), now)
    assert evidence.fact("compute.lb_all_targets_unhealthy") is None
    health = evidence.fact("compute.lb_target_health")
    assert health is not None and "health checks disabled for Lambda CatalogApi" in health.text
    assert [(n.target.kind, n.target.name) for n in evidence.neighbours] == [("lambda", "CatalogApi")]
