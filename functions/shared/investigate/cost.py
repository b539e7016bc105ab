"""Cost evidence: 14 days by service and usage type, the top movers, month to date vs budget, the forecast,
and a cost anomaly's own root causes."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from functions.shared import console_links
from functions.shared.adapters.budgets import BudgetsReader, BudgetStatus
from functions.shared.adapters.cost_explorer import CostExplorerReader
from functions.shared.alert_details import CostAnomalyDetails
from functions.shared.investigate.base import (
    Evidence,
    money,
    percent_change,
    signed_money,
    signed_percent,
)
from functions.shared.investigate.cost_plan import CostQuery, cost_query_plan
from functions.shared.models import Alert, Fact, Measurement


class CostMover(BaseModel):
    """One service (or service + usage type) with its last complete day against the day and week before."""

    service: str
    usage_type: str | None = None
    yesterday: float
    day_before: float
    week_before: float | None = None  # the same weekday a week earlier
    total: float  # over the whole window

    @property
    def label(self) -> str:
        return f"{self.service} / {self.usage_type}" if self.usage_type else self.service

    @property
    def dod_amount(self) -> float:
        return self.yesterday - self.day_before

    @property
    def dod_percent(self) -> float | None:
        return percent_change(self.yesterday, self.day_before)

    @property
    def wow_amount(self) -> float | None:
        return None if self.week_before is None else self.yesterday - self.week_before

    @property
    def wow_percent(self) -> float | None:
        return None if self.week_before is None else percent_change(self.yesterday, self.week_before)

    @property
    def swing(self) -> float:
        return max(abs(self.dod_amount), abs(self.wow_amount or 0.0))

    def measurement(self) -> Measurement:
        """Yesterday's cost against the day before, in USD."""
        return Measurement(
            value=self.yesterday, baseline=self.day_before, unit="USD", window="1d", change_pct=self.dod_percent
        )

    def describe(self) -> str:
        text = (
            f"{self.label}: {money(self.yesterday)} yesterday vs {money(self.day_before)} the day before "
            f"({signed_money(self.dod_amount)}, {signed_percent(self.dod_percent)})"
        )
        if self.week_before is not None and self.wow_amount is not None:
            text += f"; week over week {signed_money(self.wow_amount)} ({signed_percent(self.wow_percent)})"
        return text


class CostTrend(BaseModel):
    """Daily cost over the window (oldest first, the last day = yesterday), by service and by usage type."""

    days: list[date]
    by_service: dict[str, list[float]] = Field(default_factory=dict)
    by_usage_type: dict[str, dict[str, list[float]]] = Field(default_factory=dict)  # service -> usage type -> daily
    month_to_date: float | None = None
    estimated: bool = False

    def totals(self) -> list[float]:
        return [round(sum(v[i] for v in self.by_service.values()), 4) for i in range(len(self.days))]

    def service_movers(self) -> list[CostMover]:
        return sorted((_mover(s, None, v) for s, v in self.by_service.items()), key=lambda m: -m.swing)

    def usage_type_movers(self) -> list[CostMover]:
        movers = [
            _mover(service, usage_type, values)
            for service, usage in self.by_usage_type.items()
            for usage_type, values in usage.items()
        ]
        return sorted(movers, key=lambda m: -m.swing)

    def top_services(self, n: int = 5) -> list[tuple[str, float]]:
        totals = [(s, sum(v)) for s, v in self.by_service.items()]
        return sorted(totals, key=lambda p: -p[1])[:n]


def _mover(service: str, usage_type: str | None, values: list[float]) -> CostMover:
    padded = [0.0] * max(0, 8 - len(values)) + list(values)
    return CostMover(
        service=service,
        usage_type=usage_type,
        yesterday=padded[-1],
        day_before=padded[-2],
        week_before=padded[-8] if len(values) >= 8 else None,
        total=sum(values),
    )


def _amount(metrics: dict[str, Any], metric: str) -> float:
    try:
        return float(metrics.get(metric, {}).get("Amount", 0.0))
    except (TypeError, ValueError):
        return 0.0


