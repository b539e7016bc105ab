"""Which incident an alert belongs to, and whether it says the incident is over (issue 14).

One incident is one Slack message: the first alert of it posts the main message, a duplicate or a re-fire replies in
its thread and updates its header, and a resolution (alarm back to OK, finding archived or resolved, Health event
closed) edits the header to "✅ Resolved" — when the bot token is configured (`functions/post/logic.py`). Webhooks
cannot edit: there a resolution posts one compact line.

The key is stable per source: the alarm's ARN, the budget's name and period, the anomaly's ID, the finding's ID and
resource, the Health event's ARN; anything else falls back to the alert's dedup key.

The lookup happens before any investigation (decision 0014): `check_incident`, run by the "Check Incident" state,
routes a re-fire, duplicate or resolution of an open incident straight to Post, unless the re-fire's evidence changed
materially (`material_change`); Post uses the same `find_open_incident` when it threads and edits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from functions.shared.alert_details import (
    BudgetDetails,
    CloudWatchAlarmDetails,
    CostAnomalyDetails,
    GuardDutyDetails,
    HealthDetails,
    SecurityHubDetails,
)
from functions.shared.models import Alert, IncidentCheck, IncidentRef, IncidentSignal, Severity

# A re-fire within this long of the incident's last alert (resolved or not) joins its thread.
INCIDENT_WINDOW = timedelta(hours=6)
# Alarms on one resource within this long of its incident's first alert join that incident's thread.
RESOURCE_GROUPING_WINDOW = timedelta(minutes=15)
# A re-fire is investigated again when its headline number moved by at least this share of the number the posted
# analysis rests on (decision 0014): 9 errors then 12 is the same incident, 9 then 40 is news.
MATERIAL_VALUE_CHANGE = 0.5
_SEVERITY_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}
# CloudWatch's state reason lists the evaluated datapoints: "... 2 datapoints [812.0 (25/11/26 18:47:00), 790.0]".
_REASON_DATAPOINTS = re.compile(r"\[([^\]]*)\]")
_DATAPOINT = re.compile(r"(?:^|,)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")

_RESOLVED_FINDING_WORKFLOW = frozenset({"RESOLVED", "SUPPRESSED"})

# Concurrent alerts of one new incident (decision 0020): the first execution claims it; the others wait up to
# MAX_CLAIM_WAITS times (INCIDENT_CLAIM_WAIT_SECONDS each, 10 s by default) for its message, then reply in its thread.
# A claim older than CLAIM_STALE_AFTER belongs to an execution that died: the next alert takes the incident over.
CLAIM_STALE_AFTER = timedelta(minutes=5)
MAX_CLAIM_WAITS = 6
NEW_INCIDENT = "new incident"  # `check_incident`'s reason for an alert no open incident has: the one to claim


def incident_key(alert: Alert) -> str:
    """The key every alert of one incident shares (see the module docstring)."""
    account = alert.account_id or ""
    if (alarm := alert.details_of(CloudWatchAlarmDetails)) is not None:
        if alarm.alarm_arn:
            return f"alarm#{alarm.alarm_arn}"
        if alarm.alarm_name:
            return f"alarm#{account}:{alert.region or ''}:{alarm.alarm_name}"
    if (budget := alert.details_of(BudgetDetails)) is not None and budget.budget_name:
        period = (budget.notification_date or "")[:7] or (budget.threshold_period or "")
        return f"budget#{account}:{budget.budget_name}:{period}"
    if (anomaly := alert.details_of(CostAnomalyDetails)) is not None and anomaly.anomaly_id:
        return f"anomaly#{account}:{anomaly.anomaly_id}"
    finding = alert.details_of(SecurityHubDetails) or alert.details_of(GuardDutyDetails)
    if finding is not None and finding.finding_id:
        return f"finding#{finding.finding_id}:{resource_key(alert) or ''}"
    if (health := alert.details_of(HealthDetails)) is not None and health.event_arn:
        return f"health#{health.event_arn}"
    return f"alert#{alert.dedup_key}"


def resource_key(alert: Alert) -> str | None:
    """The implicated resource, for grouping many alarms on one resource into one thread (None if unknown)."""
    resource = alert.resource
    if resource is None or not (resource.arn or resource.name):
        return None
    return f"{alert.account_id or ''}:{resource.type}:{resource.arn or resource.name}"


def is_resolution(alert: Alert) -> bool:
    """Whether the alert says its incident is over: alarm OK, finding archived or resolved, Health event closed."""
    if (alarm := alert.details_of(CloudWatchAlarmDetails)) is not None:
        return (alarm.state or "").upper() == "OK"
    if (hub := alert.details_of(SecurityHubDetails)) is not None:
        return (hub.record_state or "").upper() == "ARCHIVED" or (
            (hub.workflow_status or "").upper() in _RESOLVED_FINDING_WORKFLOW
        )
    if (health := alert.details_of(HealthDetails)) is not None:
        return (health.status_code or "").lower() == "closed"
    return False


def incident_ref(alert: Alert, *, evidence_digest: str | None = None) -> IncidentRef:
    return IncidentRef(
        key=incident_key(alert),
        resource_key=resource_key(alert),
        resolved=is_resolution(alert),
        evidence_digest=evidence_digest,
        occurred_at=alert.occurred_at,
    )


def alert_signal(alert: Alert) -> IncidentSignal:
    """The alert's severity and headline number, from its structured fields (see `IncidentSignal`)."""
    value: float | None = None
    threshold: float | None = None
    if (alarm := alert.details_of(CloudWatchAlarmDetails)) is not None:
        value, threshold = _peak_datapoint(alarm.state_reason or ""), alarm.threshold
    elif (budget := alert.details_of(BudgetDetails)) is not None:
        value = budget.actual_amount if budget.actual_amount is not None else budget.forecasted_amount
        threshold = budget.threshold_amount
    elif (anomaly := alert.details_of(CostAnomalyDetails)) is not None:
        value = anomaly.total_impact
    elif (hub := alert.details_of(SecurityHubDetails)) is not None:
        value = hub.severity_normalized
    elif (guardduty := alert.details_of(GuardDutyDetails)) is not None:
        value = guardduty.severity_score
    return IncidentSignal(severity=alert.severity, value=value, threshold=threshold)


