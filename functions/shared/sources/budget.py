"""AWS Budgets notifications: the plain-text "AWS Budget Notification" message Budgets publishes to SNS.

The message looks like (fields one per line after the prose):

    AWS Budget Notification November 25, 2026
    AWS Account 123456789012
    ...
    Budget Name: monthly-aws-spend
    Budget Type: Cost
    Budgeted Amount: $1,000.00
    Alert Type: ACTUAL            (or FORECASTED)
    Alert Threshold: > $800.00
    ACTUAL Amount: $1,042.17      (or FORECASTED Amount)

Severity: an ACTUAL amount at or above the budgeted amount is critical; a crossed lower threshold or any
forecast is a warning.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from functions.shared.alert_details import BudgetDetails
from functions.shared.models import Alert, ResourceRef, Severity
from functions.shared.sources.common import dedup_key, number, text, title

ALERT_TYPE_EXCEEDED = "budget_exceeded"
ALERT_TYPE_THRESHOLD = "budget_threshold_crossed"
ALERT_TYPE_FORECAST = "budget_forecast"

_HEADER = re.compile(r"AWS Budget Notification\s+(?P<date>[A-Z][a-z]+ \d{1,2}, \d{4})?", re.IGNORECASE)
_ACCOUNT = re.compile(r"AWS Account\s+(?P<account>\d{12})")
_FIELD = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z ]{2,40}?)\s*:\s*(?P<value>.+?)\s*$", re.MULTILINE)
_SUBJECT_NAME = re.compile(r"AWS Budgets:\s*(?P<name>.+?)\s+has exceeded", re.IGNORECASE)
_PER_PERIOD = re.compile(r"\b(?:per|for the current) (?P<period>day|month|quarter|year)\b", re.IGNORECASE)


def looks_like_budget(payload: Any, subject: str | None) -> bool:
    if isinstance(payload, str):
        return "AWS Budget Notification" in payload or ("Budget Name:" in payload and "Alert Type:" in payload)
    return False


def parse_budget(payload: Any, subject: str | None) -> Alert | None:
    if not looks_like_budget(payload, subject):
        return None
    message: str = payload
    # AWS's template states each field once: the first occurrence is AWS's, a later one was appended to the text.
    fields: dict[str, str] = {}
    for field_match in _FIELD.finditer(message):
        fields.setdefault(field_match.group("key").strip().lower(), field_match.group("value"))
    header = _HEADER.search(message)
    account = _ACCOUNT.search(message)

    name = text(fields.get("budget name"))
    if name is None and subject and (match := _SUBJECT_NAME.search(subject)):
        name = match.group("name")
    name = name or "unknown budget"
    alert_kind = (text(fields.get("alert type")) or "").upper()
    if alert_kind not in {"ACTUAL", "FORECASTED"}:
        alert_kind = "FORECASTED" if "FORECASTED" in message.upper() else "ACTUAL"
    budgeted = number(fields.get("budgeted amount"))
    threshold_text = text(fields.get("alert threshold"))
    threshold = number(re.sub(r"^[<>=\s]+", "", threshold_text or "")) if threshold_text else None
    amount = number(fields.get(f"{alert_kind.lower()} amount"))
    notified_on = _notification_date(header.group("date") if header else None)
    period_match = _PER_PERIOD.search(message)

    amount_words = f"${amount:,.2f}" if amount is not None else "an unknown amount"
    severity: Severity
    of_budget = f" of ${budgeted:,.2f}" if budgeted is not None else ""
    threshold_words = f" ({threshold_text})" if threshold_text else ""
    if alert_kind == "FORECASTED":
        severity, alert_type = "warning", ALERT_TYPE_FORECAST
        headline = f"Budget {name} forecast to cross its threshold{threshold_words}: {amount_words} forecast{of_budget}"
    elif amount is not None and budgeted is not None and amount >= budgeted:
        severity, alert_type = "critical", ALERT_TYPE_EXCEEDED
        percent = f" ({amount / budgeted * 100:.0f}%)" if budgeted > 0 else ""
        headline = f"Budget {name} exceeded: {amount_words} spent{of_budget}{percent}"
    else:
        severity, alert_type = "warning", ALERT_TYPE_THRESHOLD
        headline = f"Budget {name} crossed its alert threshold{threshold_words}: {amount_words} spent{of_budget}"
    summary_parts = [f"{alert_kind.title()} cost {amount_words}"]
    if budgeted is not None:
        summary_parts.append(f"budgeted ${budgeted:,.2f}")
    if threshold_text:
        summary_parts.append(f"alert threshold {threshold_text}")
    if amount is not None and budgeted:
        summary_parts.append(f"{amount / budgeted * 100:.0f}% of budget")

    details = BudgetDetails(
        budget_name=name,
        budget_type=text(fields.get("budget type")),
        notification_type=alert_kind,
        budgeted_amount=budgeted,
        threshold_amount=threshold,
        threshold_text=threshold_text,
        actual_amount=amount if alert_kind == "ACTUAL" else None,
        forecasted_amount=amount if alert_kind == "FORECASTED" else None,
        percent_of_budget=round(amount / budgeted * 100, 1) if amount is not None and budgeted else None,
        currency="USD" if "$" in message else None,
        notification_date=notified_on.date().isoformat() if notified_on else None,
        threshold_period=period_match.group("period").lower() if period_match else None,
    )
    account_id = account.group("account") if account else None
    return Alert(
        source="budget",
        alert_type=alert_type,
        severity=severity,
        title=title(headline),
        summary="; ".join(summary_parts) + ".",
        account_id=account_id,
        region="us-east-1",  # Budgets is a global service homed in us-east-1.
        occurred_at=notified_on,
        resource=ResourceRef(
            type="AWS::Budgets::Budget",
            name=name,
            arn=f"arn:aws:budgets::{account_id}:budget/{name}" if account_id else None,
        ),
        details=details,
        # Budgets notifies once per threshold per period, so name + kind + threshold + date identify it.
        dedup_key=dedup_key(
            "budget", name, account_id, alert_kind, threshold_text, details.notification_date, budgeted
        ),
    )


def _notification_date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%B %d, %Y").replace(tzinfo=UTC)
    except ValueError:
        return None
