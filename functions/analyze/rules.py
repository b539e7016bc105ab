"""Rule-based analysis: what an experienced on-call engineer concludes from the alert and its context alone.

It runs when no model is configured, for heartbeat and info alerts, and whenever the AI analysis is unavailable,
so it must never raise for any alert or context.
"""

from __future__ import annotations

from functions.shared.models import Alert, AnalysisBody, ContextSection, EvidenceClaim, GatheredContext


def _evidence(section: ContextSection | None, limit: int = 4) -> list[EvidenceClaim]:
    if section is None or section.status != "ok":
        return []
    return [EvidenceClaim(claim=f.text, section=section.name, link=f.link) for f in section.facts[:limit]]


def _unknowns(context: GatheredContext) -> list[str]:
    missing = []
    for name in ("cost", "compute", "logs"):
        section = getattr(context, name)
        if section is None:
            missing.append(f"No {name} context was gathered.")
        elif section.status == "error":
            missing.append(f"The {name} context could not be gathered: {section.error or 'unknown error'}.")
    return missing


def _resource_name(alert: Alert) -> str:
    return alert.resource.name if alert.resource and alert.resource.name else "the affected resource"


def _root_cause(alert: Alert, context: GatheredContext) -> tuple[str, str]:
    """The root-cause sentence and a confidence, from the strongest signal available."""
    name = _resource_name(alert)
    if alert.source in ("budget", "cost_anomaly"):
        top = context.cost.fact("cost.top_service") if context.cost else None
        if top is not None:
            return f"Spend is driven by {top.text}.", "medium"
        return "Spend crossed the budget threshold; the cost context did not identify a driver.", "low"
    if alert.source == "cloudwatch_alarm":
        metric = alert.details.get("metric_name") or alert.alert_type
        if alert.severity == "info":
            return f"The alarm on {metric} for {name} is no longer in ALARM; no action is needed.", "high"
        errors = context.logs.facts if context.logs and context.logs.status == "ok" else []
        if errors:
            return f"{metric} on {name} breached its threshold; the logs show: {errors[0].text}", "medium"
        return f"{metric} on {name} breached its threshold.", "low"
    if alert.source in ("security_hub", "guardduty"):
        return f"A {alert.severity} security finding on {name}: {alert.title}.", "medium"
    if alert.source == "health":
        return f"AWS reported a {alert.alert_type} event affecting {name}.", "high"
    if alert.source == "custom":
        return f"The application reported an error: {alert.summary or alert.title}", "low"
    return "The alert could not be classified; its raw text is shown below.", "low"


def _diagnostics(alert: Alert) -> list[str]:
    region = alert.region or "us-east-1"
    name = alert.resource.name if alert.resource else ""
    commands: list[str] = []
    if alert.source in ("budget", "cost_anomaly"):
        commands.append(
            "aws ce get-cost-and-usage --time-period Start=$(date -d '-7 days' +%F),End=$(date +%F) "
            "--granularity DAILY --metrics UnblendedCost --group-by Type=DIMENSION,Key=SERVICE"
        )
        commands.append("aws budgets describe-budgets --account-id " + (alert.account_id or "<account-id>"))
    if alert.resource and alert.resource.type == "AWS::Lambda::Function" and name:
        commands.append(f"aws lambda get-function-configuration --function-name {name} --region {region}")
        commands.append(
            f"aws logs start-query --log-group-name /aws/lambda/{name} --region {region} "
            "--start-time $(date -d '-1 hour' +%s) --end-time $(date +%s) "
            "--query-string 'fields @timestamp, @message | filter @message like /ERROR/ | limit 50'"
        )
    if alert.resource and alert.resource.type == "AWS::EC2::Instance" and name:
        commands.append(f"aws ec2 describe-instance-status --instance-ids {name} --region {region}")
    if alert.source == "cloudwatch_alarm" and alert.details.get("alarm_name"):
        commands.append(f"aws cloudwatch describe-alarms --alarm-names '{alert.details['alarm_name']}'")
    return commands


def _recommendations(alert: Alert) -> list[str]:
    if alert.source in ("budget", "cost_anomaly"):
        return [
            "Confirm whether the top cost driver's growth is expected (a launch, a backfill) or a runaway loop.",
            "If it is runaway, cap it (reserved concurrency, scaling limits) before investigating further.",
        ]
    if alert.source == "cloudwatch_alarm" and alert.severity != "info":
        return [
            "Check whether a recent deploy or configuration change lines up with the breach.",
            "Look at the error log lines above for the failing request path.",
        ]
    if alert.source in ("security_hub", "guardduty"):
        return ["Review the finding in the console and confirm whether the activity is expected."]
    return []


def analyze_with_rules(alert: Alert, context: GatheredContext) -> AnalysisBody:
    """Analyse an alert from its own data and the gathered context. Never raises."""
    root_cause, confidence = _root_cause(alert, context)
    evidence = _evidence(context.cost) + _evidence(context.compute) + _evidence(context.logs)
    return AnalysisBody(
        root_cause=root_cause,
        confidence=confidence,  # type: ignore[arg-type]
        evidence=evidence[:8],
        diagnostics=_diagnostics(alert),
        recommendations=_recommendations(alert),
        unknowns=_unknowns(context),
    )
