"""Recognising an alert's source: every shape becomes one normalised `Alert`, whichever stage asks.

Ingest needs it for the dedup key (which names the execution), Classify to build the alert, Recover to say what
an unprocessed alert was. `classify_payload` never raises: a payload no parser recognises (or one that trips a
parser) becomes an "unknown" alert that keeps its raw text, because an alert dropped on the floor is worse than an
ugly one.

Recognised shapes, tried in the order `functions.shared.registry.SOURCES` lists them (first match wins): CloudWatch
alarms, Cost Anomaly Detection, AWS Health, Security Hub, GuardDuty, AWS Budgets (plain text), custom application
errors; see `functions.shared.sources` for each shape's alert_type vocabulary and severity rules.
"""

from __future__ import annotations

from typing import Any

from functions.shared.models import Alert
from functions.shared.observability import logger
from functions.shared.registry import SOURCES, UNKNOWN, Parser
from functions.shared.sources.common import as_dict, as_list, dedup_key, text
from functions.shared.sources.unknown import raw_text
from functions.shared.untrusted_text import loads_bounded

# The recognising parsers in parse order, as the registry lists the sources; the unknown source takes the rest.
PARSERS: tuple[Parser, ...] = tuple(spec.parser for spec in SOURCES)

_MAX_UNWRAP_DEPTH = 4


def classify_payload(payload: Any, subject: str | None = None) -> Alert:
    """Normalise one raw alert payload (any shape, str, bytes or JSON value) into an `Alert`. Never raises."""
    try:
        message, subject = unwrap_envelope(payload, subject)
        for parser in PARSERS:
            alert = parser(message, subject)
            if alert is not None:
                return alert
        return _parse_unknown(message, subject)
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
        parsed = loads_bounded(stripped)  # a field nested deeper than the parser goes is kept as a marker
    except (ValueError, RecursionError):  # not JSON: keep it as text
        return value
    return parsed if isinstance(parsed, dict | list) else value


def _parse_unknown(message: Any, subject: str | None) -> Alert:
    alert = UNKNOWN.parser(message, subject)
    if alert is None:  # the unknown parser keeps whatever it gets; this only satisfies the type checker
        raise ValueError("the unknown source's parser returned no alert")
    return alert


def _last_resort(payload: Any, subject: str | None) -> Alert:
    try:
        return _parse_unknown(raw_text(payload) if not isinstance(payload, str) else payload, subject)
    except Exception:
        return Alert(
            source="unknown",
            alert_type="unknown",
            severity="warning",
            title="Unrecognised alert",
            dedup_key=dedup_key("unknown", repr(payload)[:10_000]),
            raw_excerpt=repr(payload)[:1_000],
        )
