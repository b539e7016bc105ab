"""The reusable investigations: cost movers, forecasts, log patterns, metric windows, section bounds, cache."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from functions.shared import cache
from functions.shared.adapters.cloudwatch import MetricSeries
from functions.shared.alert_details import details_for
from functions.shared.errors import AwsReadDeniedError, AwsReadUnavailableError, GatherThrottledError
from functions.shared.investigate.base import Evidence, bounded_section, budget_remaining, parse_aws_time, time_budget
from functions.shared.investigate.cost import CostTrend, month_end_forecast
from functions.shared.investigate.logs import group_errors, message_pattern
from functions.shared.investigate.metrics import RELATED_METRICS, summarize
from functions.shared.investigate.security import guardduty_type_in_asff
from functions.shared.investigate.target import implicated_target
from functions.shared.models import Alert, ContextSection, Fact
from tests.support.gather_fakes import NOW, alarm_alert, budget_alert, log_row


def test_movers_rank_by_the_larger_of_day_and_week_change_with_both_in_dollars_and_percent():
    # Given a steady service, a creeping one and one that jumped yesterday
    days = [date(2026, 11, 11) + timedelta(days=i) for i in range(14)]
    trend = CostTrend(
        days=days,
        by_service={
            "Steady": [10.0] * 14,
            "Creep": [5.0 + i for i in range(14)],
            "Jump": [2.0] * 13 + [8.0],
        },
    )

    # When movers are ranked
    movers = trend.service_movers()

    # Then the week-over-week creep ($7) outranks the one-day jump ($6), and both changes are computed
    assert [m.service for m in movers] == ["Creep", "Jump", "Steady"]
    creep = movers[0]
    assert creep.dod_amount == 1.0 and creep.wow_amount == 7.0
    assert creep.wow_percent == pytest.approx(7 / 11 * 100)
    assert "week over week +$7.00 (+64%)" in creep.describe()


def test_straight_line_forecast_uses_complete_days():
    # $240 over the first 24 complete days of a 30-day month -> $300
    assert month_end_forecast(240.0, date(2026, 11, 25)) == pytest.approx(300.0)


def test_message_pattern_replaces_variable_parts():
    a = message_pattern("2026-11-25T19:00:01Z req 5f0c8a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b took 31 ms from 10.0.0.1")
    b = message_pattern("2026-11-25T19:07:41Z req 9a1b8a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b took 12 ms from 10.0.0.9")
    assert a == b == "<time> req <id> took <n> ms from <ip>"


def test_group_errors_refilters_counts_and_keeps_the_newest_example():
    rows = [log_row(10, "[ERROR] timeout after 3000 ms"), log_row(2, "[ERROR] timeout after 3100 ms")]
    rows.append(log_row(5, "[INFO] fine"))
    groups = group_errors(rows)
    assert len(groups) == 1
    assert groups[0].count == 2
    assert groups[0].example == "[ERROR] timeout after 3100 ms"
    assert groups[0].first_seen == NOW - timedelta(minutes=10)


def test_metric_window_peak_baseline_and_change():
    stamps = [NOW - timedelta(minutes=5 * i) for i in range(10, -1, -1)]
    values = [10.0] * 8 + [50.0, 90.0, 70.0]
    window = summarize(
        MetricSeries(id="a", stat="Sum", timestamps=stamps, values=values),
        "AWS/Lambda",
        "Errors",
        300,
        NOW,
        timedelta(minutes=15),
    )
    assert window.baseline == 10.0 and window.peak == 90.0 and window.latest == 70.0
    assert window.change_percent == pytest.approx(800.0)
    assert "peak 90" in window.describe() and "baseline 10 (+800%)" in window.describe()


def test_guardduty_type_as_it_appears_in_asff():
    assert guardduty_type_in_asff("Recon:EC2/PortProbeUnprotectedPort") == "Recon:EC2-PortProbeUnprotectedPort"


def test_bounded_section_caps_facts_and_bytes_and_says_what_it_left_out():
    facts = [Fact(key=f"k.{i}", text="x" * 400, link="https://console.aws.amazon.com/" + "y" * 200) for i in range(15)]
    section = bounded_section(ContextSection(name="cost", status="ok", facts=facts), max_facts=10, max_bytes=4096)
    assert len(json.dumps(section.model_dump(mode="json"))) <= 4096
    assert len(section.facts) < 10
    assert all(len(f.text) <= 240 for f in section.facts)
    assert "left out" in section.notes[-1]


def test_evidence_read_turns_denied_and_unavailable_into_notes_but_lets_throttling_through():
    evidence = Evidence()

    def denied():
        raise AwsReadDeniedError("logs:StartQuery")

    def unavailable():
        raise AwsReadUnavailableError("logs:StartQuery failed: ResourceNotFoundException")

    def throttled():
        raise GatherThrottledError("slow down")

    assert evidence.read("logs", denied) is None
    assert evidence.read("logs", unavailable) is None
    assert evidence.missing_permissions == ["logs:StartQuery"]
    assert len(evidence.failures) == 1
    with pytest.raises(GatherThrottledError):
        evidence.read("logs", throttled)


def test_read_resource_returns_what_it_found_without_a_note():
    evidence = Evidence()

    found = evidence.read_resource("SQS queue orders", lambda: {"url": "q"}, missing="No SQS queue named orders")

    assert found == {"url": "q"}
    assert evidence.notes == []


def test_read_resource_notes_a_resource_that_is_not_there():
    evidence = Evidence()

    found = evidence.read_resource("SQS queue orders", lambda: None, missing="No SQS queue named orders")

    assert found is None
    assert evidence.notes == ["No SQS queue named orders in this account and region."]


def test_read_resource_that_is_denied_says_so_and_not_that_the_resource_is_missing():
    evidence = Evidence()

    def denied() -> None:
        raise AwsReadDeniedError("sqs:GetQueueAttributes")

    found = evidence.read_resource("SQS queue orders", denied, missing="No SQS queue named orders")

    assert found is None
    assert evidence.notes == ["Could not read SQS queue orders: missing permission sqs:GetQueueAttributes."]
    assert evidence.missing_permissions == ["sqs:GetQueueAttributes"]


def test_read_resource_after_the_time_budget_notes_only_the_budget():
    # Given a 5 s budget whose clock has already moved on to 6 s
    now = [0.0]
    evidence = Evidence()
    with time_budget(5, clock=lambda: now[0]):
        now[0] = 6.0
        found = evidence.read_resource("SQS queue orders", lambda: {"url": "q"}, missing="No SQS queue named orders")

    assert found is None
    assert evidence.notes == ["Not read: SQS queue orders (the time budget was used up)."]


def test_read_resource_counts_only_its_own_notes_not_earlier_ones():
    # Given evidence that already holds a note from an earlier, unrelated read
    evidence = Evidence(notes=["Could not read logs: endpoint down"])

    # When the resource is then not found
    evidence.read_resource("SQS queue orders", lambda: None, missing="No SQS queue named orders")

    # Then its absence is still said, after the earlier note
    assert evidence.notes == [
        "Could not read logs: endpoint down",
        "No SQS queue named orders in this account and region.",
    ]


def test_cache_answers_repeats_for_five_minutes_then_recomputes():
    # Given a controllable clock
    now = [1000.0]
    cache.set_clock(lambda: now[0])
    cache.clear_cache()
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    try:
        # When the same key is asked within and after five minutes
        first = cache.cached("k", compute)
        now[0] += 299
        second = cache.cached("k", compute)
        now[0] += 2
        third = cache.cached("k", compute)
    finally:
        cache.set_clock(None)
        cache.clear_cache()

    # Then the repeat is served from memory and the expired entry recomputed
    assert (first, second, third) == (1, 1, 2)


def test_cache_does_not_store_failures():
    cache.clear_cache()

    def failing():
        raise GatherThrottledError("throttled")

    with pytest.raises(GatherThrottledError):
        cache.cached("boom", failing)
    assert cache.cached("boom", lambda: "ok") == "ok"
    cache.clear_cache()
    assert cache.cache_size() == 0


def test_reads_after_the_time_budget_are_skipped_and_noted():
    # Given a budget of 5 s on a clock we move by hand
    now = [0.0]
    evidence = Evidence()
    with time_budget(5, clock=lambda: now[0]):
        # When one read happens in time and one after the budget
        first = evidence.read("metrics", lambda: "data")
        now[0] = 6.0
        second = evidence.read("logs", lambda: "never called")
        remaining = budget_remaining()

    # Then the late read is skipped with a note, and outside the block there is no budget
    assert (first, second, remaining) == ("data", None, 0.0)
    assert evidence.notes == ["Not read: logs (the time budget was used up)."]
    assert budget_remaining() is None


@pytest.mark.parametrize(
    ("dimensions", "kind", "namespace"),
    [
        ({"FunctionName": "f"}, "lambda", "AWS/Lambda"),
        ({"InstanceId": "i-0c1d2e3f4a5b6c7d8"}, "ec2", "AWS/EC2"),
        ({"QueueName": "orders"}, "sqs", "AWS/SQS"),
        ({"TableName": "carts"}, "dynamodb", "AWS/DynamoDB"),
        ({"ApiName": "shop"}, "apigateway", "AWS/ApiGateway"),
    ],
)
def test_the_alarm_dimension_names_the_resource_and_its_related_metrics(dimensions, kind, namespace):
    target = implicated_target(alarm_alert("M", namespace, dimensions))
    assert target is not None and (target.kind, target.namespace) == (kind, namespace)
    assert target.dimensions == dimensions
    assert RELATED_METRICS[target.kind]
    assert (target.log_group is not None) == (kind == "lambda")


def test_a_health_event_implicates_its_instance_entity():
    alert = Alert(
        source="health",
        alert_type="AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED",
        severity="warning",
        title="retirement",
        details=details_for(
            "health", {"affected_entities": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718"]}
        ),
        dedup_key="h",
    )
    target = implicated_target(alert)
    assert target is not None and target.kind == "ec2" and target.name == "i-0a1b2c3d4e5f60718"


def test_an_alert_without_a_resource_implicates_nothing():
    assert implicated_target(budget_alert()) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Lambda's LastModified: milliseconds and an offset without its colon
        ("2026-11-25T19:16:36.479+0000", datetime(2026, 11, 25, 19, 16, 36, 479000, tzinfo=UTC)),
        # moto's nanoseconds, kept to the microsecond, and "Z"
        ("2026-11-25T19:16:36.123456789Z", datetime(2026, 11, 25, 19, 16, 36, 123456, tzinfo=UTC)),
        # another offset is kept, not dropped
        ("2026-11-25T21:16:36+02:00", datetime(2026, 11, 25, 19, 16, 36, tzinfo=UTC)),
        ("2026-11-25T21:16:36+0200", datetime(2026, 11, 25, 19, 16, 36, tzinfo=UTC)),
        # no offset: UTC
        ("2026-11-25 19:16:36", datetime(2026, 11, 25, 19, 16, 36, tzinfo=UTC)),
        # botocore's datetimes: a naive one is UTC, an aware one converted
        (datetime(2026, 11, 25, 19, 16), datetime(2026, 11, 25, 19, 16, tzinfo=UTC)),
        (
            datetime(2026, 11, 25, 14, 16, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2026, 11, 25, 19, 16, tzinfo=UTC),
        ),
    ],
)
def test_parse_aws_time_reads_each_shape_aws_returns_as_the_same_moment(value: object, expected: datetime) -> None:
    parsed = parse_aws_time(value)
    # the same moment (an aware datetime compares by its instant), never a naive one
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-01T00:00:00Z", 1764098196, ["2026-11-25"]])
def test_parse_aws_time_is_none_for_anything_that_is_not_a_moment(value: object) -> None:
    assert parse_aws_time(value) is None
