"""Security and Health evidence: a finding's resource, details and similar findings; a Health event's entities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.shared import console_links
from functions.shared.adapters.compute import Ec2Reader
from functions.shared.adapters.findings import GuardDutyReader, HealthReader, SecurityHubReader
from functions.shared.alert_details import GuardDutyDetails, HealthDetails, SecurityHubDetails
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.resources import ec2_instance_evidence
from functions.shared.investigate.target import implicated_target
from functions.shared.models import Alert, Fact

MAX_SIMILAR = 100


def guardduty_type_in_asff(finding_type: str) -> str:
    """GuardDuty's "Recon:EC2/PortProbeUnprotectedPort" as it appears in an ASFF Types entry
    ("TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort")."""
    threat, _, rest = finding_type.partition(":")
    return f"{threat}:{rest.replace('/', '-')}" if rest else finding_type


def _similar(alert: Alert, finding: dict[str, Any]) -> bool:
    """Whether a Security Hub finding is "of the same kind" as the alert's (re-checked here: some backends
    ignore GetFindings filters)."""
    if finding.get("RecordState", "ACTIVE") != "ACTIVE":
        return False
    if (guardduty := alert.details_of(GuardDutyDetails)) is not None:
        wanted = guardduty_type_in_asff(guardduty.finding_type or "")
        return bool(wanted) and any(str(t).endswith(wanted) for t in finding.get("Types", []))
    hub = alert.details_of(SecurityHubDetails) or SecurityHubDetails()
    control = hub.security_control_id
    if control:
        compliance = finding.get("Compliance") or {}
        if compliance.get("SecurityControlId") == control:
            return True
    generator = hub.generator_id
    if generator and finding.get("GeneratorId") == generator:
        return True
    types = hub.types or []
    return bool(types) and types[0] in finding.get("Types", []) and not generator and not control


def _filters(alert: Alert) -> dict[str, Any]:
    def equals(value: str, comparison: str = "EQUALS") -> list[dict[str, str]]:
        return [{"Value": value, "Comparison": comparison}]

    active = {"RecordState": equals("ACTIVE")}
    if (guardduty := alert.details_of(GuardDutyDetails)) is not None:
        wanted = guardduty_type_in_asff(guardduty.finding_type or "")
        return {**active, "ProductName": equals("GuardDuty"), "Type": equals(wanted, "CONTAINS")}
    hub = alert.details_of(SecurityHubDetails) or SecurityHubDetails()
    if hub.security_control_id:
        return {**active, "ComplianceSecurityControlId": equals(hub.security_control_id)}
    if hub.generator_id:
        return {**active, "GeneratorId": equals(hub.generator_id)}
    types = hub.types or []
    return {**active, "Type": equals(str(types[0]))} if types else active


def _resource_ids(finding: dict[str, Any]) -> list[str]:
    return [str(r.get("Id")) for r in finding.get("Resources", []) if r.get("Id")]


def finding_evidence(
    alert: Alert,
    securityhub: SecurityHubReader,
    guardduty: GuardDutyReader | None,
    ec2: Ec2Reader,
    *,
    now: datetime,
    use_guardduty_api: bool = True,
) -> Evidence:
    """The finding itself, the resource it is about (its state), and how many similar active findings exist."""
    evidence = Evidence()
    region = alert.region
    resource = alert.resource
    hub = alert.details_of(SecurityHubDetails) or SecurityHubDetails()
    if (own := alert.details_of(GuardDutyDetails)) is not None:
        link = console_links.guardduty_findings_url(own.finding_id, region)
        kind = own.finding_type or alert.alert_type
        parts = [f"GuardDuty {kind}"]
        if own.severity_score is not None:
            parts.append(f"severity {own.severity_score}")
        if own.action_type:
            parts.append(f"action {own.action_type}")
        if own.remote_ip:
            parts.append(f"from {own.remote_ip}")
        if own.count:
            parts.append(f"seen {int(own.count)} times")
    else:
        link = console_links.security_hub_finding_url(hub.finding_id, region)
        parts = [f"Security Hub {hub.security_control_id or alert.alert_type}"]
        if hub.severity_label:
            parts.append(f"severity {hub.severity_label}")
        if hub.compliance_status:
            parts.append(f"compliance {hub.compliance_status}")
    target = f" on {resource.type} {resource.name}" if resource and resource.name else ""
    evidence.facts.append(
        Fact(key="security.finding", text=(", ".join(parts) + target + f": {alert.title}")[:220], link=link)
    )
    remediation_url = hub.remediation_url
    if own is None and hub.remediation:
        evidence.facts.append(
            Fact(
                key="security.remediation",
                text=f"Remediation: {hub.remediation[:180]}",
                link=remediation_url if console_links.is_console_url(remediation_url) else link,
            )
        )
    instance = implicated_target(alert)
    if instance is not None and instance.kind == "ec2":
        evidence.add(ec2_instance_evidence(ec2, instance.name, now=now, region=region))
    evidence.add(_similar_findings(alert, securityhub, guardduty, use_guardduty_api=use_guardduty_api))
    return evidence


def _similar_findings(
    alert: Alert,
    securityhub: SecurityHubReader,
    guardduty: GuardDutyReader | None,
    *,
    use_guardduty_api: bool,
) -> Evidence:
    evidence = Evidence()
    region = alert.region
    own = alert.details_of(GuardDutyDetails)
    if own is not None and guardduty is not None and use_guardduty_api:
        detector = own.detector_id or evidence.read("the GuardDuty detector", guardduty.detector_id)
        finding_type = own.finding_type
        if detector and finding_type:
            evidence.looked_at.append(f"GuardDuty findings of type {finding_type}")
            count = evidence.read(
                "GuardDuty findings", lambda: guardduty.count_findings(str(detector), str(finding_type))
            )
            if count is not None:
                evidence.facts.append(
                    Fact(
                        key="security.similar_findings",
                        text=f"{count}{'+' if count >= 50 else ''} current GuardDuty finding(s) of type {finding_type}",
                        value=count,
                        link=console_links.guardduty_findings_url(None, region),
                    )
                )
                return evidence
    evidence.looked_at.append("Security Hub active findings of the same kind")
    found = evidence.read("Security Hub findings", lambda: securityhub.findings(_filters(alert), MAX_SIMILAR))
    if found is None:
        return evidence
    similar = [f for f in found if _similar(alert, f)]
    hub = alert.details_of(SecurityHubDetails)
    own_id = own.finding_id if own else hub.finding_id if hub else None
    own_resources = set((hub.resource_ids if hub else None) or [])
    if alert.resource and alert.resource.name:
        own_resources.add(alert.resource.name)
    other_resources = sorted(
        {rid for f in similar for rid in _resource_ids(f) if not any(rid.endswith(o) for o in own_resources if o)}
    )
    # GuardDuty's own finding id is the last part of the ARN Security Hub uses as its Id.
    own_listed = not own_id or any(str(f.get("Id", "")).endswith(str(own_id)) for f in similar)
    count = len(similar) if own_listed else len(similar) + 1
    text = f"{count} active finding(s) of this kind in Security Hub"
    if other_resources:
        shown = ", ".join(r.rsplit("/", 1)[-1] for r in other_resources[:3])
        text += f", on {len(other_resources)} other resource(s): {shown}"
    else:
        text += ", all on this resource"
    evidence.facts.append(
        Fact(
            key="security.similar_findings",
            text=text,
            value=count,
            link=console_links.security_hub_finding_url(None, region),
        )
    )
    return evidence


def health_evidence(
    alert: Alert,
    health: HealthReader | None,
    ec2: Ec2Reader,
    *,
    now: datetime,
    use_health_api: bool = True,
) -> Evidence:
    """The Health event's description and affected entities, with each EC2 entity's current state.

    With `use_health_api` off (local runs: the simulated account has no Health API) the event's own data is used
    and a note says so.
    """
    evidence = Evidence()
    details = alert.details_of(HealthDetails) or HealthDetails()
    event_arn = details.event_arn
    link = console_links.health_event_url(event_arn)
    description = alert.summary
    entities = list(details.affected_entities or [])
    if use_health_api and health is not None and event_arn:
        evidence.looked_at.append("AWS Health event details and affected entities")
        event = evidence.read("the Health event", lambda: health.event_details(str(event_arn)))
        if event:
            description = (event.get("eventDescription") or {}).get("latestDescription") or description
        listed = evidence.read("the Health event's affected entities", lambda: health.affected_entities(str(event_arn)))
        if listed:
            entities = [f"{e.get('entityValue')} ({e.get('statusCode', '?')})" for e in listed if e.get("entityValue")]
    else:
        evidence.notes.append("Health API not queried here: description and entities come from the event itself.")
    code = details.event_type_code or alert.alert_type
    when = details.start_time
    evidence.facts.append(
        Fact(
            key="health.event",
            text=f"Health {code} ({details.status_code or 'status unknown'})"
            + (f", starting {when}" if when else "")
            + f": {' '.join(str(description).split())[:150]}",
            link=link,
        )
    )
    if entities:
        evidence.facts.append(
            Fact(
                key="health.affected_entities",
                text=f"{len(entities)} affected entit{'y' if len(entities) == 1 else 'ies'}: "
                + ", ".join(entities[:5]),
                value=len(entities),
                link=link,
            )
        )
    target = implicated_target(alert)
    if target is not None and target.kind == "ec2":
        evidence.add(ec2_instance_evidence(ec2, target.name, now=now, region=alert.region))
    return evidence
