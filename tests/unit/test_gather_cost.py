"""The cost playbook: what the cost section says for budget and anomaly alerts, and how it fails."""

from __future__ import annotations

import json

import pytest

from functions.gather_cost.logic import CostReaders, gather_cost
from functions.local_runner.seed import CostSeed, ServiceCostSeed
from functions.shared.adapters.budgets import BudgetStatus
from functions.shared.errors import AwsReadDeniedError, GatherThrottledError
from functions.shared.investigate.cost_plan import cost_query_plan
from functions.shared.models import Alert, StageInput
from functions.shared.settings import Settings
from tests.support.gather_fakes import NOW, FakeBudgets, FakeCostExplorer, alarm_alert, budget_alert

STORM = CostSeed(
    month_to_date=1042.17,
    services={
        "AWS Lambda": ServiceCostSeed(usage_types={"USE1-Lambda-GB-Second": [10.0, 42.0], "USE1-Request": [2.0, 6.0]}),
        "Amazon Elastic Compute Cloud - Compute": ServiceCostSeed(daily=[21.6]),
    },
)
BUDGET = BudgetStatus(name="monthly-aws-spend", limit=1000, actual=1042.17, forecasted=1610.40)


def run(alert, ce, budgets, route="critical"):
    readers = CostReaders(ce=ce, budgets=budgets)  # type: ignore[arg-type]
    return gather_cost(StageInput(route=route, alert=alert), readers, now=NOW, settings=Settings())


def test_budget_alert_names_the_top_mover_its_usage_type_month_to_date_and_forecast():
    # Given Lambda spend that quadrupled yesterday and a crossed budget
    ce, budgets = FakeCostExplorer(seed=STORM), FakeBudgets(statuses=[BUDGET])

    # When the cost branch runs
    section = run(budget_alert(), ce, budgets)

    # Then the movers come first, with $ and % day over day, then month to date and forecast
    assert section.status == "ok"
    keys = [f.key for f in section.facts]
    assert keys[:4] == ["cost.top_mover", "cost.top_usage_type", "cost.month_to_date", "cost.forecast"]
    top = section.fact("cost.top_mover")
    assert top is not None and "AWS Lambda" in top.text and "+$36.00" in top.text and "+300%" in top.text
    assert top.value == 300.0
    assert "USE1-Lambda-GB-Second" in section.facts[1].text
    assert "$1,042.17" in section.facts[2].text and "104%" in section.facts[2].text
    assert "$1,610.40" in section.facts[3].text
    assert all(f.link and f.link.startswith("https://") for f in section.facts)


def test_cost_queries_follow_the_plan_order_the_seeder_relies_on():
    # Given a fake Cost Explorer that records what it is asked
    ce = FakeCostExplorer(seed=STORM)

    # When the cost branch runs
    run(budget_alert(), ce, FakeBudgets(statuses=[BUDGET]))

    # Then it asked exactly the planned queries, in order (moto answers distinct queries from a queue)
    assert [q.request() for q in ce.calls] == [q.request() for q in cost_query_plan(NOW.date())]


def test_section_stays_within_its_size_and_fact_caps():
    # Given twenty services that all moved
    seed = CostSeed(services={f"Service {i}": ServiceCostSeed(daily=[float(i), float(i * 3)]) for i in range(1, 21)})

    # When the cost branch runs
    section = run(budget_alert(), FakeCostExplorer(seed=seed), FakeBudgets(statuses=[BUDGET]))

    # Then it keeps at most 10 facts and 4 KB of JSON
    assert len(section.facts) <= 10
    assert len(json.dumps(section.model_dump(mode="json"))) <= 4096


def test_denied_cost_explorer_still_reports_the_budget_and_names_the_permission():
    # Given Cost Explorer access denied but Budgets readable
    ce = FakeCostExplorer(error=AwsReadDeniedError("ce:GetCostAndUsage"))

    # When the cost branch runs
    section = run(budget_alert(), ce, FakeBudgets(statuses=[BUDGET]))

    # Then the budget facts remain and a note names the missing permission
    assert section.status == "ok"
    assert section.fact("cost.month_to_date") is not None
    assert any("ce:GetCostAndUsage" in note for note in section.notes)


def test_everything_denied_is_an_error_naming_each_missing_permission():
    # Given no cost permissions at all
    ce = FakeCostExplorer(error=AwsReadDeniedError("ce:GetCostAndUsage"))
    budgets = FakeBudgets(error=AwsReadDeniedError("budgets:ViewBudget"))

    # When the cost branch runs
    section = run(budget_alert(), ce, budgets)

    # Then the section is an error that says precisely what is missing
    assert section.status == "error"
    assert section.error is not None
    assert "ce:GetCostAndUsage" in section.error and "budgets:ViewBudget" in section.error


def test_throttling_propagates_so_the_state_machine_retries():
    # Given Cost Explorer throttling
    ce = FakeCostExplorer(error=GatherThrottledError("ce:GetCostAndUsage was throttled"))

    # When / Then the named error escapes the branch
    with pytest.raises(GatherThrottledError):
        run(budget_alert(), ce, FakeBudgets(statuses=[BUDGET]))


def test_no_cost_data_says_so():
    # Given an account with no cost data yet
    section = run(budget_alert(), FakeCostExplorer(seed=None), FakeBudgets(statuses=[]))

    # Then the section says Cost Explorer returned nothing
    assert any("no cost" in note.lower() for note in section.notes)


def test_heartbeat_and_non_cost_alerts_are_skipped_without_calls():
    # Given a recording Cost Explorer
    ce = FakeCostExplorer(seed=STORM)

    # When a heartbeat and a Lambda alarm arrive
    heartbeat = run(budget_alert(), ce, FakeBudgets(), route="heartbeat")
    alarm = run(alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "f"}), ce, FakeBudgets())

    # Then both are skipped and Cost Explorer (billed per request) is never called
    assert heartbeat.status == alarm.status == "skipped"
    assert ce.calls == []


def test_anomaly_root_causes_lead_the_section():
    # Given a cost anomaly alert with its own root cause
    alert = Alert.model_validate(
        budget_alert().model_dump()
        | {
            "source": "cost_anomaly",
            "details": {
                "root_causes": [
                    {"service": "Amazon S3", "usage_type": "USE1-Requests-Tier1", "impact_contribution": 171.4}
                ],
                "total_impact": 171.4,
                "total_impact_percentage": 857.0,
                "total_expected_spend": 20.0,
            },
        }
    )

    # When the cost branch runs
    section = run(alert, FakeCostExplorer(seed=STORM), FakeBudgets(statuses=[BUDGET]))

    # Then the anomaly's root cause is the first fact
    assert section.facts[0].key == "cost.anomaly_root_cause.1"
    assert "USE1-Requests-Tier1" in section.facts[0].text and "$171.40" in section.facts[0].text
