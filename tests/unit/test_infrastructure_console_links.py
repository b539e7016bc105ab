"""Console pages of databases, load balancers, target groups and Auto Scaling groups: the right page, every value
encoded, an ALB told from an NLB by its ARN."""

from __future__ import annotations

from functions.shared.console_links import is_console_url
from functions.shared.models import ResourceRef
from functions.shared.registry import resource_console_link

ELB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"


def test_each_type_links_to_its_own_console_page() -> None:
    load_balancer = ResourceRef(
        type="AWS::ElasticLoadBalancingV2::LoadBalancer",
        name="net/ingest/1b2c",
        arn=f"{ELB}:loadbalancer/net/ingest/1b2c",
    )
    group = ResourceRef(
        type="AWS::ElasticLoadBalancingV2::TargetGroup", name="targetgroup/web/0123", arn=f"{ELB}:targetgroup/web/0123"
    )
    cases = [
        (
            ResourceRef(type="AWS::RDS::DBInstance", name="orders-db"),
            "RDS instance",
            "/rds/home?region=eu-west-1#database:id=orders-db;is-cluster=false",
        ),
        (
            ResourceRef(type="AWS::RDS::DBCluster", name="ledger"),
            "Aurora cluster",
            "#database:id=ledger;is-cluster=true",
        ),
        (load_balancer, "Network Load Balancer", "#LoadBalancer:loadBalancerArn=arn%3Aaws%3Aelasticloadbalancing%3A"),
        (group, "Target group", "#TargetGroup:targetGroupArn=arn%3A"),
        (
            ResourceRef(type="AWS::AutoScaling::AutoScalingGroup", name="workers"),
            "Auto Scaling group",
            "#AutoScalingGroupDetails:id=workers;view=details",
        ),
    ]
    for resource, label, part in cases:
        found = resource_console_link(resource, "eu-west-1")
        assert found is not None, resource
        assert found[0] == label
        assert part in found[1] and is_console_url(found[1]), found[1]


def test_a_hostile_name_is_encoded_never_part_of_the_fragment() -> None:
    found = resource_console_link(ResourceRef(type="AWS::RDS::DBInstance", name="x;is-cluster=true#<b>"), "us-east-1")
    assert found is not None
    assert found[1].endswith("#database:id=x%3Bis-cluster%3Dtrue%23%3Cb%3E;is-cluster=false")
