"""The OpenSearch reader against moto, on an account the scenario seeder built: what a scenario file seeds is what
the investigation reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from functions.local_runner.seed import AccountSeed, seed_account
from functions.local_runner.seed_search import OpenSearchDomainSeed
from functions.shared.adapters.search import OpenSearchReader
from functions.shared.cache import clear_cache

REGION = "eu-central-1"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def account() -> Iterator[None]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    with mock_aws():
        seed_account(
            AccountSeed(
                region=REGION,
                opensearch_domains=[
                    OpenSearchDomainSeed(
                        name="audit-search",
                        engine_version="OpenSearch_2.9",
                        instance_type="m6g.large.search",
                        instance_count=5,
                        dedicated_master_type="c6g.large.search",
                        dedicated_master_count=3,
                        zone_awareness=True,
                        volume_gib=320,
                        volume_type="gp2",
                    ),
                    OpenSearchDomainSeed(name="dev-search", instance_count=1, volume_gib=20),
                ],
            ),
            now=datetime.now(UTC),
        )
        yield
    clear_cache()


@pytest.mark.usefixtures("account")
def test_the_domain_reads_its_nodes_masters_volume_engine_and_account():
    audit = OpenSearchReader(region=REGION).domain("audit-search")
    assert audit is not None
    assert audit.arn == f"arn:aws:es:{REGION}:{ACCOUNT}:domain/audit-search" and audit.account_id == ACCOUNT
    assert (audit.engine_version, audit.instance_type, audit.instance_count) == (
        "OpenSearch_2.9",
        "m6g.large.search",
        5,
    )
    assert (audit.dedicated_master_type, audit.dedicated_master_count) == ("c6g.large.search", 3)
    assert (audit.volume_gib, audit.volume_type, audit.zone_awareness) == (320, "gp2", True)
    assert audit.expected_nodes == 8 and not audit.processing and not audit.upgrade_processing


@pytest.mark.usefixtures("account")
def test_a_domain_without_dedicated_masters_counts_its_data_nodes_only():
    dev = OpenSearchReader(region=REGION).domain("dev-search")
    assert dev is not None and dev.dedicated_master_count is None and dev.expected_nodes == 1


@pytest.mark.usefixtures("account")
def test_a_missing_domain_is_none():
    assert OpenSearchReader(region=REGION).domain("no-such-domain") is None
