"""Seeding the simulated account's CloudTrail (`account.cloudtrail_events`): what someone changed, and when.

moto keeps no CloudTrail events and has no LookupEvents; the events go into `cloudtrail_server.LOCAL_TRAIL`, which
the loopback CloudTrail endpoint serves during a local run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from functions.local_runner.cloudtrail_server import LOCAL_TRAIL, RecordedEvent, TrailStore

# A resource name's CloudFormation type, from the service that recorded the event (what CloudTrail fills in).
_RESOURCE_TYPES = {
    "lambda.amazonaws.com": "AWS::Lambda::Function",
    "monitoring.amazonaws.com": "AWS::CloudWatch::Alarm",
    "secretsmanager.amazonaws.com": "AWS::SecretsManager::Secret",
    "ec2.amazonaws.com": "AWS::EC2::Instance",
    "rds.amazonaws.com": "AWS::RDS::DBInstance",
    "sqs.amazonaws.com": "AWS::SQS::Queue",
    "dynamodb.amazonaws.com": "AWS::DynamoDB::Table",
    "ecs.amazonaws.com": "AWS::ECS::Service",
    "elasticloadbalancing.amazonaws.com": "AWS::ElasticLoadBalancingV2::TargetGroup",
    "autoscaling.amazonaws.com": "AWS::AutoScaling::AutoScalingGroup",
    "states.amazonaws.com": "AWS::StepFunctions::StateMachine",
}


class CloudTrailEventSeed(BaseModel):
    """One management event: `UpdateFunctionConfiguration20150331v2` on CheckoutService by alice 12 min ago."""

    model_config = ConfigDict(extra="forbid")

    event_name: str
    event_source: str  # "lambda.amazonaws.com"
    username: str = "deploy-bot"
    resource_names: list[str] = Field(min_length=1)
    resource_type: str | None = None  # default: from the event source
    minutes_ago: float = Field(default=10, ge=0)
    read_only: bool = False
    request_parameters: dict[str, Any] = Field(default_factory=dict)
    user_agent: str = "console.amazonaws.com"
    error_code: str | None = None  # a call that failed (and so changed nothing)


def seed_cloudtrail(
    events: list[CloudTrailEventSeed], *, account_id: str, region: str, now: datetime, store: TrailStore = LOCAL_TRAIL
) -> None:
    for seed in events:
        kind = seed.resource_type or _RESOURCE_TYPES.get(seed.event_source, "AWS::Unknown")
        store.events.append(
            RecordedEvent(
                event_name=seed.event_name,
                event_source=seed.event_source,
                username=seed.username,
                event_time=now - timedelta(minutes=seed.minutes_ago),
                resources=[(kind, name) for name in seed.resource_names],
                read_only=seed.read_only,
                request_parameters=dict(seed.request_parameters),
                user_agent=seed.user_agent,
                account_id=account_id,
                region=region,
                error_code=seed.error_code,
            )
        )
