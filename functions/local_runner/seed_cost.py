"""Seeds for the cost drill: NAT gateways (each in its own VPC and public subnet, with an Elastic IP).

Their traffic is seeded like any metric (`account.metrics`, namespace AWS/NATGateway, dimension NatGatewayId), log
ingestion as AWS/Logs IncomingBytes per LogGroupName, and a budget's period with `account.budgets[].time_unit`.
moto draws NAT gateway IDs at random; a scenario's metrics name the gateway, so its ID is pinned for the one call
that creates it (as the EC2 seeder pins instance IDs).
"""

from __future__ import annotations

from typing import Literal
from unittest import mock

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.adapters.aws import aws_client


class NatGatewaySeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nat_gateway_id: str = Field(pattern=r"^nat-[0-9a-f]{8,17}$")
    name: str = ""
    vpc_cidr: str = "10.0.0.0/16"
    subnet_cidr: str = "10.0.0.0/24"
    connectivity_type: Literal["public", "private"] = "public"
    tags: dict[str, str] = Field(default_factory=dict)


def seed_nat_gateways(gateways: list[NatGatewaySeed], region: str) -> None:
    client = aws_client("ec2", region)
    for gateway in gateways:
        vpc_id = client.create_vpc(CidrBlock=gateway.vpc_cidr)["Vpc"]["VpcId"]
        subnet_id = client.create_subnet(VpcId=vpc_id, CidrBlock=gateway.subnet_cidr)["Subnet"]["SubnetId"]
        tags = {"Name": gateway.name, **gateway.tags} if gateway.name else dict(gateway.tags)
        params: dict[str, object] = {"SubnetId": subnet_id, "ConnectivityType": gateway.connectivity_type}
        if gateway.connectivity_type == "public":
            params["AllocationId"] = client.allocate_address(Domain="vpc")["AllocationId"]
        if tags:
            params["TagSpecifications"] = [
                {"ResourceType": "natgateway", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        with mock.patch("moto.ec2.models.nat_gateways.random_nat_gateway_id", return_value=gateway.nat_gateway_id):
            client.create_nat_gateway(**params)
