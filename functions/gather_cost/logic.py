"""Cost context for an alert: the budget / cost-anomaly playbook.

Cost Explorer daily cost for 14 days by service and by usage type, the top movers day over day and week over
week ($ and %), month to date against the budget and the forecast to month end, and a cost anomaly's own root
causes. Other alert types skip this branch (Cost Explorer bills every request).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from functions.shared.adapters.budgets import BudgetsReader
from functions.shared.adapters.cost_explorer import CostExplorerReader
from functions.shared.alert_details import BudgetDetails, CloudWatchAlarmDetails
from functions.shared.investigate.base import Evidence, section_from, skipped_section, time_budget
from functions.shared.investigate.cost import anomaly_evidence, budget_evidence, cost_trend, cost_trend_evidence
from functions.shared.investigate.cost_shape import cost_onset_evidence, steady_total_evidence
from functions.shared.models import Alert, ContextSection, StageInput
from functions.shared.registry import source_spec
from functions.shared.settings import Settings

# Most telling first: the section is capped, and the prompt trims from the end.
FACT_ORDER = (
    "cost.anomaly_root_cause",
    "cost.top_mover",
    "cost.onset",
    "cost.steady",
    "cost.top_usage_type",
    "cost.budget_period",
    "cost.month_to_date",
    "cost.forecast",
    "cost.anomaly_impact",
    "cost.top_service",
    "cost.daily_total",
    "cost.other_movers",
    "cost.top_services",
)


@dataclass
class CostReaders:
    ce: CostExplorerReader
    budgets: BudgetsReader

    @classmethod
    def default(cls) -> CostReaders:
        return cls(ce=CostExplorerReader(), budgets=BudgetsReader())


def _is_billing_alarm(alert: Alert) -> bool:
    alarm = alert.details_of(CloudWatchAlarmDetails)
    return alarm is not None and alarm.namespace == "AWS/Billing"


# Whether a source's cost investigator (`functions.shared.registry`, investigators["cost"]) reads the bill.
INVESTIGATORS: dict[str, Callable[[Alert], bool]] = {
    "cost": lambda alert: True,
    "billing_alarm": _is_billing_alarm,
    "skip": lambda alert: False,
}


def wants_cost_context(alert: Alert) -> bool:
    return INVESTIGATORS[source_spec(alert.source).investigators["cost"]](alert)


def _rank(key: str) -> int:
    return next((i for i, prefix in enumerate(FACT_ORDER) if key.startswith(prefix)), len(FACT_ORDER))


def _cost_playbook(alert: Alert, readers: CostReaders, now: datetime) -> Evidence:
    today = now.date()
    evidence = Evidence()
    evidence.add(anomaly_evidence(alert))
    trend = evidence.read("Cost Explorer cost and usage", lambda: cost_trend(readers.ce, today=today))
    if trend is not None:
        evidence.add(cost_trend_evidence(trend))
    budget = alert.details_of(BudgetDetails)
    budget_name = budget.budget_name if budget else None
    evidence.add(
        budget_evidence(
            readers.budgets,
            account_id=alert.account_id,
            budget_name=budget_name,
            month_to_date=trend.month_to_date if trend else None,
            today=today,
            alert_period=budget.threshold_period if budget else None,
        )
    )
    if trend is not None:
        evidence.add(cost_onset_evidence(trend))
        evidence.add(steady_total_evidence(trend))
    return evidence


def gather_cost(stage_input: StageInput, readers: CostReaders, *, now: datetime, settings: Settings) -> ContextSection:
    """The cost section for one alert.

    Raises:
        GatherThrottledError: Cost Explorer or Budgets throttled (the state machine retries the branch).
    """
    started = time.monotonic()
    alert = stage_input.alert
    if stage_input.route == "heartbeat":
        return skipped_section("cost", "Heartbeat alert: no cost context needed.", started=started)
    if not wants_cost_context(alert):
        return skipped_section(
            "cost",
            f"Cost context is gathered for budget, cost-anomaly and billing alerts; this is a {alert.source} alert.",
            started=started,
        )
    with time_budget(settings.gather_timeout_seconds):
        evidence = _cost_playbook(alert, readers, now)
    evidence.facts.sort(key=lambda f: _rank(f.key))
    return section_from("cost", evidence, started=started)
