"""Classification: every alert shape becomes one normalised `Alert`.

`classify` never raises: a payload no parser recognises (or one that trips a parser) becomes an "unknown"
alert that keeps its raw text, because an alert dropped on the floor is worse than an ugly one.

Recognised shapes, tried in this order (first match wins): CloudWatch alarms, Cost Anomaly Detection, AWS Health,
Security Hub, GuardDuty, AWS Budgets (plain text), custom application errors; see `functions.classify.sources`
for each shape's alert_type vocabulary and severity rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from functions.classify.sources.budget import parse_budget
from functions.classify.sources.cloudwatch import parse_cloudwatch_alarm
from functions.classify.sources.common import as_dict, as_list, dedup_key, text
from functions.classify.sources.cost_anomaly import parse_cost_anomaly
from functions.classify.sources.custom import parse_custom
from functions.classify.sources.health import parse_health
from functions.classify.sources.security import parse_guardduty, parse_security_hub
from functions.classify.sources.unknown import parse_unknown, raw_text
from functions.shared.models import MAX_RAW_EXCERPT_CHARS, Alert, PipelineInput, ResourceRef
from functions.shared.observability import logger
from functions.shared.payload_bounds import MAX_ALERT_BYTES, fits, shorten, shrink_json
from functions.shared.untrusted_text import clean_json, clean_text

Parser = Callable[[Any, str | None], Alert | None]

PARSERS: tuple[Parser, ...] = (
    parse_cloudwatch_alarm,
    parse_cost_anomaly,
    parse_health,
    parse_security_hub,
    parse_guardduty,
    parse_budget,
    parse_custom,
)

_VALID_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_UNWRAP_DEPTH = 4


def classify(pipeline_input: PipelineInput) -> Alert:
    """Normalise the alert carried by `pipeline_input`. Never raises.

    The alert's dedup_key is the one ingest computed (so it matches the execution name) when that key is well
    formed; otherwise it is computed from the content.
    """
    # Ingest cleans every string already; an execution started by hand did not pass through ingest.
    subject = clean_text(pipeline_input.subject) if pipeline_input.subject is not None else None
    alert = classify_payload(clean_json(pipeline_input.payload), subject)
    updates: dict[str, Any] = {}
    if pipeline_input.dedup_key and _VALID_KEY.match(pipeline_input.dedup_key):
        updates["dedup_key"] = pipeline_input.dedup_key
    if pipeline_input.payload_truncated:
        updates["details"] = {**alert.details, "payload_truncated": True}
    return bound_alert(alert.model_copy(update=updates) if updates else alert)


# Per-field bounds first (what a reader needs of each), then the whole alert within MAX_ALERT_BYTES.
_MAX_TITLE_CHARS = 300
_MAX_SUMMARY_CHARS = 1_500
_MAX_NAME_CHARS = 512
_MAX_ARN_CHARS = 2_048
_MAX_DETAIL_STRING_CHARS = 600


def bound_alert(alert: Alert, max_bytes: int = MAX_ALERT_BYTES) -> Alert:
    """`alert` within `max_bytes` of JSON, every source-specific key kept.

    Each free-text field is shortened to what a reader needs, then, if the whole is still too large, the details
    and the raw excerpt shrink (longest strings first) until it fits. Source, type, severity, account, region,
    resource and dedup key are never touched, so a huge alert is still routed, analysed and linked as itself.
    """
    resource = alert.resource
    if resource is not None:
        resource = ResourceRef(
            type=shorten(resource.type, 200),
            name=shorten(resource.name, _MAX_NAME_CHARS),
            arn=shorten(resource.arn, _MAX_ARN_CHARS) if resource.arn else None,
            region=shorten(resource.region, 64) if resource.region else None,
        )
    bounded = alert.model_copy(
        update={
            "alert_type": shorten(alert.alert_type, 200),
            "account_id": shorten(alert.account_id, 64) if alert.account_id else None,
            "region": shorten(alert.region, 64) if alert.region else None,
            "dedup_key": shorten(alert.dedup_key, 200),
            "title": shorten(alert.title, _MAX_TITLE_CHARS),
            "summary": shorten(alert.summary, _MAX_SUMMARY_CHARS),
            "raw_excerpt": shorten(alert.raw_excerpt, MAX_RAW_EXCERPT_CHARS) if alert.raw_excerpt else None,
            "resource": resource,
            "details": shrink_json(alert.details, max_bytes // 2)
            if not fits(alert.details, max_bytes // 2)
            else alert.details,
        }
    )
    bounded = _shorten_detail_strings(bounded)
    for factor in (0.5, 0.25, 0.1):
        if fits(bounded.model_dump(mode="json"), max_bytes):
            return bounded
        bounded = bounded.model_copy(
            update={
                "summary": shorten(bounded.summary, int(_MAX_SUMMARY_CHARS * factor)),
                "raw_excerpt": shorten(bounded.raw_excerpt, int(MAX_RAW_EXCERPT_CHARS * factor))
                if bounded.raw_excerpt
                else None,
                "details": shrink_json(bounded.details, int(max_bytes * factor)),
                "title": shorten(bounded.title, max(int(_MAX_TITLE_CHARS * factor), 80)),
            }
        )
    if not fits(bounded.model_dump(mode="json"), max_bytes):  # e.g. a 500-character resource ARN of emoji
        bounded = bounded.model_copy(update={"details": {}, "raw_excerpt": shorten(bounded.raw_excerpt or "", 200)})
    return bounded


def _shorten_detail_strings(alert: Alert) -> Alert:
    """Top-level detail strings (an alarm's description, a reason) are shown as fields: a few hundred characters
    say what they are; the raw excerpt keeps the rest."""
    details = {
        key: shorten(value, _MAX_DETAIL_STRING_CHARS) if isinstance(value, str) else value
        for key, value in alert.details.items()
    }
    return alert.model_copy(update={"details": details})


def classify_payload(payload: Any, subject: str | None = None) -> Alert:
    """Normalise one raw alert payload (any shape, str, bytes or JSON value) into an `Alert`. Never raises."""
    try:
        message, subject = unwrap_envelope(payload, subject)
        for parser in PARSERS:
            alert = parser(message, subject)
            if alert is not None:
                return alert
        return parse_unknown(message, subject)
    except Exception:  # a parser bug must not lose the alert: keep it raw instead
        logger.exception("Classification failed; keeping the alert as unknown")
        return _last_resort(payload, subject)


def alert_dedup_key(payload: Any, subject: str | None = None) -> str:
    """The content-based dedup key of one raw alert: same alert delivered twice -> same key. Never raises."""
    return classify_payload(payload, subject).dedup_key


def unwrap_envelope(payload: Any, subject: str | None = None) -> tuple[Any, str | None]:
    """Peel transport wrappers off an alert: bytes, JSON text, an SNS Lambda event (its first record), an SNS
    HTTPS body. Returns (message, subject); EventBridge events are alerts themselves and are kept whole."""
    for _ in range(_MAX_UNWRAP_DEPTH):
        if isinstance(payload, bytes | bytearray):
            payload = bytes(payload).decode("utf-8", errors="replace")
        if isinstance(payload, str):
            payload = parse_json_text(payload)
        if not isinstance(payload, dict):
            return payload, subject
        records = as_list(payload.get("Records"))
        sns = as_dict(as_dict(records[0]).get("Sns")) if records else {}
        if sns and "Message" in sns:
            payload, subject = sns.get("Message"), text(sns.get("Subject")) or subject
            continue
        if payload.get("Type") == "Notification" and "Message" in payload:
            payload, subject = payload.get("Message"), text(payload.get("Subject")) or subject
            continue
        return payload, subject
    return payload, subject


def parse_json_text(value: str) -> Any:
    """The JSON object or array `value` holds, or `value` itself when it is not JSON."""
    stripped = value.strip()
    if not stripped or stripped[0] not in "{[":
        return value
    try:
        parsed = json.loads(stripped)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes: keep it as text
        return value
    return parsed if isinstance(parsed, dict | list) else value


def _last_resort(payload: Any, subject: str | None) -> Alert:
    try:
        return parse_unknown(raw_text(payload) if not isinstance(payload, str) else payload, subject)
    except Exception:
        return Alert(
            source="unknown",
            alert_type="unknown",
            severity="warning",
            title="Unrecognised alert",
            dedup_key=dedup_key("unknown", repr(payload)[:10_000]),
            raw_excerpt=repr(payload)[:1_000],
        )
