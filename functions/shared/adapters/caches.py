"""ElastiCache reads (Redis OSS, Valkey, Memcached), each answer a small typed model.

What an SRE reads first about a cache that pages: its engine and node type (how much memory, how many vCPUs), the
replication group it belongs to (its role, whether it fails over by itself), the maxmemory-policy of its parameter
group (`noeviction`: writes fail with OOM errors once memory is full; `volatile-*`: only keys with a TTL can be
evicted), and the events of the last hours (a failover, a node replaced, a scaling).

The parameter and event reads answer None when they cannot be made (an API not reachable, a group not found): the
investigation then says "maxmemory-policy not read" instead of failing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read, aws_read_or_none, int_or_none
from functions.shared.cache import cache_key, cached
from functions.shared.errors import AwsReadUnavailableError

_CLUSTER_NOT_FOUND = frozenset({"CacheClusterNotFound", "CacheClusterNotFoundFault"})
_GROUP_NOT_FOUND = frozenset({"ReplicationGroupNotFoundFault", "ReplicationGroupNotFound"})
MAX_EVENTS = 20
MAX_PARAMETER_PAGES = 5
# The parameters the investigation reads from the cluster's parameter group.
READ_PARAMETERS = frozenset({"maxmemory-policy", "maxclients", "max_simultaneous_connections"})


class CacheClusterInfo(BaseModel):
    """One cache cluster as `DescribeCacheClusters` (ShowCacheNodeInfo) describes it. For Redis OSS and Valkey a
    cache cluster is one node of a replication group; for Memcached it holds all the nodes."""

    cluster_id: str
    engine: str | None = None  # redis, valkey, memcached
    engine_version: str | None = None
    node_type: str | None = None  # cache.r6g.large
    status: str | None = None
    node_count: int | None = None
    replication_group_id: str | None = None
    parameter_group: str | None = None
    node_ids: list[str] = []

    @property
    def is_memcached(self) -> bool:
        return (self.engine or "").lower() == "memcached"


class ReplicationGroupMember(BaseModel):
    cluster_id: str
    role: str | None = None  # primary or replica (cluster mode disabled)


class ReplicationGroupInfo(BaseModel):
    """One replication group (`DescribeReplicationGroups`): its nodes and how it fails over."""

    group_id: str
    status: str | None = None
    automatic_failover: str | None = None  # enabled, disabled, enabling, disabling
    multi_az: str | None = None
    cluster_mode: str | None = None  # enabled (sharded), disabled, compatible
    shards: int | None = None  # node groups
    members: list[ReplicationGroupMember] = []
    member_clusters: list[str] = []

    def role_of(self, cluster_id: str) -> str | None:
        return next((m.role for m in self.members if m.cluster_id == cluster_id), None)


class CacheParameters(BaseModel):
    """The parameters of a parameter group that explain a cache's failures (`DescribeCacheParameters`)."""

    group: str
    maxmemory_policy: str | None = None
    max_connections: int | None = None  # maxclients (Redis OSS, Valkey) or max_simultaneous_connections (Memcached)


class CacheEvent(BaseModel):
    """One ElastiCache event (`DescribeEvents`): a failover, a node replaced, a modification."""

    source: str
    source_type: str | None = None
    message: str
    at: datetime | None = None


class ElastiCacheReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client
        self._region = region

    def _elasticache(self) -> Any:
        # Built on first use: a reader set that never meets a cache makes no client.
        if self._client is None:
            self._client = aws_client("elasticache", self._region)
        return self._client

    def cache_cluster(self, cluster_id: str) -> CacheClusterInfo | None:
        """The cluster with its nodes; None when no cache cluster has this id.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticache:DescribeCacheClusters"), AwsReadUnavailableError.
        """
        key = cache_key("elasticache.describe_cache_clusters", self._region, cluster_id)
        return cached(key, lambda: self._cache_cluster(cluster_id))

    def _cache_cluster(self, cluster_id: str) -> CacheClusterInfo | None:
        described = aws_read_or_none(
            "elasticache:DescribeCacheClusters",
            self._elasticache().describe_cache_clusters,
            not_found=_CLUSTER_NOT_FOUND,
            CacheClusterId=cluster_id,
            ShowCacheNodeInfo=True,
        )
        clusters = (described or {}).get("CacheClusters") or []
        if not clusters:
            return None
        cluster = clusters[0]
        return CacheClusterInfo(
            cluster_id=str(cluster.get("CacheClusterId", cluster_id)),
            engine=cluster.get("Engine"),
            engine_version=cluster.get("EngineVersion"),
            node_type=cluster.get("CacheNodeType"),
            status=cluster.get("CacheClusterStatus"),
            node_count=int_or_none(cluster.get("NumCacheNodes")),
            replication_group_id=cluster.get("ReplicationGroupId"),
            parameter_group=(cluster.get("CacheParameterGroup") or {}).get("CacheParameterGroupName"),
            node_ids=[str(n["CacheNodeId"]) for n in cluster.get("CacheNodes") or [] if n.get("CacheNodeId")],
        )

    def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
        """The replication group; None when none has this id.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticache:DescribeReplicationGroups"),
            AwsReadUnavailableError.
        """
        key = cache_key("elasticache.describe_replication_groups", self._region, group_id)
        return cached(key, lambda: self._replication_group(group_id))

    def _replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
        described = aws_read_or_none(
            "elasticache:DescribeReplicationGroups",
            self._elasticache().describe_replication_groups,
            not_found=_GROUP_NOT_FOUND,
            ReplicationGroupId=group_id,
        )
        groups = (described or {}).get("ReplicationGroups") or []
        if not groups:
            return None
        group = groups[0]
        node_groups = group.get("NodeGroups") or []
        members = [
            ReplicationGroupMember(cluster_id=str(m["CacheClusterId"]), role=m.get("CurrentRole"))
            for node_group in node_groups
            for m in node_group.get("NodeGroupMembers") or []
            if m.get("CacheClusterId")
        ]
        return ReplicationGroupInfo(
            group_id=str(group.get("ReplicationGroupId", group_id)),
            status=group.get("Status"),
            automatic_failover=group.get("AutomaticFailover"),
            multi_az=group.get("MultiAZ"),
            cluster_mode=group.get("ClusterMode"),
            shards=len(node_groups) or None,
            members=members,
            member_clusters=[str(c) for c in group.get("MemberClusters") or []],
        )

    def parameters(self, group: str) -> CacheParameters | None:
        """maxmemory-policy and the connection limit of a parameter group; None when they cannot be read.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticache:DescribeCacheParameters").
        """
        return cached(
            cache_key("elasticache.describe_cache_parameters", self._region, group), lambda: self._params(group)
        )

    def _params(self, group: str) -> CacheParameters | None:
        found: dict[str, str] = {}
        marker: str | None = None
        try:
            for _ in range(MAX_PARAMETER_PAGES):
                page = aws_read(
                    "elasticache:DescribeCacheParameters",
                    self._elasticache().describe_cache_parameters,
                    CacheParameterGroupName=group,
                    **({"Marker": marker} if marker else {}),
                )
                for parameter in page.get("Parameters") or []:
                    name = parameter.get("ParameterName")
                    if name in READ_PARAMETERS and parameter.get("ParameterValue") is not None:
                        found[str(name)] = str(parameter["ParameterValue"])
                marker = page.get("Marker")
                if not marker or found.keys() >= {"maxmemory-policy", "maxclients"}:
                    break
        except AwsReadUnavailableError:
            return None
        if not found:
            return None
        limit = found.get("maxclients") or found.get("max_simultaneous_connections")
        return CacheParameters(
            group=group, maxmemory_policy=found.get("maxmemory-policy"), max_connections=int_or_none(limit)
        )

    def events(self, source_ids: list[str], *, start: datetime, end: datetime) -> list[CacheEvent] | None:
        """The events of these clusters and replication groups between `start` and `end`, newest first; None
        when they cannot be read.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("elasticache:DescribeEvents").
        """
        wanted = set(source_ids)
        try:
            response = aws_read(
                "elasticache:DescribeEvents",
                self._elasticache().describe_events,
                StartTime=start,
                EndTime=end,
                MaxRecords=100,
            )
        except AwsReadUnavailableError:
            return None
        events = [
            CacheEvent(
                source=str(e.get("SourceIdentifier", "")),
                source_type=e.get("SourceType"),
                message=str(e.get("Message", "")),
                at=e.get("Date"),
            )
            for e in response.get("Events") or []
            if e.get("SourceIdentifier") in wanted
        ]
        events.sort(key=lambda e: e.at or start, reverse=True)
        return events[:MAX_EVENTS]