def _daily(results: list[dict[str, Any]], query: CostQuery, days: list[date]) -> dict[tuple[str, ...], list[float]]:
    index = {d.isoformat(): i for i, d in enumerate(days)}
    series: dict[tuple[str, ...], list[float]] = {}
    for period in results:
        position = index.get(str(period.get("TimePeriod", {}).get("Start", ""))[:10])
        if position is None:
            continue
        for group in period.get("Groups", []):
            keys = tuple(group.get("Keys", []))
            series.setdefault(keys, [0.0] * len(days))[position] += _amount(group.get("Metrics", {}), query.metric)
    return series


def cost_trend(ce: CostExplorerReader, *, today: date) -> CostTrend:
    """Run the cost plan's queries, in the plan's order, and shape them into a trend.

    Raises:
        GatherThrottledError, AwsReadDeniedError ("ce:GetCostAndUsage"), AwsReadUnavailableError.
    """
    plan = cost_query_plan(today)
    days = [plan[0].start + timedelta(days=i) for i in range((plan[0].end - plan[0].start).days)]
    trend = CostTrend(days=days)
    for query in plan:  # strictly in plan order: see cost_plan's docstring
        results = ce.cost_and_usage(query)
        if query.purpose == "daily_by_service":
            trend.by_service = {keys[0]: v for keys, v in _daily(results, query, days).items() if keys}
            trend.estimated = any(r.get("Estimated") for r in results)
        elif query.purpose == "daily_by_usage_type":
            for keys, values in _daily(results, query, days).items():
                if len(keys) >= 2:
                    trend.by_usage_type.setdefault(keys[0], {})[keys[1]] = values
        else:
            trend.month_to_date = sum(_amount(r.get("Total", {}), query.metric) for r in results)
    return trend


def cost_trend_evidence(trend: CostTrend, *, top_n: int = 5) -> Evidence:
    """Facts: the top mover (service, then its usage type), total daily cost, top services, other movers."""
    evidence = Evidence()
    start, end = trend.days[0], trend.days[-1]
    evidence.looked_at.append(f"Cost Explorer daily cost by service and usage type {start}..{end}")
    if not trend.by_service or not any(any(v) for v in trend.by_service.values()):
        evidence.notes.append(f"Cost Explorer returned no cost for {start}..{end}.")
        return evidence
    explorer = console_links.cost_explorer_url(start, end)
    movers = trend.service_movers()
    top = movers[0]
    evidence.facts.append(
        Fact(
            key="cost.top_mover",
            text="Top mover " + top.describe(),
            value=_headline_change(top),
            subject=top.service,
            numbers=top.measurement(),
            link=console_links.cost_explorer_url(start, end, service=top.service, group_by="UsageType"),
        )
    )
    usage = [m for m in trend.usage_type_movers() if m.service == top.service]
    if usage and usage[0].swing > 0:
        evidence.facts.append(
            Fact(
                key="cost.top_usage_type",
                text="Driven by usage type " + usage[0].describe(),
                value=round(usage[0].dod_amount, 2),
                subject=usage[0].usage_type,
                numbers=usage[0].measurement(),
                link=console_links.cost_explorer_url(start, end, service=top.service, group_by="UsageType"),
            )
        )
    totals = trend.totals()
    total_change = percent_change(totals[-1], totals[-2]) if len(totals) >= 2 else None
    top_services = trend.top_services(top_n)
    leader, leader_total = top_services[0]
    leader_mover = next(m for m in movers if m.service == leader)
    evidence.facts.append(
        Fact(
            key="cost.top_service",
            text=(
                f"{leader}: {money(leader_total)} in {len(trend.days)} days, "
                f"{signed_percent(leader_mover.dod_percent)} day over day"
            ),
            value=round(leader_total, 2),
            link=explorer,
        )
    )
    evidence.facts.append(
        Fact(
            key="cost.daily_total",
            text=(
                f"Account total {money(totals[-1])} yesterday vs {money(totals[-2])} the day before "
                f"({signed_percent(total_change)}); {money(sum(totals))} over {len(totals)} days"
            ),
            value=round(totals[-1], 2),
            link=explorer,
        )
    )
    evidence.facts.append(
        Fact(
            key="cost.top_services",
            text="Top services (14 days): " + ", ".join(f"{s} {money(v)}" for s, v in top_services),
            value=len(top_services),
            link=explorer,
        )
    )
    others = [m for m in movers[1:3] if m.swing >= 0.5]
    if others:
        evidence.facts.append(
            Fact(
                key="cost.other_movers",
                text="Next movers: " + "; ".join(_short(m) for m in others),
                value=round(others[0].dod_amount, 2),
                link=explorer,
            )
        )
    if trend.estimated:
        evidence.notes.append("The last days' costs are estimated and may still change.")
    return evidence


