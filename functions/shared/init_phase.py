"""Work a stage does in Lambda's init phase because every invocation in its configured mode needs it.

A handler module imports what all its invocations use. What only one configuration uses (the Anthropic SDK when a
model is configured, the DynamoDB client in bot-token mode) is imported by the code that needs it, and warmed here
at init when the function runs in that configuration, so the import still happens before the request rather than
inside it (decision 0021).

Warming runs only in a Lambda init (`AWS_LAMBDA_INITIALIZATION_TYPE` is set by Lambda for exactly that), never when
tests or the local runner import a handler: there it would read settings at import time, before a test sets them.
A failure is logged and left for the invocation, which meets it again and reports it the usual way — an init that
raises would leave the alert with no message at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from functions.shared.observability import logger

INITIALIZATION_TYPE_ENV = "AWS_LAMBDA_INITIALIZATION_TYPE"


def in_lambda_init() -> bool:
    return bool(os.environ.get(INITIALIZATION_TYPE_ENV))


def warm_up(step: Callable[[], object], what: str) -> bool:
    """Run `step` now when this is a Lambda init; True when it ran and succeeded."""
    if not in_lambda_init():
        return False
    try:
        step()
    except Exception as error:  # the invocation meets the same error and reports it
        logger.warning(
            "warm-up at init failed; the invocation will retry it", extra={"step": what, "error": str(error)}
        )
        return False
    return True
