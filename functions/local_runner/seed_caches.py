"""Seed ElastiCache: cache clusters (one per Redis OSS / Valkey node, or a Memcached cluster), the replication
groups they belong to, their parameter groups' maxmemory-policy and connection limit, and the event log.

Called by `functions.local_runner.seed.seed_account` inside the active moto mock. moto creates the clusters and
groups; what it does not model (a cluster's parameter group and nodes in DescribeCacheClusters, a Valkey node's
replication group, a group's members and their roles) is set on its records, and the parameters and events go to
`moto_elasticache.LOCAL_CACHE_EXTRAS`, which the runner serves (`moto_elasticache.cache_reads`). A cluster with no
`maxmemory_policy` has a parameter group whose parameters cannot be read: the answer then says "maxmemory-policy
not read".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.local_runner.moto_elasticache import LOCAL_CACHE_EXTRAS, SeededEvent
from functions.shared.adapters.aws import aws_client

_ID = r"^[a-z][a-z0-9-]{0,39}$"


class CacheClusterSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster_id: str = Field(pattern=_ID)
    engine: Literal["redis", "valkey", "memcached"] = "redis"
    engine_version: str = "7.1"
    node_type: str = Field(default="cache.r6g.large", pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    nodes: int = Field(default=1, ge=1, le=40)  # Memcached only: a Redis OSS / Valkey cluster is one node
    replication_group: str | None = Field(default=None, pattern=_ID)
    role: Literal["primary", "replica"] = "primary"  # in its replication group
    parameter_group: str = Field(default="default.redis7", pattern=r"^[a-zA-Z][a-zA-Z0-9.-]{0,254}$")
    maxmemory_policy: str | None = None  # None: the parameters cannot be read
    maxclients: int | None = Field(default=None, ge=1)


class CacheEventSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(pattern=_ID)
    source_type: Literal["cache-cluster", "replication-group", "cache-parameter-group"] = "replication-group"
    message: str
    minutes_ago: float = Field(ge=0, le=7 * 24 * 60)


def seed_caches(
    clusters: list[CacheClusterSeed], events: list[CacheEventSeed], *, account_id: str, region: str, now: datetime
) -> None:
    """Create the clusters and their replication groups in the active moto account, and record their parameters
    and events for `cache_reads`.

    Raises:
        botocore.exceptions.ClientError: moto rejected a value.
    """
    from moto.elasticache.models import elasticache_backends

    client = aws_client("elasticache", region)
    backend = elasticache_backends[account_id][region]
    for cluster in clusters:
        client.create_cache_cluster(
            CacheClusterId=cluster.cluster_id,
            Engine=cluster.engine,
            EngineVersion=cluster.engine_version,
            CacheNodeType=cluster.node_type,
            NumCacheNodes=cluster.nodes if cluster.engine == "memcached" else 1,
            CacheParameterGroupName=cluster.parameter_group,
            **({"ReplicationGroupId": cluster.replication_group} if cluster.replication_group else {}),
        )
        record = backend.cache_clusters[cluster.cluster_id]
        record.replication_group_id = cluster.replication_group  # moto keeps it for engine "redis" only
        record.cache_parameter_group = {
            "CacheParameterGroupName": cluster.parameter_group,
            "ParameterApplyStatus": "in-sync",
        }
        record.cache_nodes = [
            {"CacheNodeId": f"{i:04d}", "CacheNodeStatus": "available"} for i in range(1, cluster.nodes + 1)
        ]
        parameters = {}
        if cluster.maxmemory_policy:
            parameters["maxmemory-policy"] = cluster.maxmemory_policy
        if cluster.maxclients:
            parameters["maxclients"] = str(cluster.maxclients)
        if parameters:
            LOCAL_CACHE_EXTRAS.parameters[(region, cluster.parameter_group)] = parameters
    for group_id in dict.fromkeys(c.replication_group for c in clusters if c.replication_group):
        members = [c for c in clusters if c.replication_group == group_id]
        client.create_replication_group(
            ReplicationGroupId=group_id,
            ReplicationGroupDescription=f"{group_id} (seeded)",
            Engine=members[0].engine,
            CacheNodeType=members[0].node_type,
            NumCacheClusters=len(members),
            AutomaticFailoverEnabled=len(members) > 1,
        )
        group = backend.replication_groups[group_id]
        group.member_clusters = [m.cluster_id for m in members]
        group.node_groups = [
            {
                "NodeGroupId": "0001",
                "Status": "available",
                "NodeGroupMembers": [
                    {"CacheClusterId": m.cluster_id, "CacheNodeId": "0001", "CurrentRole": m.role} for m in members
                ],
            }
        ]
    for event in events:
        LOCAL_CACHE_EXTRAS.events.setdefault(region, []).append(
            SeededEvent(
                source=event.source,
                source_type=event.source_type,
                message=event.message,
                at=now - timedelta(minutes=event.minutes_ago),
            )
        )
