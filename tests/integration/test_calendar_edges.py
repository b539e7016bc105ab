"""The calendar edges the code handles: the 1st of a month, 1 January, 29 February, daylight-saving change days.

The suite's clock is pinned mid-month (tests/conftest.py); these tests move it to each edge on purpose.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from functions.local_runner.runner import run_scenario
from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario
from functions.shared.investigate.cost_plan import COST_WINDOW_DAYS, cost_query_plan
from functions.shared.sources.budget import parse_budget
from tests.conftest import travel_to
from tests.support.events import load_event

EDGES = {
    "first of a month": datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC),
    "new year": datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC),
    "leap day": datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    "day after a leap day": datetime(2028, 3, 1, 6, 0, tzinfo=UTC),
    "US daylight saving starts": datetime(2027, 3, 14, 7, 30, tzinfo=UTC),
    "EU daylight saving ends": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
}


@pytest.mark.parametrize("moment", EDGES.values(), ids=EDGES.keys())
def test_the_cost_plan_covers_fourteen_whole_days_and_month_to_date_only_when_the_month_has_a_day(
    moment: datetime,
) -> None:
    today = moment.date()
    plan = cost_query_plan(today)
    daily = plan[0]
    assert (daily.start, daily.end) == (today - timedelta(days=COST_WINDOW_DAYS), today)
    month_to_date = [q for q in plan if q.purpose == "month_to_date"]
    if today.day == 1:
        assert month_to_date == []  # no complete day of this month yet
    else:
        assert [(q.start, q.end) for q in month_to_date] == [(today.replace(day=1), today)]


def test_the_window_after_a_leap_day_includes_it() -> None:
    plan = cost_query_plan(date(2028, 3, 1))
    days = [plan[0].start + timedelta(days=i) for i in range((plan[0].end - plan[0].start).days)]
    assert date(2028, 2, 29) in days and len(days) == COST_WINDOW_DAYS


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("February 29, 2028", date(2028, 2, 29)),
        ("January 1, 2027", date(2027, 1, 1)),
        ("March 1, 2026", date(2026, 3, 1)),
    ],
)
def test_the_budget_notification_date_is_read_on_calendar_edges(written: str, expected: date) -> None:
    message = load_event("budget_notification_sns.json")["Records"][0]["Sns"]["Message"]
    header = next(line for line in message.splitlines() if "AWS Budget Notification" in line)
    alert = parse_budget(message.replace(header, f"AWS Budget Notification {written}"), None)
    assert alert is not None
    assert alert.occurred_at is not None and alert.occurred_at.date() == expected
    assert alert.details.as_fields()["notification_date"] == expected.isoformat()


@pytest.mark.parametrize(
    "moment",
    [EDGES["first of a month"], EDGES["new year"], EDGES["leap day"], EDGES["US daylight saving starts"]],
    ids=["first of a month", "new year", "leap day", "US daylight saving starts"],
)
def test_the_demo_scenario_runs_and_names_its_cost_on_every_edge(moment: datetime) -> None:
    # Given the demo scenario, seeded relative to "now", on a calendar edge
    with travel_to(moment):
        result = run_scenario(load_scenario(DEFAULT_SCENARIO), quick_retries=True)

    # Then it posts, and the cost evidence is there (month to date only once the month has a whole day)
    assert result.succeeded, result.cause
    assert result.slack_message is not None
    cost = (result.analyze_input or {}).get("context", {}).get("cost") or {}
    assert cost.get("status") == "ok"
    keys = {fact["key"] for fact in cost.get("facts", [])}
    assert "cost.top_mover" in keys
    if moment.day == 1:
        assert not any("month to date" in fact["text"].lower() and "$0.00" in fact["text"] for fact in cost["facts"])


def test_times_on_a_daylight_saving_change_day_are_rendered_in_utc() -> None:
    from functions.format.logic import format_message
    from functions.shared.models import Alert, FormatInput

    # 01:30 in New York on 2027-03-14 does not exist; 03:30 EDT is 07:30 UTC
    occurred = datetime(2027, 3, 14, 3, 30, tzinfo=ZoneInfo("America/New_York"))
    alert = Alert(source="custom", alert_type="app_error", severity="critical", title="x", dedup_key="k")
    message = format_message(FormatInput(alert=alert.model_copy(update={"occurred_at": occurred})))
    assert "2027-03-14 07:30 UTC" in str(message.blocks)
