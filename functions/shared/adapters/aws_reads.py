"""One translation of AWS read failures into the errors gather code handles.

Throttling becomes `GatherThrottledError` (the state machine retries the branch); a denied call becomes
`AwsReadDeniedError` naming the IAM action; anything else (not found, not supported, endpoint down) becomes
`AwsReadUnavailableError`. Adapters wrap every AWS call in `aws_read`, or in `aws_read_or_none` when a resource
that does not exist is an answer ("not found") rather than a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from functions.shared.adapters.aws import is_access_denied, is_throttling
from functions.shared.errors import AwsReadDeniedError, AwsReadUnavailableError, GatherThrottledError

T = TypeVar("T")

# Codes some read APIs use for rate limits on top of the common ones (Cost Explorer, Logs Insights concurrency).
_EXTRA_THROTTLING = {"LimitExceededException", "RequestLimitExceeded", "SlowDown", "ThrottledException"}


def error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def aws_read(permission: str, call: Callable[..., T], /, **kwargs: Any) -> T:
    """Call `call(**kwargs)`; `permission` is the IAM action it needs, e.g. "logs:StartQuery".

    Raises:
        GatherThrottledError: AWS throttled the call.
        AwsReadDeniedError: the caller lacks `permission`.
        AwsReadUnavailableError: any other AWS or connection failure.
    """
    try:
        return call(**kwargs)
    except ClientError as exc:
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
        if is_throttling(exc) or code in _EXTRA_THROTTLING:
            raise GatherThrottledError(f"{permission} was throttled ({code})") from exc
        if is_access_denied(exc):
            raise AwsReadDeniedError(permission, f"missing permission {permission} ({code})") from exc
        raise AwsReadUnavailableError(f"{permission} failed: {code or 'error'}: {message[:200]}") from exc
    except BotoCoreError as exc:
        raise AwsReadUnavailableError(f"{permission} failed: {exc}"[:300]) from exc


def aws_read_or_none(
    permission: str,
    call: Callable[..., T],
    /,
    *,
    not_found: Collection[str],
    not_found_message: str | None = None,
    **kwargs: Any,
) -> T | None:
    """`aws_read(permission, call, **kwargs)`, or None when AWS answers that the resource does not exist.

    `not_found`: the error codes that mean "no such resource" for this call (e.g. "ResourceNotFoundException").
    `not_found_message`: a message fragment that means it too, for an API that answers a missing resource with a
    generic code (ECS: ClientException "Unable to describe task definition").

    Raises:
        GatherThrottledError, AwsReadDeniedError, AwsReadUnavailableError: as `aws_read`, for any other failure.
    """
    try:
        return aws_read(permission, call, **kwargs)
    except AwsReadUnavailableError as exc:
        cause = exc.__cause__
        if isinstance(cause, Exception) and error_code(cause) in not_found:
            return None
        if not_found_message is not None and not_found_message in str(exc):
            return None
        raise


def int_or_none(value: Any) -> int | None:
    """An attribute AWS returns as a string of digits ("12") or a number, as an int; None when it is neither."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
