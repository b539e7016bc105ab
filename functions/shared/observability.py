"""Powertools Logger and Metrics shared by every Lambda, tracing without the X-Ray SDK at cold start, and the keys
that join one alert's log lines across its Lambdas.

Names come from the standard POWERTOOLS_* environment variables that CDK sets per function; the defaults here keep
local runs and tests quiet and offline.

Tracing (docs/decisions/0006-tracing-without-the-xray-sdk.md): Lambda's active tracing and Step Functions' X-Ray
integration already give one segment per state and per invocation, which is what an operator needs for a pipeline
whose stages make a handful of calls each. Importing the X-Ray SDK (Powertools Tracer) costs more than importing
boto3, on every cold start of every stage, so handlers use `trace_handler`: a no-op unless
`ALERT_INTEL_XRAY_SDK=true`, in which case Powertools Tracer is imported on the first invocation and wraps the
handler with `capture_response=False` (alert contents stay out of X-Ray).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "alert-intel")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AlertIntel")

logger = Logger()
metrics = Metrics()

Handler = Callable[[Any, Any], Any]
XRAY_SDK_SETTING = "ALERT_INTEL_XRAY_SDK"


def trace_handler(handler: Handler) -> Handler:
    """Trace `handler` with the X-Ray SDK only when ALERT_INTEL_XRAY_SDK=true (see the module docstring)."""
    traced: list[Handler] = []

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        if os.environ.get(XRAY_SDK_SETTING, "").lower() != "true":
            return handler(event, context)
        if not traced:
            from aws_lambda_powertools import Tracer  # imported on first use only: see the module docstring

            traced.append(Tracer().capture_lambda_handler(handler, capture_response=False))
        return traced[0](event, context)

    return wrapper


def alert_log_keys(event: Any) -> dict[str, str | None]:
    """The dedup key and the execution name in a stage's event, wherever the state machine put them."""
    if not isinstance(event, dict):
        return {"dedup_key": None, "execution": None}
    state: dict[str, Any] = event["state"] if isinstance(event.get("state"), dict) else event
    alert: dict[str, Any] = state["alert"] if isinstance(state.get("alert"), dict) else {}
    inner: dict[str, Any] = event["execution_input"] if isinstance(event.get("execution_input"), dict) else {}
    dedup_key = state.get("dedup_key") or alert.get("dedup_key") or inner.get("dedup_key")
    execution = event.get("execution_name") or event.get("execution_id")
    if isinstance(execution, str) and ":" in execution:  # an execution ARN: its last part is the name
        execution = execution.rsplit(":", 1)[-1]
    return {
        "dedup_key": dedup_key[:200] if isinstance(dedup_key, str) else None,
        "execution": execution[:200] if isinstance(execution, str) else None,
    }


def with_alert_keys(handler: Handler) -> Handler:
    """Put the alert's dedup key and execution name on every log line of this invocation (Powertools
    `append_keys`), so one alert's logs can be joined across its Lambdas. Apply inside `inject_lambda_context`."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        keys = alert_log_keys(event)
        logger.remove_keys(["dedup_key", "execution"])  # keys of the previous invocation in a warm container
        logger.append_keys(**{k: v for k, v in keys.items() if v})
        return handler(event, context)

    return wrapper