def _peak_datapoint(reason: str) -> float | None:
    match = _REASON_DATAPOINTS.search(reason)
    if match is None:
        return None
    values = [float(number) for number in _DATAPOINT.findall(match.group(1))]
    return max(values, key=abs) if values else None


def material_change(before: IncidentSignal | None, after: IncidentSignal) -> str | None:
    """Why `after` (a re-fire) says something the posted analysis (made on `before`) does not, or None.

    Material: the severity rose; the threshold changed (a budget's 100 % notification after its 80 % one); the
    headline number moved by `MATERIAL_VALUE_CHANGE` or more of its earlier value, or appeared from zero.
    """
    if before is None:
        return None  # nothing recorded to compare with: the thread reply is the safe, cheap answer
    if _SEVERITY_RANK[after.severity] > _SEVERITY_RANK[before.severity]:
        return f"severity rose from {before.severity} to {after.severity}"
    if after.threshold is not None and before.threshold is not None and after.threshold != before.threshold:
        return f"threshold changed from {before.threshold:g} to {after.threshold:g}"
    if after.value is not None and before.value is not None:
        if before.value == 0:
            if after.value != 0:
                return f"value rose from 0 to {after.value:g}"
        elif abs(after.value - before.value) >= MATERIAL_VALUE_CHANGE * abs(before.value):
            return f"value moved from {before.value:g} to {after.value:g}"
    return None


class IncidentClaim(BaseModel):
    """The outcome of claiming a new incident: `won`, or who holds it (an execution name) since when."""

    model_config = ConfigDict(frozen=True)

    won: bool
    holder: str
    claimed_at: datetime


class IncidentClaims(Protocol):
    """Claims of new incidents (`functions.shared.adapters.conversations.ConversationTable.claim_incident`)."""

    def claim_incident(self, key: str, execution_name: str, now: datetime, stale_after: timedelta) -> IncidentClaim: ...


class IncidentLookup(Protocol):
    """Reads open incidents' records (`functions.shared.adapters.conversations.ConversationTable.incident`)."""

    def incident(self, key: str) -> dict[str, Any] | None: ...


def find_open_incident(
    store: IncidentLookup, key: str, resource_key: str | None, now: datetime
) -> tuple[str, dict[str, Any] | None]:
    """The incident an alert joins: its own within `INCIDENT_WINDOW` of its last alert, else the one opened on
    the same resource within `RESOURCE_GROUPING_WINDOW` (still open). Returns (the key to update, its record)."""
    record = store.incident(key)
    if record is not None and now - _moment(record["last_fired_at"]) <= INCIDENT_WINDOW:
        return key, record
    if resource_key:
        pointer = store.incident(f"resource#{resource_key}")
        if pointer and now - _moment(pointer["opened_at"]) <= RESOURCE_GROUPING_WINDOW:
            grouped = store.incident(str(pointer["key"]))
            if grouped is not None and grouped.get("status") == "open":
                return str(pointer["key"]), grouped
    return key, None


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_incident(alert: Alert, store: IncidentLookup | None, *, now: datetime | None = None) -> IncidentCheck:
    """Investigate the alert, or only update its open incident's message (decision 0014):

    * a resolution never runs an investigation (with or without incident memory);
    * without incident memory (webhook-only mode) every other alert is investigated, as before;
    * a re-fire or duplicate of an open incident (or an alarm on a resource with one) is an update, unless its
      evidence changed materially (`material_change`);
    * anything else is a new incident: investigate.
    """
    ref = incident_ref(alert)
    ref = ref.model_copy(update={"signal": alert_signal(alert)})
    if ref.resolved:
        return IncidentCheck(action="update", reason="resolution: no investigation", incident=_updating(ref))
    if store is None:
        return IncidentCheck(action="investigate", reason="no incident memory (webhook mode)", incident=ref)
    moment = now or alert.occurred_at or datetime.now(UTC)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    key, record = find_open_incident(store, ref.key, ref.resource_key, moment)
    if record is None:
        return IncidentCheck(action="investigate", reason=NEW_INCIDENT, incident=ref)
    recorded = record.get("signal")  # JSON text (DynamoDB's serializer takes no floats)
    before = IncidentSignal.model_validate_json(recorded) if isinstance(recorded, str) and recorded else None
    after = ref.signal or alert_signal(alert)
    if key != ref.key and before is not None:
        # Another alarm on the incident's resource: its number measures another metric, so only a rise in
        # severity says something the posted analysis does not.
        before, after = IncidentSignal(severity=before.severity), IncidentSignal(severity=after.severity)
    change = material_change(before, after)
    if change is not None:
        return IncidentCheck(
            action="investigate",
            reason=f"re-fire with changed evidence: {change}",
            incident=ref.model_copy(update={"change": change}),
        )
    return IncidentCheck(action="update", reason="re-fire of an open incident, same evidence", incident=_updating(ref))


def _updating(ref: IncidentRef) -> IncidentRef:
    return ref.model_copy(update={"investigated": False})
