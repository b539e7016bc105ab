"""Anything no parser recognised: kept raw, never dropped. Severity warning, so a human looks once."""

from __future__ import annotations

from typing import Any

from functions.shared.alert_details import UnknownDetails
from functions.shared.models import Alert
from functions.shared.sources.common import as_dict, canonical_json, dedup_key, excerpt, text, timestamp, title


def raw_text(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    return canonical_json(payload)


def parse_unknown(payload: Any, subject: str | None) -> Alert:
    raw = raw_text(payload)
    first_line = next((line.strip() for line in raw.splitlines() if line.strip()), "")
    event = as_dict(payload)
    source_hint = text(event.get("source"))
    detail_type = text(event.get("detail-type"))
    if subject:
        headline = subject
    elif detail_type:
        headline = f"{detail_type} ({source_hint})" if source_hint else detail_type
    elif isinstance(payload, dict):
        keys = ", ".join(str(k) for k in list(payload)[:6])
        headline = f"JSON object with keys {keys}" if keys else "empty JSON object"
    elif isinstance(payload, list):
        headline = f"JSON array of {len(payload)} items"
    else:
        headline = first_line or "Empty alert"
    details = UnknownDetails(raw_chars=len(raw), event_source=source_hint, detail_type=detail_type)
    return Alert(
        source="unknown",
        alert_type="unknown",
        severity="warning",
        title=title("Unrecognised alert: " + headline if headline else "Unrecognised alert"),
        summary="An alert arrived in a shape alert-intel does not recognise; its raw content is attached.",
        account_id=text(event.get("account")),
        region=text(event.get("region")),
        occurred_at=timestamp(event.get("time")),
        details=details,
        dedup_key=dedup_key("unknown", subject or "", raw),
        raw_excerpt=excerpt(raw) if raw else None,
    )
