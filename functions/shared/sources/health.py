"""AWS Health events (EventBridge source "aws.health", detail-type "AWS Health Event").

alert_type is the event's eventTypeCode (e.g. "AWS_EC2_OPERATIONAL_ISSUE").

Severity (the rule we chose): an "issue" that is open or upcoming is critical (a service problem affecting
this account now); a closed issue stays a warning so its resolution is seen; every "scheduledChange" and
"investigation" is a warning; an "accountNotification" is a warning while open and info once closed.
"""

from __future__ import annotations

from typing import Any

from functions.shared.alert_details import HealthDetails
from functions.shared.models import Alert, ResourceRef, Severity
from functions.shared.sources.common import as_dict, as_list, dedup_key, shorten, text, timestamp, title


def parse_health(payload: Any, subject: str | None) -> Alert | None:
    if not isinstance(payload, dict):
        return None
    if payload.get("source") == "aws.health" or payload.get("detail-type") == "AWS Health Event":
        detail = as_dict(payload.get("detail"))
    elif "eventTypeCode" in payload and "eventTypeCategory" in payload:
        detail, payload = payload, {}
    else:
        return None

    category_name = text(detail.get("eventTypeCategory")) or ""
    category = category_name.lower()
    status = (text(detail.get("statusCode")) or "").lower()
    code = text(detail.get("eventTypeCode")) or "AWS_HEALTH_EVENT"
    service = text(detail.get("service")) or "AWS"
    region = text(detail.get("eventRegion")) or text(payload.get("region"))
    descriptions = [as_dict(d) for d in as_list(detail.get("eventDescription"))]
    description = next((text(d.get("latestDescription")) for d in descriptions if text(d.get("latestDescription"))), "")
    named = [text(as_dict(e).get("entityValue")) for e in as_list(detail.get("affectedEntities"))]
    entities: list[str] = [e for e in named if e]
    if not entities:
        entities = [r for r in (text(x) for x in as_list(payload.get("resources"))) if r]
    event_arn = text(detail.get("eventArn"))

    started = timestamp(detail.get("startTime"))
    readable_code = code.replace("AWS_", "", 1).replace(f"{service}_", "", 1).replace("_", " ").lower()
    headline = f"AWS Health {category_name or 'event'} ({status or 'unknown status'}): {service} {readable_code}"
    details = HealthDetails(
        event_arn=event_arn,
        event_type_code=code,
        event_type_category=category_name or None,
        service=service,
        status_code=status or None,
        start_time=started.isoformat() if started else text(detail.get("startTime")),
        end_time=text(detail.get("endTime")),
        last_updated_time=text(detail.get("lastUpdatedTime")),
        event_scope_code=text(detail.get("eventScopeCode")),
        affected_entities=entities[:20] or None,
        affected_entity_count=len(entities) if entities else None,
    )
    first_entity = entities[0] if entities else None
    return Alert(
        source="health",
        alert_type=code,
        severity=_severity(category, status),
        title=title(headline),
        summary=shorten(description, 1_000) if description else headline,
        account_id=text(payload.get("account")) or text(detail.get("affectedAccount")),
        region=region,
        occurred_at=started or timestamp(payload.get("time")),
        resource=ResourceRef(
            type=_entity_type(first_entity, service),
            name=first_entity.split(":")[-1].split("/")[-1] if first_entity else code,
            arn=first_entity if first_entity and first_entity.startswith("arn:") else event_arn,
            region=region,
        ),
        details=details,
        # Health re-sends an event as it progresses; each status is one alert.
        dedup_key=dedup_key("health", code, event_arn or text(payload.get("id")), status),
    )


def _severity(category: str, status: str) -> Severity:
    if category == "issue":
        return "warning" if status == "closed" else "critical"
    if category == "accountnotification":
        return "info" if status == "closed" else "warning"
    return "warning"


def _entity_type(entity: str | None, service: str) -> str:
    if entity is None:
        return "AWS::Health::Event"
    if entity.startswith("i-"):
        return "AWS::EC2::Instance"
    if entity.startswith("arn:"):
        return f"AWS::{entity.split(':')[2].upper()}::Resource"
    return f"AWS::{service}::Resource"
