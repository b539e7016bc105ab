"""Check Incident: before any investigation, whether the alert belongs to an open incident (decision 0014).

A re-fire or duplicate of an open incident, and any resolution, skip Gather, Analyze and Format: the state machine
sends them straight to Post, which replies in the incident's thread and edits its header. A new incident, or a
re-fire whose evidence changed materially, runs the investigation. The decision itself is
`functions.shared.incidents.check_incident`; this module adds the compact line Post posts on the update path and
fails open: when the incident memory cannot be read, the alert is investigated, as it would have been before.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.incident_messages import refire_line, resolution_line
from functions.shared.incidents import IncidentLookup, check_incident, incident_ref
from functions.shared.models import Alert, IncidentCheck
from functions.shared.observability import logger, metrics


def decide(
    alert: Alert,
    store: IncidentLookup | None,
    *,
    execution_id: str | None = None,
    now: datetime | None = None,
) -> IncidentCheck:
    """The routing decision for `alert` (metrics `IncidentUpdates`, `IncidentInvestigations`,
    `IncidentLookupFailures`). Never raises: an unreadable incident memory means "investigate"."""
    try:
        check = check_incident(alert, store, now=now)
    except Exception as exc:  # the memory is an optimisation: without it the alert is investigated, not lost
        metrics.add_metric(name="IncidentLookupFailures", unit=MetricUnit.Count, value=1)
        logger.warning("Could not read the incident memory; investigating", extra={"error": type(exc).__name__})
        return IncidentCheck(
            action="investigate",
            reason=f"incident memory unreadable ({type(exc).__name__})",
            incident=incident_ref(alert),
        )
    if check.action == "update":
        build = resolution_line if check.incident.resolved else refire_line
        check = check.model_copy(update={"message": build(alert, execution_id=execution_id, now=now)})
        metrics.add_metric(name="IncidentUpdates", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="IncidentInvestigations", unit=MetricUnit.Count, value=1)
    logger.info("Incident checked", extra={"action": check.action, "reason": check.reason})
    return check
