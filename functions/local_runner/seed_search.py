"""Seed Amazon OpenSearch Service domains: their data nodes, dedicated masters, EBS volume and engine version.

Called by `functions.local_runner.seed.seed_account` inside the active moto mock. No index or document is
created: moto has no cluster behind a domain, and the domain's health is what the seeded CloudWatch metrics say
(namespace AWS/ES, dimensions DomainName and ClientId, the account).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.adapters.aws import aws_client


class OpenSearchDomainSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,27}$")
    engine_version: str = Field(default="OpenSearch_2.11", pattern=r"^(OpenSearch|Elasticsearch)_\d+\.\d+$")
    instance_type: str = Field(default="r6g.large.search", pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    instance_count: int = Field(default=3, ge=1, le=80)  # data nodes
    dedicated_master_type: str | None = Field(default=None, pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    dedicated_master_count: int = Field(default=3, ge=1, le=5)  # only with dedicated_master_type
    zone_awareness: bool = False
    volume_gib: int = Field(default=100, ge=10, le=24576)  # EBS volume per data node
    volume_type: str = Field(default="gp3", pattern=r"^(gp2|gp3|io1|standard)$")


def seed_opensearch_domains(domains: list[OpenSearchDomainSeed], region: str) -> None:
    """Create the domains in the active moto account.

    Raises:
        botocore.exceptions.ClientError: moto rejected a value.
    """
    client = aws_client("opensearch", region)
    for domain in domains:
        cluster: dict[str, object] = {
            "InstanceType": domain.instance_type,
            "InstanceCount": domain.instance_count,
            "ZoneAwarenessEnabled": domain.zone_awareness,
            "DedicatedMasterEnabled": domain.dedicated_master_type is not None,
        }
        if domain.dedicated_master_type is not None:
            cluster["DedicatedMasterType"] = domain.dedicated_master_type
            cluster["DedicatedMasterCount"] = domain.dedicated_master_count
        client.create_domain(
            DomainName=domain.name,
            EngineVersion=domain.engine_version,
            ClusterConfig=cluster,
            EBSOptions={"EBSEnabled": True, "VolumeType": domain.volume_type, "VolumeSize": domain.volume_gib},
        )
