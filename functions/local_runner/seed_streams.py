"""Seed Kinesis data streams: their capacity (mode, shards), retention and enhanced fan-out consumers.

Called by `functions.local_runner.seed.seed_account` inside the active moto mock, before the event source mappings
(`seed_queues`), since a mapping names its stream's ARN. Records are never put: moto would hand each one to the
consumer function at once, and the stream's traffic is what the seeded CloudWatch metrics say.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.adapters.aws import aws_client


class KinesisStreamSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    mode: Literal["PROVISIONED", "ON_DEMAND"] = "PROVISIONED"
    shards: int = Field(default=1, ge=1, le=50)  # open shards of a PROVISIONED stream
    retention_hours: int = Field(default=24, ge=24, le=8760)
    # Registered enhanced fan-out consumers (each reads with its own 2 MB/s per shard).
    enhanced_fan_out_consumers: list[str] = Field(default_factory=list)


def seed_kinesis_streams(streams: list[KinesisStreamSeed], region: str) -> dict[str, str]:
    """Create the streams in the active moto account; their ARNs by name.

    Raises:
        botocore.exceptions.ClientError: moto rejected a value.
    """
    client = aws_client("kinesis", region)
    arns: dict[str, str] = {}
    for stream in streams:
        params: dict[str, object] = {"StreamName": stream.name, "StreamModeDetails": {"StreamMode": stream.mode}}
        if stream.mode == "PROVISIONED":
            params["ShardCount"] = stream.shards
        client.create_stream(**params)
        if stream.retention_hours > 24:
            client.increase_stream_retention_period(StreamName=stream.name, RetentionPeriodHours=stream.retention_hours)
        arn = str(client.describe_stream_summary(StreamName=stream.name)["StreamDescriptionSummary"]["StreamARN"])
        for consumer in stream.enhanced_fan_out_consumers:
            client.register_stream_consumer(StreamARN=arn, ConsumerName=consumer)
        arns[stream.name] = arn
    return arns