def _headline_change(mover: CostMover) -> float:
    """The mover's larger change (day over day or week over week) in percent, or in dollars when it is new."""
    use_week = mover.wow_amount is not None and abs(mover.wow_amount) > abs(mover.dod_amount)
    percent = mover.wow_percent if use_week else mover.dod_percent
    amount = mover.wow_amount if use_week and mover.wow_amount is not None else mover.dod_amount
    return round(percent, 1) if percent is not None else round(amount, 2)


def _short(mover: CostMover) -> str:
    return f"{mover.label} {signed_money(mover.dod_amount)} ({signed_percent(mover.dod_percent)})"


def month_end_forecast(month_to_date: float, today: date) -> float:
    """Straight-line forecast: the month-to-date daily average times the days in the month."""
    elapsed = max(1, today.day - 1)  # complete days so far
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    return month_to_date / elapsed * days_in_month


def _pick_budget(budgets: list[BudgetStatus], name: str | None) -> BudgetStatus | None:
    if name:
        named = next((b for b in budgets if b.name == name), None)
        if named is not None:
            return named
    cost_budgets = [b for b in budgets if b.budget_type == "COST" and b.time_unit == "MONTHLY"]
    return max(cost_budgets, key=lambda b: b.percent_used or 0, default=None)


def budget_evidence(
    budgets_reader: BudgetsReader,
    *,
    account_id: str | None,
    budget_name: str | None,
    month_to_date: float | None,
    today: date,
    alert_period: str | None = None,
) -> Evidence:
    """Month to date vs the budget, and the forecast to month end (the budget's, else a straight line); for a
    budget of another period (its TimeUnit, else the notification's "for the current day"), that period's spend
    vs its limit instead (`cost.budget_period`)."""
    evidence = Evidence()
    account = account_id or evidence.read("the account ID", budgets_reader.account_id)
    budget = None
    if account:
        evidence.looked_at.append("AWS Budgets " + (budget_name or "(all budgets)"))
        budgets = evidence.read("budgets", lambda: budgets_reader.budgets(account))
        if budgets is not None:
            budget = _pick_budget(budgets, budget_name)
            if budget is None:
                evidence.notes.append(
                    f"No budget named {budget_name} in this account." if budget_name else "This account has no budgets."
                )
    link = console_links.budgets_url(budget.name if budget else budget_name)
    period = budget_period(budget.time_unit if budget else None, alert_period)
    if period != "MONTHLY":
        # A daily (quarterly, yearly) budget is about its own period: month to date and a month-end forecast
        # would describe a limit nobody set.
        evidence.add(_period_budget_evidence(budget, period, link))
        return evidence
    actual = month_to_date if month_to_date is not None else (budget.actual if budget else None)
    if actual is not None:
        text = f"Month to date {money(actual)}"
        if budget is not None and budget.limit:
            text += f" of budget {budget.name} {money(budget.limit)} ({actual / budget.limit * 100:.0f}%)"
            if budget.actual is not None and month_to_date is not None and abs(budget.actual - month_to_date) > 0.01:
                text += f"; Budgets reports {money(budget.actual)}"
        evidence.facts.append(Fact(key="cost.month_to_date", text=text, value=round(actual, 2), link=link))
    forecast = budget.forecasted if budget and budget.forecasted is not None else None
    source = "AWS Budgets forecast"
    if forecast is None and actual is not None and today.day > 1:
        forecast, source = month_end_forecast(actual, today), "straight-line forecast from month to date"
    if forecast is not None:
        text = f"Forecast to month end {money(forecast)} ({source})"
        if budget is not None and budget.limit:
            text += f": {forecast / budget.limit * 100:.0f}% of budget {money(budget.limit)}"
        evidence.facts.append(Fact(key="cost.forecast", text=text, value=round(forecast, 2), link=link))
    return evidence


