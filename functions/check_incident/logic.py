"""Check Incident: before any investigation, whether the alert belongs to an open incident (decision 0014).

A re-fire or duplicate of an open incident, and any resolution, skip Gather, Analyze and Format: the state machine
sends them straight to Post, which replies in the incident's thread and edits its header. A new incident, or a
re-fire whose evidence changed materially, runs the investigation. The decision itself is
`functions.shared.incidents.check_incident`; this module adds the compact line Post posts on the update path and
fails open: when the incident memory cannot be read, the alert is investigated, as it would have been before.

A new incident is claimed first (decision 0020): alerts of one incident arriving in the same seconds, before the
first one's message exists, would otherwise each be investigated and each post a message. The execution that wins
the claim investigates; another one waits ("wait": the state machine's Wait state, then "Check Incident Again") and
replies in the first one's thread once its message is there. It investigates by itself after `MAX_CLAIM_WAITS`
waits without that message, and takes the incident over at once when the claim is stale (its execution died).

The claim covers the alert's resource too, when it names one: two different alarms on one function firing in the
same seconds (Errors and Duration) are one incident by the resource grouping (`RESOURCE_GROUPING_WINDOW`), and
neither would otherwise see the other's message in time. A resource claim, like any claim, goes stale after
`CLAIM_STALE_AFTER`, so a later alarm on the resource is never held up by an old one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.incident_messages import refire_line, resolution_line
from functions.shared.incidents import (
    CLAIM_STALE_AFTER,
    MAX_CLAIM_WAITS,
    NEW_INCIDENT,
    IncidentClaims,
    IncidentLookup,
    check_incident,
    incident_ref,
)
from functions.shared.models import Alert, IncidentCheck
from functions.shared.observability import logger, metrics

DEFAULT_WAIT_SECONDS = 10
# The claim key of a resource's new incident, beside the incident's own key (both under the table's claim prefix).
RESOURCE_CLAIM_PREFIX = "resource#"


def decide(
    alert: Alert,
    store: IncidentLookup | None,
    *,
    execution_id: str | None = None,
    now: datetime | None = None,
    claims: IncidentClaims | None = None,
    execution_name: str | None = None,
    waits: int = 0,
    wait_seconds: int = DEFAULT_WAIT_SECONDS,
    clock: datetime | None = None,
) -> IncidentCheck:
    """The routing decision for `alert` (metrics `IncidentUpdates`, `IncidentInvestigations`,
    `IncidentLookupFailures`, `IncidentClaimWaits`). Never raises: an unreadable incident memory means
    "investigate".

    `claims` and `execution_name` (bot-token mode) make a new incident claimed before it is investigated; `waits`
    is how often this execution already waited for another one's claim. `now` is the alert's clock (the incident
    windows), `clock` the wall clock claims are dated with (default: now).
    """
    try:
        check = check_incident(alert, store, now=now)
    except Exception as exc:  # the memory is an optimisation: without it the alert is investigated, not lost
        metrics.add_metric(name="IncidentLookupFailures", unit=MetricUnit.Count, value=1)
        logger.warning("Could not read the incident memory; investigating", extra={"error": type(exc).__name__})
        return IncidentCheck(
            action="investigate",
            reason=f"incident memory unreadable ({type(exc).__name__})",
            incident=incident_ref(alert),
            waits=waits,
        )
    if check.action == "update":
        build = resolution_line if check.incident.resolved else refire_line
        check = check.model_copy(update={"message": build(alert, execution_id=execution_id, now=now)})
        metrics.add_metric(name="IncidentUpdates", unit=MetricUnit.Count, value=1)
    elif check.reason == NEW_INCIDENT and claims is not None and execution_name:
        check = _claimed(check, claims, execution_name, waits, wait_seconds, clock or datetime.now(UTC))
    if check.action == "investigate":
        metrics.add_metric(name="IncidentInvestigations", unit=MetricUnit.Count, value=1)
    check = check.model_copy(update={"waits": max(check.waits, waits)})
    logger.info("Incident checked", extra={"action": check.action, "reason": check.reason, "waits": check.waits})
    return check


def _claimed(
    check: IncidentCheck,
    claims: IncidentClaims,
    execution_name: str,
    waits: int,
    wait_seconds: int,
    clock: datetime,
) -> IncidentCheck:
    """Investigate a new incident only with its claims (its resource's, then its own); wait for the holder's message
    otherwise (bounded)."""
    keys = [f"{RESOURCE_CLAIM_PREFIX}{check.incident.resource_key}"] if check.incident.resource_key else []
    try:
        for key in [*keys, check.incident.key]:
            claim = claims.claim_incident(key, execution_name, clock, CLAIM_STALE_AFTER)
            if not claim.won:
                break
    except Exception as exc:  # no claim possible: investigate, as before claims existed (a duplicate at worst)
        metrics.add_metric(name="IncidentClaimFailures", unit=MetricUnit.Count, value=1)
        logger.warning("Could not claim the incident; investigating", extra={"error": type(exc).__name__})
        return check.model_copy(update={"reason": f"{NEW_INCIDENT} (claim failed: {type(exc).__name__})"})
    if claim.won:
        if waits:
            return check.model_copy(update={"reason": f"{NEW_INCIDENT}: the earlier claim went stale, taken over"})
        return check
    since = f"{claim.holder} claimed it at {claim.claimed_at.astimezone(UTC):%H:%M:%S} UTC"
    if waits >= MAX_CLAIM_WAITS:
        metrics.add_metric(name="IncidentClaimWaitsExhausted", unit=MetricUnit.Count, value=1)
        return check.model_copy(
            update={"reason": f"{NEW_INCIDENT}: {since} and posted nothing after {waits} checks; investigating"}
        )
    metrics.add_metric(name="IncidentClaimWaits", unit=MetricUnit.Count, value=1)
    return IncidentCheck(
        action="wait",
        reason=f"{NEW_INCIDENT} being investigated: {since}; waiting for its message",
        incident=check.incident,
        waits=waits + 1,
        wait_seconds=wait_seconds,
    )
