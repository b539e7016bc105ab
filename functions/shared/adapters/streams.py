"""Kinesis Data Streams reads, each answer a small typed model.

What an SRE reads first about a stream whose consumers fall behind: its capacity (mode and open shards: each shard
takes 1,000 records or 1 MB a second in and serves 2 MB a second out), its retention (how long a consumer may fall
behind before records expire) and its enhanced fan-out consumers (each with its own 2 MB a second per shard).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read, aws_read_or_none, int_or_none
from functions.shared.cache import cache_key, cached

_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_STREAM_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/(?P<name>[A-Za-z0-9_.-]{1,128})$")
MAX_CONSUMERS = 20


def stream_name_of_arn(arn: str) -> str | None:
    match = _STREAM_ARN.match(arn)
    return match.group("name") if match else None


class StreamSummary(BaseModel):
    """One stream as `DescribeStreamSummary` describes it."""

    name: str
    arn: str | None = None
    status: str | None = None  # ACTIVE, UPDATING (resharding), CREATING, DELETING
    mode: str = "PROVISIONED"  # or ON_DEMAND
    open_shards: int | None = None
    retention_hours: int | None = None
    consumer_count: int | None = None  # registered enhanced fan-out consumers

    @property
    def on_demand(self) -> bool:
        return self.mode == "ON_DEMAND"


class StreamConsumer(BaseModel):
    """One registered enhanced fan-out consumer (`ListStreamConsumers`)."""

    name: str
    status: str | None = None


class KinesisReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("kinesis", region)
        self._region = region

    def stream(self, name: str) -> StreamSummary | None:
        """The stream's summary; None when no stream has this name.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("kinesis:DescribeStreamSummary"), AwsReadUnavailableError.
        """
        return cached(cache_key("kinesis.describe_stream_summary", self._region, name), lambda: self._stream(name))

    def _stream(self, name: str) -> StreamSummary | None:
        described = aws_read_or_none(
            "kinesis:DescribeStreamSummary",
            self._client.describe_stream_summary,
            not_found=_NOT_FOUND,
            StreamName=name,
        )
        if described is None:
            return None
        summary = described.get("StreamDescriptionSummary", {})
        return StreamSummary(
            name=str(summary.get("StreamName", name)),
            arn=summary.get("StreamARN"),
            status=summary.get("StreamStatus"),
            mode=str((summary.get("StreamModeDetails") or {}).get("StreamMode") or "PROVISIONED"),
            open_shards=int_or_none(summary.get("OpenShardCount")),
            retention_hours=int_or_none(summary.get("RetentionPeriodHours")),
            consumer_count=int_or_none(summary.get("ConsumerCount")),
        )

    def consumers(self, stream_arn: str) -> list[StreamConsumer]:
        """The stream's enhanced fan-out consumers (at most MAX_CONSUMERS).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("kinesis:ListStreamConsumers"), AwsReadUnavailableError.
        """
        key = cache_key("kinesis.list_stream_consumers", self._region, stream_arn)
        return cached(key, lambda: self._consumers(stream_arn))

    def _consumers(self, stream_arn: str) -> list[StreamConsumer]:
        response = aws_read(
            "kinesis:ListStreamConsumers",
            self._client.list_stream_consumers,
            StreamARN=stream_arn,
            MaxResults=MAX_CONSUMERS,
        )
        return [
            StreamConsumer(name=str(c.get("ConsumerName", "?")), status=c.get("ConsumerStatus"))
            for c in response.get("Consumers", [])[:MAX_CONSUMERS]
        ]
