"""The Classify stage: the execution input becomes one bounded `Alert`.

Recognising the source is shared (`functions.shared.classification`, which ingest uses for the dedup key too);
this stage adds what only it does: cleaning input that did not pass through ingest, keeping ingest's key, and
bounding the alert in bytes so no state downstream can outgrow its budget.
"""

from __future__ import annotations

import re
from typing import Any

from functions.shared.alert_details import SourceDetails, details_for
from functions.shared.classification import PARSERS, alert_dedup_key, classify_payload, parse_json_text, unwrap_envelope
from functions.shared.models import MAX_RAW_EXCERPT_CHARS, Alert, PipelineInput, ResourceRef
from functions.shared.payload_bounds import MAX_ALERT_BYTES, fits, shorten, shorten_to_bytes, shrink_json
from functions.shared.untrusted_text import clean_json, clean_text

__all__ = [
    "PARSERS",
    "alert_dedup_key",
    "bound_alert",
    "classify",
    "classify_payload",
    "parse_json_text",
    "unwrap_envelope",
]

_VALID_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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
        updates["details"] = alert.details.model_copy(update={"payload_truncated": True})
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
            "details": _shrunk_details(alert, max_bytes // 2),
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
                "details": _shrunk_details(bounded, int(max_bytes * factor)),
                "title": shorten(bounded.title, max(int(_MAX_TITLE_CHARS * factor), 80)),
            }
        )
    if not fits(bounded.model_dump(mode="json"), max_bytes):  # e.g. a 500-character resource name of emoji
        bounded = _within_bytes(bounded, max_bytes)
    return bounded


def _within_bytes(alert: Alert, max_bytes: int) -> Alert:
    """The last resort for text whose characters are large when escaped (astral, non-Latin): every free-text
    field cut by its size in bytes, the details dropped to their model's defaults."""
    share = max_bytes // 8
    resource = alert.resource
    if resource is not None:
        resource = ResourceRef(
            type=shorten_to_bytes(resource.type, share // 2),
            name=shorten_to_bytes(resource.name, share),
            arn=shorten_to_bytes(resource.arn, share) if resource.arn else None,
            region=shorten_to_bytes(resource.region, share // 4) if resource.region else None,
        )
    return alert.model_copy(
        update={
            "details": details_for(alert.source, {}),
            "alert_type": shorten_to_bytes(alert.alert_type, share // 2),
            "account_id": shorten_to_bytes(alert.account_id, share // 4) if alert.account_id else None,
            "region": shorten_to_bytes(alert.region, share // 4) if alert.region else None,
            "dedup_key": shorten_to_bytes(alert.dedup_key, share // 2),
            "title": shorten_to_bytes(alert.title, share),
            "summary": shorten_to_bytes(alert.summary, share),
            "raw_excerpt": shorten_to_bytes(alert.raw_excerpt, share) if alert.raw_excerpt else None,
            "resource": resource,
        }
    )


def _shrunk_details(alert: Alert, max_bytes: int) -> SourceDetails:
    """The alert's details within `max_bytes` of JSON, every key kept (its longest strings and lists shortened)."""
    fields = alert.details.as_fields()
    if fits(fields, max_bytes):
        return alert.details
    return details_for(alert.source, shrink_json(fields, max_bytes))


def _shorten_detail_strings(alert: Alert) -> Alert:
    """Top-level detail strings (an alarm's description, a reason) are shown as fields: a few hundred characters
    say what they are; the raw excerpt keeps the rest."""
    details = {
        key: shorten(value, _MAX_DETAIL_STRING_CHARS) if isinstance(value, str) else value
        for key, value in alert.details.as_fields().items()
    }
    return alert.model_copy(update={"details": details_for(alert.source, details)})
