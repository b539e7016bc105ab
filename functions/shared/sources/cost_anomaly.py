"""AWS Cost Anomaly Detection: the SNS alert message (JSON) and the EventBridge "Anomaly Detected" event.

Severity: an anomaly whose total impact is at least 100 % of the expected spend, or at least $1,000, is
critical; every other anomaly is a warning.
"""

from __future__ import annotations

from typing import Any

from functions.shared.alert_details import AnomalyRootCause, CostAnomalyDetails
from functions.shared.models import Alert, ResourceRef
from functions.shared.sources.common import arn_parts, as_dict, as_list, dedup_key, number, text, timestamp, title

CRITICAL_IMPACT_PERCENT = 100.0
CRITICAL_IMPACT_USD = 1_000.0


def parse_cost_anomaly(payload: Any, subject: str | None) -> Alert | None:
    if not isinstance(payload, dict):
        return None
    if payload.get("source") == "aws.ce" or payload.get("detail-type") == "Anomaly Detected":
        body = as_dict(payload.get("detail"))
        account_id = text(payload.get("account")) or text(body.get("accountId"))
        region = text(payload.get("region"))
        fallback_time = text(payload.get("time"))
    elif "anomalyId" in payload and ("impact" in payload or "rootCauses" in payload):
        body = payload
        account_id = text(body.get("accountId"))
        region = None
        fallback_time = None
    else:
        return None

    impact = as_dict(body.get("impact"))
    total_impact = number(impact.get("totalImpact"))
    impact_percent = number(impact.get("totalImpactPercentage"))
    root_causes = [
        {
            "service": text(cause.get("service")),
            "region": text(cause.get("region")),
            "usage_type": text(cause.get("usageType")),
            "linked_account": text(cause.get("linkedAccount")),
            "linked_account_name": text(cause.get("linkedAccountName")),
            "impact_contribution": number(cause.get("impactContribution")),
        }
        for cause in (as_dict(c) for c in as_list(body.get("rootCauses"))[:10])
    ]
    root_causes = [{k: v for k, v in cause.items() if v is not None} for cause in root_causes]
    top = root_causes[0] if root_causes else {}
    critical = (impact_percent is not None and impact_percent >= CRITICAL_IMPACT_PERCENT) or (
        total_impact is not None and total_impact >= CRITICAL_IMPACT_USD
    )
    anomaly_id = text(body.get("anomalyId")) or "unknown"
    monitor_arn = text(body.get("monitorArn"))
    started = timestamp(body.get("anomalyStartDate"))
    ended = timestamp(body.get("anomalyEndDate"))

    service = text(top.get("service")) or text(body.get("dimensionalValue")) or "AWS spend"
    # Root-cause regions are region codes ("us-east-1"); anything else is not a region we can query.
    top_region = text(top.get("region"))
    if top_region and top_region.count("-") >= 2:
        region = top_region
    impact_words = f"${total_impact:,.2f}" if total_impact is not None else "unknown impact"
    percent_words = f" (+{impact_percent:.0f}%)" if impact_percent is not None else ""
    headline = f"Cost anomaly: {service} {impact_words}{percent_words} above expected"
    summary_bits = [f"Total impact {impact_words}{percent_words}"]
    if (actual := number(impact.get("totalActualSpend"))) is not None:
        summary_bits.append(f"actual ${actual:,.2f}")
    if (expected := number(impact.get("totalExpectedSpend"))) is not None:
        summary_bits.append(f"expected ${expected:,.2f}")
    if top:
        cause = ", ".join(f"{k}={v}" for k, v in top.items() if k in {"service", "region", "usage_type"})
        summary_bits.append(f"top root cause {cause}")

    details = CostAnomalyDetails(
        anomaly_id=anomaly_id,
        monitor_arn=monitor_arn,
        anomaly_start=started.isoformat() if started else None,
        anomaly_end=ended.isoformat() if ended else None,
        total_impact=total_impact,
        total_impact_percentage=impact_percent,
        max_impact=number(impact.get("maxImpact")),
        total_actual_spend=number(impact.get("totalActualSpend")),
        total_expected_spend=number(impact.get("totalExpectedSpend")),
        anomaly_score=as_dict(body.get("anomalyScore")) or None,
        dimensional_value=text(body.get("dimensionalValue")),
        root_causes=[AnomalyRootCause.model_validate(cause) for cause in root_causes] or None,
        anomaly_details_link=text(body.get("anomalyDetailsLink")),
        subscription_name=text(body.get("subscriptionName")),
    )
    return Alert(
        source="cost_anomaly",
        alert_type="cost_anomaly",
        severity="critical" if critical else "warning",
        title=title(headline),
        summary="; ".join(summary_bits) + ".",
        account_id=account_id or arn_parts(monitor_arn).get("account"),
        region=region,
        occurred_at=ended or started or timestamp(fallback_time),
        resource=ResourceRef(type="AWS::CE::AnomalyMonitor", name=service, arn=monitor_arn),
        details=details,
        # An anomaly keeps its id while it grows; its end date moves with each new day of impact.
        dedup_key=dedup_key("anomaly", anomaly_id, details.anomaly_end),
    )
