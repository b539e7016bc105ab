"""Security Hub findings (EventBridge "Security Hub Findings - Imported" and bare ASFF findings) and GuardDuty
findings (EventBridge "GuardDuty Finding" and the bare finding).

alert_type: a Security Hub finding's control id (Compliance.SecurityControlId, e.g. "S3.8") or else its first
ASFF type; a GuardDuty finding's type (e.g. "UnauthorizedAccess:EC2/SSHBruteForce").

Severity: Security Hub CRITICAL/HIGH -> critical, MEDIUM -> warning, LOW/INFORMATIONAL -> info (Normalized
0-100 used when there is no label); GuardDuty severity >= 7 -> critical, 4-6.9 -> warning, below 4 -> info.
When one event holds several Security Hub findings, the most severe one becomes the alert and
details["finding_count"] says how many there were (ingest splits such events, one pipeline input per finding).
"""

from __future__ import annotations

from typing import Any

from functions.shared.alert_details import GuardDutyDetails, SecurityHubDetails
from functions.shared.models import Alert, ResourceRef, Severity
from functions.shared.sources.common import (
    arn_parts,
    as_dict,
    as_list,
    dedup_key,
    number,
    shorten,
    text,
    timestamp,
    title,
)

_LABEL_SEVERITY: dict[str, Severity] = {
    "CRITICAL": "critical",
    "HIGH": "critical",
    "MEDIUM": "warning",
    "LOW": "info",
    "INFORMATIONAL": "info",
}
_LABEL_RANK = {"CRITICAL": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "INFORMATIONAL": 1}

# ASFF resource types -> CloudFormation types, for the common ones; others keep their ASFF name.
_ASFF_RESOURCE_TYPES = {
    "AwsEc2Instance": "AWS::EC2::Instance",
    "AwsS3Bucket": "AWS::S3::Bucket",
    "AwsLambdaFunction": "AWS::Lambda::Function",
    "AwsIamRole": "AWS::IAM::Role",
    "AwsIamUser": "AWS::IAM::User",
    "AwsIamAccessKey": "AWS::IAM::AccessKey",
    "AwsEc2SecurityGroup": "AWS::EC2::SecurityGroup",
    "AwsRdsDbInstance": "AWS::RDS::DBInstance",
    "AwsDynamoDbTable": "AWS::DynamoDB::Table",
    "AwsKmsKey": "AWS::KMS::Key",
    "AwsAccount": "AWS::::Account",
    "AwsEksCluster": "AWS::EKS::Cluster",
    "AwsEcsCluster": "AWS::ECS::Cluster",
}


def is_asff_finding(value: Any) -> bool:
    return isinstance(value, dict) and "ProductArn" in value and ("Severity" in value or "Types" in value)


def securityhub_findings(payload: Any) -> list[dict[str, Any]] | None:
    """The ASFF findings a payload carries (EventBridge event, {"Findings": [...]}, or one finding); else None."""
    if not isinstance(payload, dict):
        return None
    if payload.get("source") == "aws.securityhub" or str(payload.get("detail-type", "")).startswith(
        "Security Hub Findings"
    ):
        return [f for f in as_list(as_dict(payload.get("detail")).get("findings")) if isinstance(f, dict)]
    if isinstance(payload.get("Findings"), list) and any(is_asff_finding(f) for f in payload["Findings"]):
        return [f for f in payload["Findings"] if isinstance(f, dict)]
    if is_asff_finding(payload):
        return [payload]
    return None


def parse_security_hub(payload: Any, subject: str | None) -> Alert | None:
    findings = securityhub_findings(payload)
    if findings is None:
        return None
    event = payload if isinstance(payload, dict) and "detail" in payload else {}
    if not findings:
        return Alert(
            source="security_hub",
            alert_type="security_hub_empty_event",
            severity="info",
            title="Security Hub event without findings",
            account_id=text(event.get("account")),
            region=text(event.get("region")),
            occurred_at=timestamp(event.get("time")),
            dedup_key=dedup_key("securityhub", text(event.get("id")) or "empty", text(event.get("time"))),
        )
    finding = max(findings, key=lambda f: _rank(f))
    return _finding_alert(finding, event, len(findings))


