"""One translation of AWS read failures into the errors gather code handles.

Throttling becomes `GatherThrottledError` (the state machine retries the branch); a denied call becomes
`AwsReadDeniedError` naming the IAM action; anything else (not found, not supported, endpoint down) becomes
`AwsReadUnavailableError`. Adapters wrap every boto3 call in `aws_read`.
"""

from __future__ import annotations

from collections.abc import Callable
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
