"""AWS clients, built once per container and bounded in time.

Every AWS call in the project goes through `aws_client`, so tests can point the whole process at moto
(in-process or server mode via AWS_ENDPOINT_URL) and `reset_clients()` drops clients between mocks.

Clients come from one botocore session, not from boto3: a boto3 client *is* a botocore client, and importing boto3
also imports s3transfer (boto3.compat), ~15 % of every stage's cold start for a library no stage uses
(`docs/decisions/0016-botocore-clients.md`).

botocore itself is imported when the first client is made, not when this module is: most alerts need one or two
of the three gather branches, and the branch that skips (a CloudWatch alarm needs no Cost Explorer read) then
never pays for the AWS SDK, the largest import of every stage (`docs/decisions/0021-bytecode-and-cold-imports.md`).
A stage that calls AWS on every invocation (Ingest, Post) calls `import_sdk()` when its handler module is imported,
so the SDK still loads in the Lambda init, where every invocation would pay for it anyway.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from functions.shared.errors import AwsReadUnavailableError
from functions.shared.settings import get_settings

if TYPE_CHECKING:
    import botocore.session


# Every AWS region name, partitions included (us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-7).
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")


def import_sdk() -> None:
    """Import botocore now: for a stage that calls AWS on every invocation, from its handler module."""
    import botocore.config
    import botocore.session  # noqa: F401  (imported for its cost, at init)


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
    from botocore.config import Config  # on the first client: see the module docstring

    config = Config(
        connect_timeout=3,
        read_timeout=8,
        retries={"max_attempts": 3, "mode": "standard"},
        user_agent_extra="alert-intel",
    )
    return _session().create_client(service, region_name=resolved, config=config)


@lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    """One botocore session per container (as boto3's default session): it loads each service model once."""
    import botocore.session  # on the first client: see the module docstring

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