def _rank(finding: dict[str, Any]) -> float:
    severity = as_dict(finding.get("Severity"))
    label = (text(severity.get("Label")) or "").upper()
    return _LABEL_RANK.get(label, 0) * 1000 + (number(severity.get("Normalized")) or 0)


def _label(finding: dict[str, Any]) -> str:
    severity = as_dict(finding.get("Severity"))
    label = (text(severity.get("Label")) or "").upper()
    if label in _LABEL_SEVERITY:
        return label
    normalized = number(severity.get("Normalized"))
    if normalized is None:
        return "MEDIUM"
    if normalized >= 90:
        return "CRITICAL"
    if normalized >= 70:
        return "HIGH"
    if normalized >= 40:
        return "MEDIUM"
    return "LOW" if normalized >= 1 else "INFORMATIONAL"


def _finding_alert(finding: dict[str, Any], event: dict[str, Any], count: int) -> Alert:
    label = _label(finding)
    compliance = as_dict(finding.get("Compliance"))
    types = [t for t in (text(x) for x in as_list(finding.get("Types"))) if t]
    control = text(compliance.get("SecurityControlId"))
    resources = [as_dict(r) for r in as_list(finding.get("Resources"))]
    first = resources[0] if resources else {}
    resource_id = text(first.get("Id"))
    asff_type = text(first.get("Type")) or "Resource"
    region = text(finding.get("Region")) or text(first.get("Region")) or text(event.get("region"))
    finding_id = text(finding.get("Id")) or "unknown"
    updated = text(finding.get("UpdatedAt"))
    product = text(finding.get("ProductName")) or arn_parts(finding.get("ProductArn")).get("resource", "")
    name = text(finding.get("Title")) or (types[0] if types else "Security Hub finding")
    remediation = as_dict(as_dict(finding.get("Remediation")).get("Recommendation"))
    details = SecurityHubDetails(
        finding_id=finding_id,
        severity_label=label,
        severity_normalized=number(as_dict(finding.get("Severity")).get("Normalized")),
        types=types[:5] or None,
        product=product or None,
        generator_id=text(finding.get("GeneratorId")),
        security_control_id=control,
        compliance_status=text(compliance.get("Status")),
        workflow_status=text(as_dict(finding.get("Workflow")).get("Status")),
        record_state=text(finding.get("RecordState")),
        resource_type=asff_type,
        resource_ids=[r for r in (text(x.get("Id")) for x in resources[:10]) if r] or None,
        remediation=text(remediation.get("Text")),
        remediation_url=text(remediation.get("Url")),
        first_observed_at=text(finding.get("FirstObservedAt")),
        updated_at=updated,
        finding_count=count,
    )
    return Alert(
        source="security_hub",
        alert_type=control or (types[0] if types else "security_hub_finding"),
        severity=_LABEL_SEVERITY[label],
        title=title(f"Security Hub {label}: {name}"),
        summary=shorten(text(finding.get("Description")) or name, 1_000),
        account_id=text(finding.get("AwsAccountId")) or text(event.get("account")),
        region=region,
        occurred_at=timestamp(updated) or timestamp(finding.get("CreatedAt")) or timestamp(event.get("time")),
        resource=ResourceRef(
            type=_ASFF_RESOURCE_TYPES.get(asff_type, asff_type),
            name=_short_name(resource_id) or asff_type,
            arn=resource_id if resource_id and resource_id.startswith("arn:") else None,
            region=text(first.get("Region")) or region,
        ),
        details=details,
        # A finding keeps its Id; UpdatedAt moves when it changes, which is a new alert.
        dedup_key=dedup_key("securityhub", control or finding_id.rsplit("/", 1)[-1], finding_id, updated),
    )


def _short_name(identifier: str | None) -> str | None:
    if not identifier:
        return None
    if identifier.startswith("arn:"):
        resource = arn_parts(identifier).get("resource", identifier)
        return resource.split("/")[-1].split(":")[-1] or resource
    return identifier


