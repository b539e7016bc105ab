"""AWS clients, built once per container and bounded in time.

Every AWS call in the project goes through `aws_client`, so tests can point the whole process at moto
(in-process or server mode via AWS_ENDPOINT_URL) and `reset_clients()` drops clients between mocks.

Clients come from one botocore session, not from boto3: a boto3 client *is* a botocore client, and importing boto3
also imports s3transfer (boto3.compat), ~15 % of every stage's cold start for a library no stage uses
(`docs/decisions/0016-botocore-clients.md`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.config import Config

from functions.shared.errors import AwsReadUnavailableError
from functions.shared.settings import get_settings

_CONFIG = Config(
    connect_timeout=3,
    read_timeout=8,
    retries={"max_attempts": 3, "mode": "standard"},
    user_agent_extra="alert-intel",
)


# Every AWS region name, partitions included (us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-7).
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")


@lru_cache(maxsize=32)
def aws_client(service: str, region: str | None = None) -> Any:
    """A client for `service` in `region` (the Lambda's own region when None).

    Raises:
        AwsReadUnavailableError: `region` is not a region name. Regions come from alert text; checking them here
            keeps a hostile value away from botocore's endpoint resolution.
    """
    resolved = region or get_settings().aws_region
    if not _REGION.fullmatch(resolved):
        raise AwsReadUnavailableError(f"{resolved[:40]!r} is not an AWS region: nothing was read there")
    return _session().create_client(service, region_name=resolved, config=_CONFIG)


@lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    """One botocore session per container (as boto3's default session): it loads each service model once."""
    return botocore.session.get_session()


def reset_clients() -> None:
    aws_client.cache_clear()
    # A new session too: one made before a test's mock was set up would not route through it.
    _session.cache_clear()


def is_throttling(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}


def is_access_denied(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
