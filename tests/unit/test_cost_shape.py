"""The cost shape interpreter: a step with its onset and levels, told apart from creep, a one-day jump and a flat
bill; and budgets described by their own period (a daily budget: today's spend, never month to date)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from functions.shared.adapters.budgets import BudgetStatus
from functions.shared.investigate.cost import CostTrend, budget_evidence, budget_period
from functions.shared.investigate.cost_shape import cost_onset_evidence, cost_shape
from tests.support.gather_fakes import FakeBudgets

DAYS = [date(2026, 11, 4) + timedelta(days=i) for i in range(14)]


def test_a_step_four_days_ago_is_told_by_its_onset_and_both_levels_not_day_over_day():
    # Given $6/day for ten days, then $41/day for four (flat day over day since)
    shape = cost_shape("EC2", DAYS, [6.0] * 10 + [41.0] * 4)

    # Then it is a step that began on the eleventh day, with both levels and the change between them
    assert shape.kind == "step_up"
    assert shape.onset == DAYS[10] and shape.days_at_level == 4
    assert (shape.level_before, shape.level_after) == (6.0, 41.0)
    assert shape.change_pct == pytest.approx(583.3, abs=0.1)
    assert "stepped up on Nov 14" in shape.describe() and "$41.00/day vs $6.00/day before (+583%" in shape.describe()
    assert shape.measurement().baseline == 6.0 and shape.measurement().value == 41.0


def test_a_partial_onset_day_between_the_two_levels_still_reads_as_a_step():
    shape = cost_shape("EC2", DAYS, [6.1, 5.9, 6.0, 6.2, 6.0, 5.8, 6.1, 6.0, 6.0, 24.0, 41.2, 40.8, 41.0, 41.1])
    assert shape.kind == "step_up"
    assert shape.onset == DAYS[9]
    assert shape.level_before == pytest.approx(6.0, abs=0.1) and shape.level_after == pytest.approx(41.05, abs=0.1)


def test_steady_daily_growth_is_creep_not_a_step():
    values = [6.1, 7.0, 8.2, 9.1, 10.3, 11.2, 12.4, 13.6, 14.8, 15.9, 17.2, 18.6, 20.1, 21.7]
    shape = cost_shape("S3", DAYS, values)
    assert shape.kind == "creep"
    assert shape.onset is None
    assert shape.slope_per_day == pytest.approx(1.18, abs=0.05)
    assert "no single step" in shape.describe()


def test_a_rise_on_the_last_day_only_is_a_jump():
    shape = cost_shape("S3", DAYS, [1.2] * 13 + [172.6])
    assert shape.kind == "jump" and shape.onset == DAYS[-1] and shape.days_at_level == 1


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([5.0, 5.2, 4.9, 5.1, 5.0, 5.1, 4.8, 5.0, 5.2, 5.1, 4.9, 5.0, 5.1, 5.0], "flat"),
        ([5, 9, 3, 12, 4, 8, 2, 11, 5, 9, 3, 10, 4, 7], "irregular"),
        ([40.0] * 9 + [8.0] * 5, "step_down"),
        # a change of cents is noise, however large its percentage
        ([0.01] * 10 + [0.2] * 4, "flat"),
    ],
)
def test_flat_noisy_falling_and_tiny_bills_are_no_step_up(values, kind):
    assert cost_shape("X", DAYS, [float(v) for v in values]).kind == kind


def test_the_onset_fact_uses_the_top_movers_usage_type_and_a_flat_bill_gets_none():
    stepped = CostTrend(
        days=DAYS,
        by_service={"Amazon Elastic Compute Cloud - Compute": [20.0] * 10 + [101.6] * 4, "AWS Lambda": [2.0] * 14},
        by_usage_type={
            "Amazon Elastic Compute Cloud - Compute": {
                "USE1-BoxUsage:c6i.2xlarge": [16.3] * 10 + [97.9] * 4,
                "USE1-EBS:VolumeUsage.gp3": [3.7] * 14,
            }
        },
    )
    fact = cost_onset_evidence(stepped).fact("cost.onset")
    assert fact is not None and fact.value == "step_up"
    assert fact.subject == "USE1-BoxUsage:c6i.2xlarge"
    assert fact.numbers is not None and (fact.numbers.value, fact.numbers.baseline) == (97.9, 16.3)

    flat = CostTrend(days=DAYS, by_service={"AWS Lambda": [2.0] * 14})
    evidence = cost_onset_evidence(flat)
    assert evidence.fact("cost.onset") is None and evidence.notes


def _budget(time_unit: str, actual: float, forecasted: float | None = None) -> FakeBudgets:
    return FakeBudgets(
        statuses=[BudgetStatus(name="spend", time_unit=time_unit, limit=100.0, actual=actual, forecasted=forecasted)]
    )


def test_a_daily_budget_is_todays_spend_against_its_daily_limit_without_month_or_forecast():
    evidence = budget_evidence(
        _budget("DAILY", 104.37),  # type: ignore[arg-type]
        account_id="123456789012",
        budget_name="spend",
        month_to_date=2400.0,
        today=date(2026, 11, 25),
    )
    fact = evidence.fact("cost.budget_period")
    assert fact is not None
    assert fact.text.startswith("Today's spend $104.37 of daily budget spend $100.00 (104%)")
    assert fact.numbers is not None and fact.numbers.crossed is True and fact.numbers.window == "1d"
    assert evidence.fact("cost.month_to_date") is None and evidence.fact("cost.forecast") is None
    assert "month" not in " ".join(f.text.lower() for f in evidence.facts)


def test_a_monthly_budget_keeps_month_to_date_and_the_forecast():
    evidence = budget_evidence(
        _budget("MONTHLY", 64.0, 138.0),  # type: ignore[arg-type]
        account_id="123456789012",
        budget_name="spend",
        month_to_date=64.0,
        today=date(2026, 11, 25),
    )
    assert evidence.fact("cost.budget_period") is None
    month = evidence.fact("cost.month_to_date")
    forecast = evidence.fact("cost.forecast")
    assert month is not None and month.value == 64.0
    assert forecast is not None and "138%" in forecast.text


def test_the_budget_period_comes_from_time_unit_then_the_notification_wording():
    assert budget_period("DAILY") == "DAILY"
    assert budget_period(None, "day") == "DAILY"
    assert budget_period("QUARTERLY", "day") == "QUARTERLY"  # what Budgets reports wins
    assert budget_period(None, None) == "MONTHLY"


def test_a_jump_on_the_last_day_adds_no_onset_fact_the_day_over_day_mover_already_says_it():
    jumped = CostTrend(days=DAYS, by_service={"Amazon Simple Storage Service": [1.2] * 13 + [172.6]})
    assert cost_onset_evidence(jumped).fact("cost.onset") is None


def test_a_flat_account_total_is_reported_as_steady_and_a_stepped_one_is_not():
    from functions.shared.investigate.cost_shape import steady_total_evidence

    flat = CostTrend(days=DAYS, by_service={"EC2": [20.0, 20.2, 19.8] * 4 + [20.0, 20.1], "S3": [3.0] * 14})
    fact = steady_total_evidence(flat).fact("cost.steady")
    assert fact is not None and fact.value == pytest.approx(23.0, abs=0.2)
    stepped = CostTrend(days=DAYS, by_service={"EC2": [20.0] * 10 + [98.0] * 4})
    assert steady_total_evidence(stepped).fact("cost.steady") is None


def test_a_steady_bill_is_no_problem_unless_the_drill_found_a_resource_that_grew():
    from functions.analyze.rules import analyze_with_rules
    from functions.shared.models import ContextSection, Fact, GatheredContext
    from tests.support.gather_fakes import budget_alert

    steady = Fact(key="cost.steady", text="The account's daily total is flat over 14 days: about $32.50/day")
    mover = Fact(key="cost.top_mover", text="Top mover EC2: $20.00 yesterday vs $20.10 the day before", subject="EC2")
    cost = ContextSection(name="cost", status="ok", facts=[mover, steady])
    analysis = analyze_with_rules(budget_alert(), GatheredContext(cost=cost))
    assert analysis.root_cause.startswith("No sign of a cost problem")
    assert "raise the budget" in " ".join(analysis.recommendations)

    grown = Fact(key="compute.cost_resource.log_group", text="Log group /aws/x: 400 GB ingested", subject="/aws/x")
    compute = ContextSection(name="compute", status="ok", facts=[grown])
    analysis = analyze_with_rules(budget_alert(), GatheredContext(cost=cost, compute=compute))
    assert not analysis.root_cause.startswith("No sign of a cost problem")


def test_a_rise_with_only_one_full_day_at_the_new_level_is_a_jump_not_a_step_that_stayed():
    shape = cost_shape("Logs", DAYS, [12.5] * 12 + [118.0, 246.0])
    assert shape.kind == "jump" and shape.onset == DAYS[12]


def test_a_quarterly_budget_is_quarter_to_date_with_its_own_forecast():
    evidence = budget_evidence(
        _budget("QUARTERLY", 61.0, 140.0),  # type: ignore[arg-type]
        account_id="123456789012",
        budget_name="spend",
        month_to_date=20.0,
        today=date(2026, 11, 25),
    )
    fact = evidence.fact("cost.budget_period")
    assert fact is not None
    assert fact.text == (
        "Quarter to date $61.00 of quarterly budget spend $100.00 (61%); AWS Budgets forecasts $140.00 for the quarter"
    )
    assert evidence.fact("cost.month_to_date") is None