def parse_guardduty(payload: Any, subject: str | None) -> Alert | None:
    if not isinstance(payload, dict):
        return None
    if payload.get("source") == "aws.guardduty" or payload.get("detail-type") == "GuardDuty Finding":
        finding, event = as_dict(payload.get("detail")), payload
    elif as_dict(payload.get("service")).get("serviceName") == "guardduty" and "type" in payload:
        finding, event = payload, {}
    else:
        return None

    score = number(finding.get("severity")) or 0.0
    severity: Severity = "critical" if score >= 7 else "warning" if score >= 4 else "info"
    finding_type = text(finding.get("type")) or "guardduty_finding"
    service = as_dict(finding.get("service"))
    action = as_dict(service.get("action"))
    resource = _guardduty_resource(as_dict(finding.get("resource")), text(finding.get("region")))
    finding_id = text(finding.get("id")) or text(event.get("id")) or "unknown"
    updated = text(finding.get("updatedAt"))
    remote_ip = _find_key(action, "ipAddressV4")
    details = GuardDutyDetails(
        finding_id=finding_id,
        finding_arn=text(finding.get("arn")),
        finding_type=finding_type,
        severity_score=score,
        resource_type=text(as_dict(finding.get("resource")).get("resourceType")),
        action_type=text(action.get("actionType")),
        remote_ip=remote_ip,
        detector_id=text(service.get("detectorId")),
        count=number(service.get("count")),
        event_first_seen=text(service.get("eventFirstSeen")),
        event_last_seen=text(service.get("eventLastSeen")),
        archived=service.get("archived") if isinstance(service.get("archived"), bool) else None,
        updated_at=updated,
    )
    level = "High" if score >= 7 else "Medium" if score >= 4 else "Low"
    return Alert(
        source="guardduty",
        alert_type=finding_type,
        severity=severity,
        title=title(f"GuardDuty {level} ({score:g}): {text(finding.get('title')) or finding_type}"),
        summary=shorten(text(finding.get("description")) or finding_type, 1_000),
        account_id=text(finding.get("accountId")) or text(event.get("account")),
        region=text(finding.get("region")) or text(event.get("region")),
        occurred_at=timestamp(updated) or timestamp(event.get("time")),
        resource=resource,
        details=details,
        dedup_key=dedup_key("guardduty", finding_type, finding_id, updated),
    )


def _guardduty_resource(resource: dict[str, Any], region: str | None) -> ResourceRef | None:
    kind = text(resource.get("resourceType"))
    if kind is None:
        return None
    instance = as_dict(resource.get("instanceDetails"))
    if kind == "Instance" or instance:
        return ResourceRef(type="AWS::EC2::Instance", name=text(instance.get("instanceId")) or "", region=region)
    access_key = as_dict(resource.get("accessKeyDetails"))
    if kind == "AccessKey" or access_key:
        name = text(access_key.get("userName")) or text(access_key.get("accessKeyId")) or ""
        return ResourceRef(type="AWS::IAM::AccessKey", name=name, region=region)
    buckets = [as_dict(b) for b in as_list(resource.get("s3BucketDetails"))]
    if buckets:
        return ResourceRef(
            type="AWS::S3::Bucket", name=text(buckets[0].get("name")) or "", arn=text(buckets[0].get("arn"))
        )
    lambda_details = as_dict(resource.get("lambdaDetails"))
    if lambda_details:
        return ResourceRef(
            type="AWS::Lambda::Function",
            name=text(lambda_details.get("functionName")) or "",
            arn=text(lambda_details.get("functionArn")),
            region=region,
        )
    eks = as_dict(resource.get("eksClusterDetails"))
    if eks:
        return ResourceRef(type="AWS::EKS::Cluster", name=text(eks.get("name")) or "", arn=text(eks.get("arn")))
    return ResourceRef(type=kind, name=kind, region=region)


def _find_key(value: Any, key: str, depth: int = 0) -> str | None:
    """The first scalar under `key` anywhere in a nested action (GuardDuty nests remote IPs per action type)."""
    if depth > 6:
        return None
    if isinstance(value, dict):
        if text(value.get(key)):
            return text(value.get(key))
        for child in value.values():
            if (found := _find_key(child, key, depth + 1)) is not None:
                return found
    elif isinstance(value, list):
        for child in value[:20]:
            if (found := _find_key(child, key, depth + 1)) is not None:
                return found
    return None
