"""Kinesis investigation: the interpreter reads the stream's numbers (iterator age, IncomingRecords against a week
before, throughput exceeded), the investigator finds the stream's capacity and its Lambda consumer, and the rule
names why the consumer falls behind, each cause with its own next steps and read-only commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from functions.analyze.rules import analyze_with_rules
from functions.shared.adapters.cloudwatch import MetricSeries
from functions.shared.adapters.streams import StreamConsumer, StreamSummary, stream_name_of_arn
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.flow import FlowWindow, flow_window
from functions.shared.investigate.lambda_links import lambda_neighbours_evidence
from functions.shared.investigate.streams import (
    ConsumerHealth,
    kinesis_stream_evidence,
    stream_verdict,
)
from functions.shared.investigate.target import Target, implicated_target
from functions.shared.models import ContextSection, GatheredContext, ResourceRef
from functions.shared.registry import resource_console_link
from tests.support.gather_fakes import NOW, FakeCloudWatch, FakeLambdas, alarm_alert
from tests.support.queue_fakes import FakeDynamoDb, FakeMappings, mapping

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
WEEK_MINUTES = 7 * 24 * 60


class FakeKinesis:
    def __init__(self, streams: dict[str, StreamSummary] | None = None, consumers: int = 0) -> None:
        self.streams = streams or {}
        self.fan_out = [StreamConsumer(name=f"reader-{i}", status="ACTIVE") for i in range(consumers)]

    def stream(self, name: str) -> StreamSummary | None:
        return self.streams.get(name)

    def consumers(self, stream_arn: str) -> list[StreamConsumer]:
        return self.fan_out


def five_minute(before: list[float], recent: list[float], *, ago: float = 0) -> list[tuple[float, float]]:
    """(minutes before NOW, value), oldest first, one point every 5 minutes, the last one `ago` minutes ago."""
    values = before + recent
    return [(ago + (len(values) - 1 - i) * 5, v) for i, v in enumerate(values)]


def window(metric: str, baseline: float, recent: list[float]) -> FlowWindow:
    stamped = [(NOW - timedelta(minutes=m), v) for m, v in five_minute([baseline] * 27, recent)]
    return flow_window(
        metric,
        MetricSeries(id="x", stat="Sum", timestamps=[t for t, _ in stamped], values=[v for _, v in stamped]),
        NOW,
        missing_is_zero=metric != "GetRecords.IteratorAgeMilliseconds",
    )


# --- The interpreter -------------------------------------------------------------------------------------------


def test_an_iterator_age_climbing_past_a_minute_is_falling_behind():
    verdict = stream_verdict(
        {"GetRecords.IteratorAgeMilliseconds": window("GetRecords.IteratorAgeMilliseconds", 500, [90_000, 600_000])}
    )
    assert verdict.falling_behind
    assert verdict.age_latest_ms == 600_000 and verdict.age_baseline_ms == 500


def test_a_busy_stream_whose_consumers_keep_up_is_not_falling_behind():
    # Traffic triples against a week before, but the iterator age stays at a second
    verdict = stream_verdict(
        {
            "GetRecords.IteratorAgeMilliseconds": window("GetRecords.IteratorAgeMilliseconds", 800, [900, 1000]),
            "IncomingRecords": window("IncomingRecords", 100_000, [300_000] * 6),
        },
        week_before=window("IncomingRecords", 100_000, [100_000] * 6),
    )
    assert not verdict.falling_behind
    assert verdict.producer_spike  # the spike is still a fact; no cause is named without falling behind


def test_an_age_that_was_always_high_is_not_a_new_lag():
    age = window("GetRecords.IteratorAgeMilliseconds", 3_600_000, [3_700_000, 3_650_000])
    assert not stream_verdict({"GetRecords.IteratorAgeMilliseconds": age}).falling_behind


def test_incoming_records_are_compared_with_a_week_before_when_known():
    incoming = window("IncomingRecords", 100_000, [160_000] * 6)  # +60 % on the last hours
    flat_week = window("IncomingRecords", 160_000, [155_000] * 6)  # but a week before was the same
    assert stream_verdict({"IncomingRecords": incoming}).producer_spike
    verdict = stream_verdict({"IncomingRecords": incoming}, week_before=flat_week)
    assert verdict.incoming_reference == 155_000 and not verdict.producer_spike


def test_the_shards_write_capacity_is_a_number():
    verdict = stream_verdict({"IncomingRecords": window("IncomingRecords", 100, [100])}, open_shards=4)
    assert verdict.write_capacity == 4 * 1000 * 300


def test_the_consumer_near_its_timeout_is_slow_and_one_well_inside_it_is_not():
    assert ConsumerHealth(function="f", duration_peak_ms=55_000, timeout_ms=60_000).near_timeout
    assert not ConsumerHealth(function="f", duration_peak_ms=3_000, timeout_ms=60_000).near_timeout
    assert not ConsumerHealth(function="f", duration_peak_ms=3_000).near_timeout


def test_a_stream_arn_names_its_stream():
    assert stream_name_of_arn(STREAM_ARN) == "clicks"
    assert stream_name_of_arn("arn:aws:sqs:us-east-1:123456789012:clicks") is None


# --- The investigator ------------------------------------------------------------------------------------------


def readers(
    *, errors: list[float], duration: list[float], incoming: list[float], write_exceeded: list[float] | None = None
) -> tuple[FakeKinesis, FakeMappings, FakeLambdas, FakeCloudWatch]:
    kinesis = FakeKinesis(
        {"clicks": StreamSummary(name="clicks", arn=STREAM_ARN, status="ACTIVE", open_shards=2, retention_hours=24)}
    )
    mappings = FakeMappings(
        found=[mapping("ClickEnricher", STREAM_ARN, state="Enabled", batch_size=500, parallelization_factor=1)]
    )
    lambdas = FakeLambdas(functions={"ClickEnricher": {"FunctionName": "ClickEnricher", "Timeout": 60}})
    series = {
        "GetRecords.IteratorAgeMilliseconds": five_minute([800] * 30, [300_000, 1_100_000, 2_400_000]),
        "IncomingRecords": five_minute([50_000] * 30, incoming),
        "Errors": five_minute([0] * 30, errors),
        "Throttles": five_minute([0] * 33, []),
        "Duration": five_minute([20_000] * 30, duration),
    }
    series["IncomingRecords"] = series["IncomingRecords"] + five_minute([50_000] * 36, [], ago=WEEK_MINUTES)
    if write_exceeded is not None:
        series["WriteProvisionedThroughputExceeded"] = five_minute([0] * 30, write_exceeded)
    return kinesis, mappings, lambdas, FakeCloudWatch(series=series)


def investigate(*parts: Any) -> Evidence:
    kinesis, mappings, lambdas, cloudwatch = parts
    return kinesis_stream_evidence(
        kinesis, mappings, lambdas, cloudwatch, Target.of("kinesis_stream", "clicks", "us-east-1"), now=NOW
    )


def test_the_investigator_reports_capacity_consumer_lag_and_a_spike_against_a_week_before():
    evidence = investigate(*readers(errors=[0, 0, 0], duration=[50_000, 54_000, 54_500], incoming=[100_000] * 6))

    behind = evidence.fact("compute.stream_falling_behind")
    assert behind is not None and behind.numbers is not None and behind.numbers.value == 2_400_000
    assert "40 min" in behind.text
    spike = evidence.fact("compute.stream_producer_spike")
    assert spike is not None and spike.numbers is not None
    assert (spike.numbers.value, spike.numbers.baseline) == (100_000, 50_000) and "a week before" in spike.text
    config = evidence.fact("compute.stream_config")
    assert config is not None and "2 open shards" in config.text and "no enhanced fan-out" in config.text
    consumer = evidence.fact("compute.stream_consumer")
    assert consumer is not None and consumer.value == "ClickEnricher"
    assert consumer.numbers is not None and consumer.numbers.value == 1  # parallelization factor
    duration = evidence.fact("compute.stream_consumer_duration")
    assert duration is not None and duration.numbers is not None and duration.numbers.crossed
    assert evidence.fact("compute.stream_consumer_errors") is None
    assert [(n.target.kind, n.target.name) for n in evidence.neighbours] == [("lambda", "ClickEnricher")]
    assert "consumer of Kinesis stream clicks" in evidence.neighbours[0].edge


def test_a_missing_stream_is_reported_not_guessed():
    evidence = kinesis_stream_evidence(
        FakeKinesis(),  # type: ignore[arg-type]
        FakeMappings(),  # type: ignore[arg-type]
        FakeLambdas(),  # type: ignore[arg-type]
        FakeCloudWatch(),  # type: ignore[arg-type]
        Target.of("kinesis_stream", "gone", "us-east-1"),
        now=NOW,
    )
    assert evidence.facts == [] and evidence.neighbours == []
    assert "No Kinesis data stream named gone" in evidence.notes[0]


def test_a_lambda_consuming_a_stream_has_the_stream_as_its_neighbour():
    evidence = lambda_neighbours_evidence(
        "ClickEnricher",
        {},
        FakeMappings(found=[mapping("ClickEnricher", STREAM_ARN, state="Enabled", batch_size=500)]),  # type: ignore[arg-type]
        FakeDynamoDb(),  # type: ignore[arg-type]
        region="us-east-1",
    )
    assert [(n.target.kind, n.target.name) for n in evidence.neighbours] == [("kinesis_stream", "clicks")]


def test_an_iterator_age_alarm_implicates_the_stream_and_links_its_console_page():
    alert = alarm_alert("GetRecords.IteratorAgeMilliseconds", "AWS/Kinesis", {"StreamName": "clicks"})
    target = implicated_target(alert)
    assert target is not None and (target.kind, target.name) == ("kinesis_stream", "clicks")
    link = resource_console_link(ResourceRef(type="AWS::Kinesis::Stream", name="clicks"), "us-east-1")
    assert link is not None and link[0] == "Kinesis data stream" and "/kinesis/home" in link[1]


# --- The rule --------------------------------------------------------------------------------------------------


def analyse(evidence: Evidence, alert_metric: str = "GetRecords.IteratorAgeMilliseconds"):
    alert = alarm_alert(alert_metric, "AWS/Kinesis", {"StreamName": "clicks"}, threshold=300_000)
    context = GatheredContext(compute=ContextSection(name="compute", status="ok", facts=evidence.facts))
    return analyze_with_rules(alert, context, now=NOW)


def test_a_healthy_consumer_near_its_timeout_is_under_parallelised():
    analysis = analyse(
        investigate(*readers(errors=[0, 0, 0], duration=[50_000, 54_000, 54_500], incoming=[100_000] * 6))
    )
    assert "too slow" in analysis.root_cause and "ClickEnricher" in analysis.root_cause
    assert "ParallelizationFactor (now 1)" in analysis.recommendations[0]
    assert any(c.startswith("aws kinesis describe-stream-summary --stream-name clicks") for c in analysis.diagnostics)
    assert any("list-event-source-mappings --event-source-arn " + STREAM_ARN in c for c in analysis.diagnostics)


def test_a_failing_consumer_is_named_before_the_traffic():
    analysis = analyse(
        investigate(*readers(errors=[40, 120, 130], duration=[50_000, 54_000, 54_500], incoming=[100_000] * 6))
    )
    assert "ClickEnricher fails" in analysis.root_cause
    assert "Fix Lambda ClickEnricher's failure first" in analysis.recommendations[0]
    assert "BisectBatchOnFunctionError" in analysis.recommendations[1]
    assert any(
        "aws logs filter-log-events --log-group-name /aws/lambda/ClickEnricher" in c for c in analysis.diagnostics
    )


def test_write_throttling_at_the_shards_is_capacity_not_a_slow_consumer():
    analysis = analyse(
        investigate(
            *readers(errors=[0, 0, 0], duration=[3_000] * 3, incoming=[590_000] * 6, write_exceeded=[0, 40_000, 80_000])
        )
    )
    assert "at its shards' capacity after a producer spike" in analysis.root_cause
    assert "WriteProvisionedThroughputExceeded" in analysis.root_cause
    assert "too slow" not in analysis.root_cause
    assert analysis.recommendations[0].startswith("Add shards to clicks")


def test_falling_behind_with_no_cause_in_sight_says_so_with_low_confidence():
    analysis = analyse(investigate(*readers(errors=[0, 0, 0], duration=[3_000] * 3, incoming=[50_000] * 6)))
    assert analysis.confidence == "low"
    assert "neither a consumer error or throttle" in analysis.root_cause


def test_a_stream_that_keeps_up_gets_no_falling_behind_finding():
    kinesis, mappings, lambdas, cloudwatch = readers(errors=[0, 0, 0], duration=[3_000] * 3, incoming=[100_000] * 6)
    cloudwatch.series["GetRecords.IteratorAgeMilliseconds"] = five_minute([800] * 30, [900, 950, 1000])
    evidence = investigate(kinesis, mappings, lambdas, cloudwatch)
    assert evidence.fact("compute.stream_falling_behind") is None
    assert any("keep up" in note for note in evidence.notes)
    assert "falls behind" not in analyse(evidence).root_cause


def test_a_throttled_consumer_is_named_with_its_concurrency():
    kinesis, mappings, lambdas, cloudwatch = readers(errors=[0, 0, 0], duration=[3_000] * 3, incoming=[50_000] * 6)
    cloudwatch.series["Throttles"] = five_minute([0] * 30, [20, 35, 40])
    analysis = analyse(investigate(kinesis, mappings, lambdas, cloudwatch))
    assert "ClickEnricher is throttled" in analysis.root_cause
    assert "concurrency" in analysis.recommendations[0]
    assert any("get-function-concurrency --function-name ClickEnricher" in c for c in analysis.diagnostics)


def test_the_consumers_own_iterator_age_alarm_is_explained_through_its_stream():
    # The walk reached the stream from the Lambda (its event source): the stream's facts carry that edge
    evidence = investigate(*readers(errors=[0, 0, 0], duration=[50_000, 54_000, 54_500], incoming=[100_000] * 6))
    for fact in evidence.facts:
        fact.via = "event source of Lambda ClickEnricher (Kinesis stream clicks, batch size 500)"
    context = GatheredContext(compute=ContextSection(name="compute", status="ok", facts=evidence.facts))
    lag = alarm_alert("IteratorAge", "AWS/Lambda", {"FunctionName": "ClickEnricher"}, threshold=60_000)
    assert "too slow" in analyze_with_rules(lag, context, now=NOW).root_cause
    # Another alarm of the same function (its Errors) is not blamed on the stream it reads
    errors = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "ClickEnricher"}, threshold=5)
    assert "falls behind" not in analyze_with_rules(errors, context, now=NOW).root_cause
