"""Which incident an alert belongs to, and whether it says the incident is over (issue 14).

One incident is one Slack message: the first alert of it posts the main message, a duplicate or a re-fire replies in
its thread and updates its header, and a resolution (alarm back to OK, finding archived or resolved, Health event
closed) edits the header to "✅ Resolved" — when the bot token is configured (`functions/post/logic.py`). Webhooks
cannot edit: there a resolution posts one compact line.

The key is stable per source: the alarm's ARN, the budget's name and period, the anomaly's ID, the finding's ID and
resource, the Health event's ARN; anything else falls back to the alert's dedup key.
"""

from __future__ import annotations

from functions.shared.alert_details import (
    BudgetDetails,
    CloudWatchAlarmDetails,
    CostAnomalyDetails,
    GuardDutyDetails,
    HealthDetails,
    SecurityHubDetails,
)
from functions.shared.models import Alert, IncidentRef

_RESOLVED_FINDING_WORKFLOW = frozenset({"RESOLVED", "SUPPRESSED"})


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
