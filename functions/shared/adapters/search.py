"""Amazon OpenSearch Service reads, each answer a small typed model.

What an SRE reads first about a domain whose cluster is red, short of heap or short of disk: how many data nodes of
which instance type it has (the heap is half the instance's memory, at most 32 GiB), whether it has dedicated
masters, how large each node's EBS volume is (disk watermarks are shares of it), its engine version, and whether a
configuration change or an upgrade is in progress (a blue/green deployment moves every shard).

The shards themselves (which are unassigned and why, `_cluster/allocation/explain`) and the index policies
(ISM retention) are inside the cluster's own REST API, behind its access policy: no AWS API reads them, so the
investigation says they were not read.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read_or_none, int_or_none
from functions.shared.cache import cache_key, cached

_NOT_FOUND = frozenset({"ResourceNotFoundException"})
# A domain name: 3 to 28 characters, a lowercase letter first, then lowercase letters, digits and hyphens.
DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9-]{2,27}$")
_DOMAIN_ID = re.compile(r"^(?P<account>\d{12})/")


class SearchDomain(BaseModel):
    """One domain as `DescribeDomain` describes it (the opensearch API)."""

    name: str
    arn: str | None = None
    account_id: str | None = None  # from the DomainId "<account>/<name>": the ClientId dimension of its metrics
    engine_version: str | None = None  # "OpenSearch_2.11", "Elasticsearch_7.10"
    instance_type: str | None = None
    instance_count: int | None = None  # data nodes
    dedicated_master_type: str | None = None
    dedicated_master_count: int | None = None  # None: no dedicated masters
    warm_count: int | None = None  # UltraWarm nodes, None without
    zone_awareness: bool = False
    volume_gib: int | None = None  # EBS volume per data node; None without EBS (instance storage)
    volume_type: str | None = None
    processing: bool = False  # a configuration change is being applied
    upgrade_processing: bool = False  # an engine version upgrade is running

    @property
    def expected_nodes(self) -> int | None:
        """What the `Nodes` metric counts when every node is there: data nodes, dedicated masters and warm nodes."""
        if self.instance_count is None:
            return None
        return self.instance_count + (self.dedicated_master_count or 0) + (self.warm_count or 0)


def account_of_domain_id(domain_id: Any) -> str | None:
    match = _DOMAIN_ID.match(str(domain_id or ""))
    return match.group("account") if match else None


class OpenSearchReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._given = client
        self._region = region

    @property
    def _client(self) -> Any:
        # Built on first use: a run that never meets a domain builds no OpenSearch client.
        return self._given or aws_client("opensearch", self._region)

    def domain(self, name: str) -> SearchDomain | None:
        """The domain's configuration; None when no domain has this name.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("es:DescribeDomain"), AwsReadUnavailableError.
        """
        return cached(cache_key("opensearch.describe_domain", self._region, name), lambda: self._domain(name))

    def _domain(self, name: str) -> SearchDomain | None:
        if not DOMAIN_NAME.match(name):
            return None  # no domain can have this name (it came from alarm text): nothing to ask AWS
        described = aws_read_or_none(
            "es:DescribeDomain", self._client.describe_domain, not_found=_NOT_FOUND, DomainName=name
        )
        if described is None:
            return None
        status = described.get("DomainStatus", {})
        cluster = status.get("ClusterConfig") or {}
        ebs = status.get("EBSOptions") or {}
        masters = bool(cluster.get("DedicatedMasterEnabled"))
        warm = bool(cluster.get("WarmEnabled"))
        return SearchDomain(
            name=str(status.get("DomainName", name)),
            arn=status.get("ARN"),
            account_id=account_of_domain_id(status.get("DomainId")),
            engine_version=status.get("EngineVersion"),
            instance_type=cluster.get("InstanceType"),
            instance_count=int_or_none(cluster.get("InstanceCount")),
            dedicated_master_type=cluster.get("DedicatedMasterType") if masters else None,
            dedicated_master_count=int_or_none(cluster.get("DedicatedMasterCount")) if masters else None,
            warm_count=int_or_none(cluster.get("WarmCount")) if warm else None,
            zone_awareness=bool(cluster.get("ZoneAwarenessEnabled")),
            volume_gib=int_or_none(ebs.get("VolumeSize")) if ebs.get("EBSEnabled") else None,
            volume_type=ebs.get("VolumeType") if ebs.get("EBSEnabled") else None,
            processing=bool(status.get("Processing")),
            upgrade_processing=bool(status.get("UpgradeProcessing")),
        )
