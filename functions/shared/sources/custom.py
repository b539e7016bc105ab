"""Custom application error events: a JSON object with a message (message / error / msg / errorMessage /
summary / title ..., `_MESSAGE_KEYS`) and optional severity (severity / level / sev / urgency ...), service
(service / app / svc / component ...), environment, account and region fields; sent as is, or as the detail of
an application's own EventBridge event (PutEvents with a non-"aws." source). A nested `ctx` / `context` /
`details` object's exception is appended to the message and gives the error type (decision 0019).

Severity: a given severity/level maps error/critical/fatal/high/... -> critical, warn/warning/medium -> warning,
info/debug/low/... -> info. Without one the event is critical: an application that publishes an error event
to the alert topic is asking for attention, and a missed page costs more than a noisy one.
"""

from __future__ import annotations

from typing import Any

from functions.shared.alert_details import CustomErrorDetails
from functions.shared.models import Alert, ResourceRef, Severity
from functions.shared.sources.common import as_dict, canonical_json, dedup_key, shorten, text, timestamp, title

_MESSAGE_KEYS = (
    "message",
    "error",
    "errorMessage",
    "error_message",
    "msg",
    "exception",
    "description",
    "summary",
    "title",
    "reason",
    "text",
)
# Where home-grown alerters nest the technical detail (`{"summary": ..., "ctx": {"exception": ...}}`): one level
# down, its exception or error is appended to the message and gives the error type.
_CONTEXT_KEYS = ("ctx", "context", "details", "detail", "data", "extra", "meta", "metadata", "payload")
_EXCEPTION_KEYS = ("exception", "error", "errorMessage", "error_message", "stack", "stacktrace", "traceback")
_SEVERITY_KEYS = ("severity", "level", "log_level", "logLevel", "priority", "sev", "urgency")
_SERVICE_KEYS = (
    "service",
    "service_name",
    "serviceName",
    "application",
    "app",
    "app_name",
    "appName",
    "svc",
    "component",
    "function_name",
    "functionName",
)
_TIME_KEYS = ("timestamp", "time", "occurred_at", "occurredAt", "@timestamp", "date", "emitted_at", "created_at", "ts")
_ID_KEYS = ("event_id", "eventId", "id", "request_id", "requestId", "correlation_id", "trace_id")

_SEVERITY_WORDS: dict[str, Severity] = {
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "error": "critical",
    "err": "critical",
    "emergency": "critical",
    "emerg": "critical",
    "alert": "critical",
    "high": "critical",
    "sev1": "critical",
    "sev2": "critical",
    "p1": "critical",
    "p2": "critical",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "moderate": "warning",
    "notice": "warning",
    "sev3": "warning",
    "p3": "warning",
    "info": "info",
    "information": "info",
    "informational": "info",
    "debug": "info",
    "trace": "info",
    "low": "info",
    "sev4": "info",
    "p4": "info",
}


def custom_message(payload: dict[str, Any]) -> str | None:
    for key in _MESSAGE_KEYS:
        value = payload.get(key)
        if isinstance(value, dict):
            nested = text(value.get("message")) or text(value.get("msg")) or text(value.get("errorMessage"))
            if nested:
                kind = text(value.get("type")) or text(value.get("name")) or text(value.get("errorType"))
                return f"{kind}: {nested}" if kind else nested
        elif (found := text(value)) is not None:
            return found
    return None


def nested_exception(payload: dict[str, Any]) -> str | None:
    """The exception or error a nested context object carries (`ctx.exception`), if the top level has none."""
    for key in _CONTEXT_KEYS:
        context = payload.get(key)
        if not isinstance(context, dict):
            continue
        for name in _EXCEPTION_KEYS:
            found = text(context.get(name))
            if found:
                return found
    return None


def _error_type(exception: str | None) -> str | None:
    """`decimal.InvalidOperation: [...]` -> `decimal.InvalidOperation`: the leading dotted name before a colon."""
    if not exception:
        return None
    head = exception.split(":", 1)[0].strip()
    return head if head and " " not in head and len(head) <= 120 else None


def parse_custom(payload: Any, subject: str | None) -> Alert | None:
    if not isinstance(payload, dict):
        return None
    envelope: dict[str, Any] = {}
    detail = payload.get("detail")
    source = text(payload.get("source")) or ""
    if "detail-type" in payload and isinstance(detail, dict) and not source.startswith("aws."):
        # An application's own event sent with EventBridge PutEvents: the error is in detail.
        envelope, payload = payload, detail
        subject = subject or text(envelope.get("detail-type"))
    message = custom_message(payload)
    if message is None:
        return None
    exception = nested_exception(payload)
    if exception and exception not in message:
        message = f"{message}: {exception}"
    severity_word = next((text(payload.get(k)) for k in _SEVERITY_KEYS if text(payload.get(k))), None)
    severity = _SEVERITY_WORDS.get((severity_word or "").lower().replace(" ", ""), "critical")
    service = next((text(payload.get(k)) for k in _SERVICE_KEYS if text(payload.get(k))), None)
    service = service or (source if envelope else None)
    error = as_dict(payload.get("error"))
    error_type = (
        text(payload.get("error_type"))
        or text(payload.get("errorType"))
        or text(error.get("type"))
        or text(error.get("name"))
        or _error_type(exception)
    )
    occurred = next((timestamp(payload.get(k)) for k in _TIME_KEYS if timestamp(payload.get(k))), None)
    occurred = occurred or timestamp(envelope.get("time"))
    event_id = next((text(payload.get(k)) for k in _ID_KEYS if text(payload.get(k))), None)
    event_id = event_id or text(envelope.get("id"))
    environment = text(payload.get("environment")) or text(payload.get("env")) or text(payload.get("stage"))
    first_line = message.splitlines()[0] if message.splitlines() else message
    headline = f"{service}: {first_line}" if service else (subject or first_line)
    extra = {
        k: v
        for k, v in payload.items()
        if isinstance(v, str | int | float | bool) and k not in _MESSAGE_KEYS and len(str(v)) <= 200
    }
    details = CustomErrorDetails(
        service=service,
        environment=environment,
        given_severity=severity_word,
        error_type=error_type,
        event_id=event_id,
        message=shorten(message, 1_000),
        fields=dict(list(extra.items())[:20]) or None,
    )
    function_name = text(payload.get("function_name")) or text(payload.get("functionName"))
    resource = ResourceRef(type="AWS::Lambda::Function", name=function_name) if function_name else None
    if resource is None and service:
        resource = ResourceRef(type="Application", name=service)
    return Alert(
        source="custom",
        alert_type="app_error",
        severity=severity,
        title=title(headline),
        summary=shorten(message, 1_000),
        account_id=text(payload.get("account_id"))
        or text(payload.get("accountId"))
        or text(payload.get("account"))
        or text(envelope.get("account")),
        region=text(payload.get("region")) or text(envelope.get("region")),
        occurred_at=occurred,
        resource=resource,
        details=details,
        # The app's own event id when it sends one; otherwise the whole event's content.
        dedup_key=dedup_key("app", service or "error", event_id or canonical_json(payload)),
    )