# The notification's "for the current day" / "per month" -> the budget's TimeUnit.
_ALERT_PERIODS = {"day": "DAILY", "month": "MONTHLY", "quarter": "QUARTERLY", "year": "ANNUALLY"}
_PERIOD_WORDS = {  # (what was spent, the budget's adjective, the period's noun)
    "DAILY": ("Today's spend", "daily", "day"),
    "QUARTERLY": ("Quarter to date", "quarterly", "quarter"),
    "ANNUALLY": ("Year to date", "annual", "year"),
}


def budget_period(time_unit: str | None, alert_period: str | None = None) -> str:
    """The budget's period: its TimeUnit as Budgets reports it, else the notification's wording, else MONTHLY."""
    if time_unit in ("DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY"):
        return time_unit
    return _ALERT_PERIODS.get((alert_period or "").lower(), "MONTHLY")


def _period_budget_evidence(budget: BudgetStatus | None, period: str, link: str) -> Evidence:
    evidence = Evidence()
    spent_words, adjective, noun = _PERIOD_WORDS.get(period, ("Spend this period", period.lower(), "period"))
    if budget is None or budget.actual is None:
        evidence.notes.append(f"The {adjective} budget's spend for the current period could not be read.")
        return evidence
    text = f"{spent_words} {money(budget.actual)}"
    percent = None
    if budget.limit:
        percent = budget.actual / budget.limit * 100
        text += f" of {adjective} budget {budget.name} {money(budget.limit)} ({percent:.0f}%)"
    if period != "DAILY" and budget.forecasted is not None:
        text += f"; AWS Budgets forecasts {money(budget.forecasted)} for the {noun}"
    evidence.facts.append(
        Fact(
            key="cost.budget_period",
            text=text,
            value=round(budget.actual, 2),
            subject=budget.name,
            link=link,
            numbers=Measurement(
                value=budget.actual,
                threshold=budget.limit,
                unit="USD",
                window="1d" if period == "DAILY" else period.lower(),
                crossed=None if not budget.limit else budget.actual > budget.limit,
            ),
        )
    )
    return evidence


def anomaly_evidence(alert: Alert) -> Evidence:
    """A Cost Anomaly Detection alert's own root causes (service, region, usage type, account) and impact."""
    evidence = Evidence()
    anomaly = alert.details_of(CostAnomalyDetails)
    causes = (anomaly.root_causes or []) if anomaly else []
    if anomaly is None or not causes:
        if alert.source == "cost_anomaly":
            evidence.notes.append("The anomaly carries no root causes.")
        return evidence
    link = console_links.cost_anomaly_detection_url(anomaly.monitor_arn, anomaly.anomaly_id)
    evidence.looked_at.append("Cost Anomaly Detection root causes from the alert")
    for index, cause in enumerate(causes[:3]):
        parts = [
            f"{label} {value}"
            for value, label in (
                (cause.service, "service"),
                (cause.usage_type, "usage type"),
                (cause.region, "region"),
                (cause.linked_account, "account"),
                (cause.linked_account_name, "account name"),
            )
            if value
        ]
        text = f"Anomaly root cause {index + 1}: " + ", ".join(parts)
        if cause.impact_contribution:
            text += f" ({money(cause.impact_contribution)} impact)"
        evidence.facts.append(
            Fact(
                key=f"cost.anomaly_root_cause.{index + 1}",
                text=text,
                link=link,
                subject=cause.service,
                numbers=Measurement(value=cause.impact_contribution, unit="USD") if cause.impact_contribution else None,
            )
        )
    impact = anomaly.total_impact
    if impact is not None:
        pct = anomaly.total_impact_percentage
        text = f"Anomaly total impact {money(impact)}"
        if pct is not None:
            text += f" ({pct:+.0f}% over expected {money(anomaly.total_expected_spend)})"
        evidence.facts.append(
            Fact(
                key="cost.anomaly_impact",
                text=text,
                value=impact,
                link=link,
                numbers=Measurement(value=impact, baseline=anomaly.total_expected_spend, unit="USD", change_pct=pct),
            )
        )
    return evidence
