"""The ElastiCache reader against moto, on an account the scenario seeder built: what a scenario file seeds is what
the investigation reads, including the two reads moto lacks (DescribeCacheParameters, DescribeEvents), which the
local run serves from the seed (`moto_elasticache.cache_reads`). If a moto upgrade moves its ElastiCache responder
or starts implementing either action, these tests say so."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws
from moto.elasticache.responses import ElastiCacheResponse

from functions.local_runner.moto_elasticache import cache_reads
from functions.local_runner.seed import AccountSeed, seed_account
from functions.local_runner.seed_caches import CacheClusterSeed, CacheEventSeed
from functions.shared.adapters.caches import ElastiCacheReader
from functions.shared.cache import clear_cache

REGION = "us-east-1"
NOW = datetime.now(UTC)
# What moto's responder implements by itself, read before any test patches it.
MOTO_ACTIONS = frozenset(vars(ElastiCacheResponse))


@pytest.fixture(scope="module")
def account() -> Iterator[None]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    with mock_aws(), cache_reads():
        seed_account(
            AccountSeed(
                elasticache_clusters=[
                    CacheClusterSeed(
                        cluster_id="orders-cache-001",
                        replication_group="orders-cache",
                        parameter_group="orders-valkey8",
                        engine="valkey",
                        engine_version="8.0",
                        maxmemory_policy="noeviction",
                        maxclients=20_000,
                    ),
                    CacheClusterSeed(
                        cluster_id="orders-cache-002",
                        replication_group="orders-cache",
                        role="replica",
                        parameter_group="orders-valkey8",
                        engine="valkey",
                        engine_version="8.0",
                    ),
                    CacheClusterSeed(
                        cluster_id="sessions-mc", engine="memcached", nodes=3, parameter_group="default.memcached1.6"
                    ),
                ],
                elasticache_events=[
                    CacheEventSeed(
                        source="orders-cache",
                        message="Failover to replica node orders-cache-002 completed",
                        minutes_ago=20,
                    ),
                    CacheEventSeed(source="orders-cache", message="Snapshot succeeded", minutes_ago=60 * 30),
                ],
            ),
            now=NOW,
        )
        yield
    clear_cache()


@pytest.fixture
def reader(account: None) -> Iterator[ElastiCacheReader]:
    clear_cache()
    yield ElastiCacheReader(region=REGION)
    clear_cache()


def test_a_seeded_node_reads_back_with_its_group_parameter_group_and_node(reader: ElastiCacheReader):
    cluster = reader.cache_cluster("orders-cache-001")
    assert cluster is not None
    assert (cluster.engine, cluster.engine_version, cluster.replication_group_id) == ("valkey", "8.0", "orders-cache")
    assert cluster.parameter_group == "orders-valkey8" and cluster.node_ids == ["0001"]
    memcached = reader.cache_cluster("sessions-mc")
    assert memcached is not None and memcached.is_memcached and memcached.node_ids == ["0001", "0002", "0003"]
    assert reader.cache_cluster("nope") is None


def test_the_replication_group_names_each_members_role(reader: ElastiCacheReader):
    group = reader.replication_group("orders-cache")
    assert group is not None and group.automatic_failover == "enabled"
    assert group.role_of("orders-cache-001") == "primary" and group.role_of("orders-cache-002") == "replica"
    assert reader.replication_group("nope") is None


def test_the_policy_and_limit_are_read_and_an_unknown_group_is_none(reader: ElastiCacheReader):
    parameters = reader.parameters("orders-valkey8")
    assert parameters is not None
    assert (parameters.maxmemory_policy, parameters.max_connections) == ("noeviction", 20_000)
    assert reader.parameters("default.memcached1.6") is None  # nothing seeded: CacheParameterGroupNotFound


def test_events_are_read_in_their_window_newest_first(reader: ElastiCacheReader):
    events = reader.events(["orders-cache"], start=NOW - timedelta(hours=6), end=NOW + timedelta(minutes=1))
    assert events is not None and [e.message for e in events] == ["Failover to replica node orders-cache-002 completed"]
    assert reader.events(["another-cache"], start=NOW - timedelta(hours=6), end=NOW) == []


def test_moto_still_lacks_the_two_reads_the_run_serves():
    # When moto implements one of them, the patch in moto_elasticache can go.
    assert "describe_cache_clusters" in MOTO_ACTIONS and "describe_replication_groups" in MOTO_ACTIONS
    assert "describe_cache_parameters" not in MOTO_ACTIONS and "describe_events" not in MOTO_ACTIONS
