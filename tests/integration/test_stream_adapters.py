"""The Kinesis reader and the stream's event source mappings against moto, on an account the scenario seeder built:
what a scenario file seeds is what the investigation reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from functions.local_runner.seed import AccountSeed, LambdaFunctionSeed, seed_account
from functions.local_runner.seed_queues import EventSourceMappingSeed
from functions.local_runner.seed_streams import KinesisStreamSeed
from functions.shared.adapters.queues import EventSourceMappingReader
from functions.shared.adapters.streams import KinesisReader, stream_name_of_arn
from functions.shared.cache import clear_cache

REGION = "us-east-1"


@pytest.fixture(scope="module")
def account() -> Iterator[None]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    with mock_aws():
        seed_account(
            AccountSeed(
                lambda_functions=[LambdaFunctionSeed(name="ClickEnricher")],
                kinesis_streams=[
                    KinesisStreamSeed(
                        name="clicks", shards=3, retention_hours=48, enhanced_fan_out_consumers=["analytics"]
                    ),
                    KinesisStreamSeed(name="audit", mode="ON_DEMAND"),
                ],
                event_source_mappings=[
                    EventSourceMappingSeed(
                        function="ClickEnricher",
                        kinesis_stream="clicks",
                        batch_size=500,
                        parallelization_factor=4,
                        maximum_retry_attempts=-1,
                    )
                ],
            ),
            now=datetime.now(UTC),
        )
        yield
    clear_cache()


@pytest.mark.usefixtures("account")
def test_the_stream_summary_reads_capacity_retention_and_mode():
    reader = KinesisReader(region=REGION)
    clicks = reader.stream("clicks")
    assert clicks is not None and clicks.arn is not None
    assert (clicks.status, clicks.mode, clicks.open_shards, clicks.retention_hours) == ("ACTIVE", "PROVISIONED", 3, 48)
    assert stream_name_of_arn(clicks.arn) == "clicks"
    assert [c.name for c in reader.consumers(clicks.arn)] == ["analytics"]
    audit = reader.stream("audit")
    assert audit is not None and audit.on_demand
    assert reader.stream("missing") is None


@pytest.mark.usefixtures("account")
def test_the_streams_consumer_mapping_carries_its_parallelization_and_retries():
    arn = KinesisReader(region=REGION).stream("clicks").arn  # type: ignore[union-attr]
    assert arn is not None
    [found] = EventSourceMappingReader(region=REGION).mappings(source_arn=arn)
    assert found.function_name == "ClickEnricher"
    assert (found.batch_size, found.parallelization_factor, found.maximum_retry_attempts) == (500, 4, -1)


def test_a_mapping_names_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one"):
        EventSourceMappingSeed(function="f", queue="q", kinesis_stream="s")
