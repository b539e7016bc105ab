"""The cost drill against moto: from a usage type to the resources billing it (NAT gateways by bytes processed, log
groups by ingestion), the probes a budget alert runs, and the rules that name the mechanism and only its advice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from functions.analyze.rules import analyze_with_rules
from functions.gather_compute.logic import ComputeReaders, gather_compute
from functions.gather_logs.logic import LogReaders, gather_logs
from functions.local_runner.seed import (
    AccountSeed,
    LogGroupSeed,
    MetricSegmentSeed,
    MetricSeriesSeed,
    seed_account,
)
from functions.local_runner.seed_cost import NatGatewaySeed
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.cost_resources import LogGroupReader, MetricCatalogReader, NatGatewayReader
from functions.shared.alert_details import details_for
from functions.shared.errors import AwsReadUnavailableError
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.cost_drill import (
    BilledMetrics,
    ResourceUsage,
    nat_gateway_drill,
    rank_by_billed_usage,
)
from functions.shared.investigate.log_volume import group_messages
from functions.shared.investigate.usage_mechanisms import mechanisms_for
from functions.shared.models import Alert, ContextSection, Fact, GatheredContext, Measurement, StageInput
from functions.shared.settings import Settings
from tests.support.gather_fakes import NOW as GATHER_NOW
from tests.support.gather_fakes import (
    FakeCloudWatch,
    FakeEc2,
    FakeGuardDuty,
    FakeHealth,
    FakeLambdas,
    FakeLogGroups,
    FakeLogs,
    FakeSecurityHub,
    budget_alert,
    log_row,
)

REGION = "us-east-1"
PROD_NAT = "nat-0a1b2c3d4e5f60718"
STAGING_NAT = "nat-0f9e8d7c6b5a49382"
GB = 1_000_000_000


def hourly(namespace: str, metric: str, dimension: str, name: str, before: float, after: float, hours_after: int):
    """Eight days of hourly Sums: `before` per hour, then `after` per hour for the last `hours_after` hours."""
    segments = [MetricSegmentSeed(value=before, points=192 - hours_after)]
    if hours_after:
        segments.append(MetricSegmentSeed(value=after, points=hours_after))
    return MetricSeriesSeed(
        namespace=namespace, metric_name=metric, dimensions={dimension: name}, period_minutes=60, segments=segments
    )


def seeded(now: datetime, *, prod_after: float, log_after: float) -> None:
    seed_account(
        AccountSeed(
            nat_gateways=[
                NatGatewaySeed(nat_gateway_id=PROD_NAT, name="prod-nat-use1a"),
                NatGatewaySeed(
                    nat_gateway_id=STAGING_NAT, name="staging-nat", vpc_cidr="10.1.0.0/16", subnet_cidr="10.1.0.0/24"
                ),
            ],
            log_groups=[LogGroupSeed(name="/aws/lambda/orders-api"), LogGroupSeed(name="/aws/lambda/quiet")],
            metrics=[
                hourly("AWS/NATGateway", "BytesInFromDestination", "NatGatewayId", PROD_NAT, 3 * GB, prod_after, 30),
                hourly("AWS/NATGateway", "BytesOutToDestination", "NatGatewayId", PROD_NAT, 0.3 * GB, 0.3 * GB, 0),
                hourly("AWS/NATGateway", "BytesInFromDestination", "NatGatewayId", STAGING_NAT, GB, 1.2 * GB, 30),
                hourly("AWS/Logs", "IncomingBytes", "LogGroupName", "/aws/lambda/orders-api", GB, log_after, 36),
                hourly("AWS/Logs", "IncomingBytes", "LogGroupName", "/aws/lambda/quiet", 0.1 * GB, 0.1 * GB, 0),
            ],
        ),
        now=now,
    )


@pytest.fixture
def moto_account() -> Iterator[datetime]:
    now = datetime.now(UTC)
    with mock_aws():
        yield now


def compute_readers() -> ComputeReaders:
    return ComputeReaders(
        cloudwatch=CloudWatchReader(region=REGION),
        lambdas=FakeLambdas(),  # type: ignore[arg-type]
        ec2=FakeEc2(),  # type: ignore[arg-type]
        securityhub=FakeSecurityHub(),  # type: ignore[arg-type]
        guardduty=FakeGuardDuty(),  # type: ignore[arg-type]
        health=FakeHealth(),  # type: ignore[arg-type]
        nat_gateways=NatGatewayReader(region=REGION),
        log_groups=LogGroupReader(region=REGION),
        metric_catalog=MetricCatalogReader(region=REGION),
    )


def anomaly_alert(service: str, usage_type: str) -> Alert:
    return Alert(
        source="cost_anomaly",
        alert_type="cost_anomaly",
        severity="critical",
        title=f"Cost anomaly: {service}",
        account_id="123456789012",
        region=REGION,
        details=details_for(
            "cost_anomaly",
            {"root_causes": [{"service": service, "usage_type": usage_type, "impact_contribution": 92.5}]},
        ),
        dedup_key="anomaly-1",
    )


def test_usage_types_map_to_their_billing_mechanism_by_structure():
    assert mechanisms_for([("EC2 - Other", "USE1-NatGateway-Bytes")]) == ["nat_gateway"]
    assert mechanisms_for([("EC2 - Other", "EUW1-NatGateway-Hours")]) == ["nat_gateway"]
    assert mechanisms_for([("AmazonCloudWatch", "USE1-DataProcessing-Bytes")]) == ["log_ingestion"]
    assert mechanisms_for([("Amazon Elastic Compute Cloud - Compute", "USE1-BoxUsage:c6i.xlarge")]) == ["ec2_instances"]
    assert mechanisms_for([("AWS Lambda", "USE1-Lambda-GB-Second")]) == ["lambda"]
    # the same words under another service are not log ingestion; an unknown usage type maps to nothing
    assert mechanisms_for([("AWS Glue", "USE1-DataProcessing-Bytes")]) == []
    assert mechanisms_for([("Amazon Route 53", "HostedZone")]) == []


def test_a_nat_anomaly_names_the_gateway_that_processed_the_bytes_with_its_subnet_and_numbers(moto_account):
    # Given the production NAT at 86 GB/h inbound for 30 hours (3 GB/h before) and a flat staging NAT
    seeded(moto_account, prod_after=86 * GB, log_after=GB)

    # When a cost anomaly on USE1-NatGateway-Bytes is drilled
    section = gather_compute(
        StageInput(route="critical", alert=anomaly_alert("EC2 - Other", "USE1-NatGateway-Bytes")),
        compute_readers(),
        now=moto_account,
        settings=Settings(),
    )

    # Then the production gateway comes first, with its bytes against a week earlier, and its configuration
    top = section.facts[0]
    assert top.key == "compute.cost_resource.nat_gateway"
    assert top.subject == PROD_NAT and "prod-nat-use1a" in top.text and "subnet-" in top.text
    assert top.numbers is not None and top.numbers.unit == "bytes"
    assert top.numbers.value == pytest.approx(24 * (86 + 0.3) * GB)
    assert top.numbers.baseline == pytest.approx(24 * 3.3 * GB)
    assert "BytesInFromDestination" in top.text
    assert top.link is not None and PROD_NAT in top.link
    assert section.fact("compute.nat_gateway") is not None
    runners_up = section.fact("compute.cost_runners_up")
    assert runners_up is not None and "staging-nat" in runners_up.text
    # and no other mechanism's drill ran: the anomaly named NAT usage
    assert section.fact("compute.cost_resource.log_group") is None


def test_a_budget_probe_reports_only_clear_growth(moto_account):
    # Given NAT traffic that grew 20 % and log ingestion that grew twentyfold
    seeded(moto_account, prod_after=3.6 * GB, log_after=20 * GB)

    section = gather_compute(
        StageInput(route="critical", alert=budget_alert()), compute_readers(), now=moto_account, settings=Settings()
    )

    # Then the log group is named and the NAT gateway is not (20 % is no driver of a budget alert)
    assert section.fact("compute.cost_resource.nat_gateway") is None
    logs = section.fact("compute.cost_resource.log_group")
    assert logs is not None and logs.subject == "/aws/lambda/orders-api"
    assert logs.numbers is not None and logs.numbers.change_pct == pytest.approx(1900.0, rel=0.01)


def test_the_nat_drill_says_when_the_region_has_no_nat_gateway(moto_account):
    seed_account(AccountSeed(), now=moto_account)
    evidence = nat_gateway_drill(
        CloudWatchReader(region=REGION), NatGatewayReader(region=REGION), now=moto_account, region=REGION, probe=False
    )
    assert not evidence.facts
    assert any("no NAT gateway" in note for note in evidence.notes)


def _context(compute: list[Fact], cost: list[Fact], logs: list[Fact] | None = None) -> GatheredContext:
    return GatheredContext(
        cost=ContextSection(name="cost", status="ok", facts=cost),
        compute=ContextSection(name="compute", status="ok", facts=compute),
        logs=ContextSection(name="logs", status="ok", facts=logs or []),
    )


NAT_FACT = Fact(
    key="compute.cost_resource.nat_gateway",
    text="NAT gateway nat-0a1b2c3d4e5f60718 (prod-nat-use1a) in subnet-0abc, vpc-0123456789abcdef0: 2.0 TB processed",
    subject=PROD_NAT,
    numbers=Measurement(value=2e12, baseline=9e10, unit="bytes", window="24h"),
)
LOG_FACT = Fact(
    key="compute.cost_resource.log_group",
    text="Log group /aws/lambda/orders-api: 471.5 GB ingested (IncomingBytes) in the last 24 h",
    subject="/aws/lambda/orders-api",
)


def _bill(service: str, usage_type: str) -> list[Fact]:
    return [
        Fact(key="cost.top_mover", text=f"Top mover {service}: $96.80 yesterday", subject=service),
        Fact(
            key="cost.top_usage_type", text=f"Driven by usage type {service} / {usage_type}: $96.80", subject=usage_type
        ),
    ]


def test_a_nat_bill_gets_the_nat_playbook_and_its_read_only_commands_only():
    analysis = analyze_with_rules(budget_alert(), _context([NAT_FACT], _bill("EC2 - Other", "USE1-NatGateway-Bytes")))
    assert analysis.root_cause.startswith("NAT gateway data processing: NAT gateway nat-0a1b2c3d4e5f60718")
    advice = " ".join(analysis.recommendations)
    assert "gateway VPC endpoints" in advice and "flow logs" in advice
    assert "log level" not in advice
    commands = " ".join(analysis.diagnostics)
    assert "aws ec2 describe-nat-gateways --nat-gateway-ids nat-0a1b2c3d4e5f60718" in commands
    assert "describe-vpc-endpoints" in commands and "vpc-0123456789abcdef0" in commands
    assert "describe-log-groups" not in commands


def test_a_log_ingestion_bill_gets_the_logging_playbook():
    analysis = analyze_with_rules(
        budget_alert(), _context([LOG_FACT], _bill("AmazonCloudWatch", "USE1-DataProcessing-Bytes"))
    )
    assert analysis.root_cause.startswith("CloudWatch Logs ingestion: Log group /aws/lambda/orders-api")
    advice = " ".join(analysis.recommendations)
    assert "log level" in advice and "subscription filter" in advice
    assert "NAT" not in advice and "endpoint" not in advice
    assert any(
        "logs describe-log-groups --log-group-name-prefix /aws/lambda/orders-api" in c for c in analysis.diagnostics
    )


def test_a_resource_of_another_mechanism_than_the_bill_is_not_blamed():
    # The bill is S3 requests; a NAT gateway that grew is not its cause
    analysis = analyze_with_rules(
        budget_alert(), _context([NAT_FACT], _bill("Amazon Simple Storage Service", "USE1-Requests-Tier1"))
    )
    assert "NAT" not in analysis.root_cause
    assert "Amazon Simple Storage Service" in analysis.root_cause


def test_a_daily_budget_with_a_step_is_told_by_its_onset_and_todays_spend_not_the_month():
    cost = [
        Fact(
            key="cost.top_mover",
            text="Top mover Amazon EC2: $97.90 yesterday vs $97.90 the day before (+$0.00, +0%)",
            subject="Amazon EC2",
        ),
        Fact(
            key="cost.onset",
            text="Amazon EC2 stepped up on Nov 21 and stayed: since then $97.90/day vs $16.30/day "
            "before (+501%), 4 days at the new level",
            value="step_up",
            subject="Amazon EC2",
        ),
        Fact(key="cost.budget_period", text="Today's spend $104.37 of daily budget daily-aws-spend $100.00 (104%)"),
        Fact(key="cost.forecast", text="Forecast to month end $3,100.00 (straight-line forecast from month to date)"),
    ]
    alert = budget_alert(notification_type="FORECASTED", threshold_period="day")
    analysis = analyze_with_rules(alert, _context([], cost))
    assert "stepped up on Nov 21" in analysis.root_cause and "daily budget" in analysis.root_cause
    assert "+0%" not in analysis.root_cause
    assert "month" not in analysis.root_cause.lower() and "forecast" not in analysis.root_cause.lower()


def test_the_logs_branch_reads_what_the_busiest_ingesting_group_logs():
    # Given no Lambda function whose invocations grew, and one log group whose ingestion grew twentyfold
    now = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
    cloudwatch = FakeCloudWatch(
        series={
            "IncomingBytes:/aws/lambda/orders-api": [(m * 60.0, float(GB)) for m in range(36, 192)]
            + [(m * 60.0, 20.0 * GB) for m in range(36)],
            "IncomingBytes:/aws/lambda/quiet": [(m * 60.0, float(GB)) for m in range(192)],
        }
    )
    from functions.shared.adapters.cost_resources import LogGroupInfo

    groups = FakeLogGroups(groups=[LogGroupInfo(name="/aws/lambda/orders-api"), LogGroupInfo(name="/aws/lambda/quiet")])
    rows = [log_row(m / 10, f"[DEBUG] cart snapshot for request {m:04d}: items 14") for m in range(1, 90)]
    rows += [log_row(m, "[INFO] POST /orders 201 in 84 ms") for m in range(1, 10)]
    logs = FakeLogs(rows=rows, groups={"/aws/lambda/orders-api"})
    readers = LogReaders(logs=logs, cloudwatch=cloudwatch, lambdas=FakeLambdas(), log_groups=groups)  # type: ignore[arg-type]

    section = gather_logs(StageInput(route="critical", alert=budget_alert()), readers, now=now, settings=Settings())

    # Then the most repeated line of that group comes first, with its share of the sample (not an error count)
    assert logs.queries and logs.queries[0][0] == ["/aws/lambda/orders-api"]
    first = section.fact("logs.message.1")
    assert first is not None and first.value == 89 and "[DEBUG] cart snapshot" in first.text
    assert section.fact("logs.error_count") is None


def test_messages_group_by_pattern_whatever_their_level():
    rows = [log_row(1, "[DEBUG] took 31 ms for req 5"), log_row(2, "[DEBUG] took 12 ms for req 9"), log_row(3, "x")]
    patterns = group_messages(rows)
    assert [p.count for p in patterns] == [2, 1]
    assert patterns[0].example == "[DEBUG] took 31 ms for req 5"  # the newest line of its pattern


def test_an_s3_request_anomaly_ranks_the_buckets_that_have_request_metrics(moto_account):
    # Given two buckets with a whole-bucket request-metrics filter, one of them making 50x its usual requests
    def requests(bucket: str, before: float, after: float) -> MetricSeriesSeed:
        series = hourly("AWS/S3", "AllRequests", "BucketName", bucket, before, after, 30)
        series.dimensions["FilterId"] = "EntireBucket"
        return series

    seed_account(
        AccountSeed(metrics=[requests("acme-sync-target", 2_000, 100_000), requests("acme-assets", 5_000, 5_000)]),
        now=moto_account,
    )

    section = gather_compute(
        StageInput(route="critical", alert=anomaly_alert("Amazon Simple Storage Service", "USE1-Requests-Tier1")),
        compute_readers(),
        now=moto_account,
        settings=Settings(),
    )

    top = section.fact("compute.cost_resource.s3_bucket")
    assert top is not None and top.subject == "acme-sync-target"
    assert "AllRequests, filter EntireBucket" in top.text
    assert top.numbers is not None and top.numbers.unit == "requests"
    assert top.numbers.value == pytest.approx(2_400_000) and top.numbers.baseline == pytest.approx(48_000)


def test_an_s3_anomaly_without_request_metrics_says_so_instead_of_guessing(moto_account):
    seed_account(AccountSeed(), now=moto_account)
    section = gather_compute(
        StageInput(route="critical", alert=anomaly_alert("Amazon Simple Storage Service", "USE1-Requests-Tier1")),
        compute_readers(),
        now=moto_account,
        settings=Settings(),
    )
    assert section.fact("compute.cost_resource.s3_bucket") is None
    assert any("request-metrics filter" in note for note in section.notes)


def test_a_box_usage_anomaly_counts_the_running_instances_of_that_type_newest_first(moto_account):
    from functions.local_runner.seed import Ec2InstanceSeed
    from functions.shared.adapters.compute import Ec2Reader

    seed_account(
        AccountSeed(
            ec2_instances=[
                Ec2InstanceSeed(
                    instance_id="i-0b5c6d7e8f9a0b1c2",
                    name="loadtest-1",
                    instance_type="c6i.xlarge",
                    launched_minutes_ago=6 * 1440,
                ),
                Ec2InstanceSeed(instance_id="i-0b5c6d7e8f9a0b1c3", name="api-old", instance_type="c6i.xlarge"),
                Ec2InstanceSeed(
                    instance_id="i-0b5c6d7e8f9a0b1c4", name="web-1", instance_type="t3.large", launched_minutes_ago=60
                ),
            ]
        ),
        now=moto_account,
    )
    readers = compute_readers()
    readers.ec2 = Ec2Reader(region=REGION)
    alert = anomaly_alert("Amazon Elastic Compute Cloud - Compute", "USE1-BoxUsage:c6i.xlarge")

    section = gather_compute(StageInput(route="critical", alert=alert), readers, now=moto_account, settings=Settings())

    top = section.fact("compute.cost_resource.ec2_instances")
    assert top is not None and top.subject == "c6i.xlarge"
    assert top.text.startswith("2 c6i.xlarge instance(s) running: 1 launched in the last 14 days")
    assert "loadtest-1, api-old" in top.text and "web-1" not in top.text
    assert top.numbers is not None and (top.numbers.value, top.numbers.baseline) == (2, 1)
    analysis = analyze_with_rules(alert, GatheredContext(compute=section))
    assert analysis.root_cause.startswith("EC2 instance hours: 2 c6i.xlarge")
    assert any("Name=instance-type,Values=c6i.xlarge" in c for c in analysis.diagnostics)
    assert not any("NAT" in r or "log level" in r for r in analysis.recommendations)


def test_the_log_ingestion_rule_names_what_writes_the_log_group():
    writer = Fact(
        key="compute.lambda_config",
        text="Lambda orders-api: python3.12, 512 MB, timeout 30 s, last modified 36 h ago",
        subject="orders-api",
        via="writer of log group /aws/lambda/orders-api",
    )
    analysis = analyze_with_rules(
        budget_alert(), _context([LOG_FACT, writer], _bill("AmazonCloudWatch", "USE1-DataProcessing-Bytes"))
    )
    assert (
        "what writes it: Lambda orders-api" in analysis.root_cause and "last modified 36 h ago" in analysis.root_cause
    )


def test_the_state_bounds_keep_the_edge_a_fact_was_reached_by():
    from functions.shared.state_bounds import bound_section

    section = ContextSection(name="compute", status="ok", facts=[Fact(key="k", text="t", via="writer of log group x")])
    assert bound_section(section).facts[0].via == "writer of log group x"


def test_a_nat_anomaly_without_nat_metrics_still_gets_the_nat_next_steps_only():
    cause = Fact(
        key="cost.anomaly_root_cause.1",
        text="Anomaly root cause 1: service EC2 - Other, usage type USE1-NatGateway-Bytes ($92.50 impact)",
        subject="EC2 - Other",
    )
    alert = anomaly_alert("EC2 - Other", "USE1-NatGateway-Bytes")
    analysis = analyze_with_rules(alert, _context([], [cause]))
    advice = " ".join(analysis.recommendations)
    assert analysis.root_cause.startswith("Cost anomaly driven by service EC2 - Other")
    assert "gateway VPC endpoints" in advice and "log level" not in advice and "CloudFront" not in advice


def test_a_budget_whose_bill_is_s3_transfer_gets_the_transfer_next_steps():
    analysis = analyze_with_rules(
        budget_alert(), _context([], _bill("Amazon Simple Storage Service", "USE1-DataTransfer-Out-Bytes"))
    )
    advice = " ".join(analysis.recommendations)
    assert "CloudFront" in advice and "NAT" not in advice


def test_a_grown_resource_of_a_mechanism_the_bill_does_not_name_is_not_blamed():
    # The anomaly is about EBS volumes (no drill for it): a NAT gateway that also grew is not its cause
    alert = anomaly_alert("EC2 - Other", "USE1-EBS:VolumeUsage.gp3")
    cause = Fact(
        key="cost.anomaly_root_cause.1",
        text="Anomaly root cause 1: service EC2 - Other, usage type USE1-EBS:VolumeUsage.gp3 ($40.00 impact)",
        subject="EC2 - Other",
    )
    analysis = analyze_with_rules(alert, _context([NAT_FACT], [cause]))
    assert "NAT" not in analysis.root_cause and "VolumeUsage.gp3" in analysis.root_cause
    # and with no usage type known at all (the cost branch failed), the grown resource is the lead
    analysis = analyze_with_rules(budget_alert(), _context([NAT_FACT], []))
    assert analysis.root_cause.startswith("NAT gateway data processing")


def test_an_alarm_on_a_nat_gateway_reads_its_configuration_and_suggests_describing_it(moto_account):
    from tests.support.gather_fakes import alarm_alert

    seeded(moto_account, prod_after=3 * GB, log_after=GB)
    alert = alarm_alert("ErrorPortAllocation", "AWS/NATGateway", {"NatGatewayId": PROD_NAT}, threshold=0)
    section = gather_compute(
        StageInput(route="critical", alert=alert), compute_readers(), now=moto_account, settings=Settings()
    )
    config = section.fact("compute.nat_gateway")
    assert config is not None and "available" in config.text and "vpc-" in config.text
    analysis = analyze_with_rules(alert, GatheredContext(compute=section))
    assert any(f"describe-nat-gateways --nat-gateway-ids {PROD_NAT}" in c for c in analysis.diagnostics)


def test_an_alarm_on_a_log_group_suggests_describing_that_log_group():
    from tests.support.gather_fakes import alarm_alert

    alert = alarm_alert("IncomingBytes", "AWS/Logs", {"LogGroupName": "/aws/lambda/orders-api"}, threshold=1e9)
    analysis = analyze_with_rules(alert, GatheredContext())
    assert any("describe-log-groups --log-group-name-prefix /aws/lambda/orders-api" in c for c in analysis.diagnostics)


def test_a_billing_alarm_is_analysed_as_a_cost_alert_with_the_bills_commands():
    from tests.support.gather_fakes import alarm_alert

    alert = alarm_alert("EstimatedCharges", "AWS/Billing", {"Currency": "USD"}, threshold=1500)
    analysis = analyze_with_rules(alert, _context([NAT_FACT], _bill("EC2 - Other", "USE1-NatGateway-Bytes")))
    assert analysis.root_cause.startswith("NAT gateway data processing")
    assert any(c.startswith("aws ce get-cost-and-usage") for c in analysis.diagnostics)
    # an alarm of another namespace is not read as a bill
    other = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "orders-api"}, threshold=1)
    assert not analyze_with_rules(other, _context([NAT_FACT], [])).root_cause.startswith("NAT gateway")


def test_a_billing_alarm_drills_from_the_bill_like_a_budget(moto_account):
    from tests.support.gather_fakes import alarm_alert

    seeded(moto_account, prod_after=86 * GB, log_after=GB)
    alert = alarm_alert("EstimatedCharges", "AWS/Billing", {"Currency": "USD"}, threshold=1500)
    section = gather_compute(
        StageInput(route="critical", alert=alert), compute_readers(), now=moto_account, settings=Settings()
    )
    top = section.fact("compute.cost_resource.nat_gateway")
    assert top is not None and top.subject == PROD_NAT


def _hourly_points(before: float, after: float) -> list[tuple[float, float]]:
    """Eight days of hourly Sums for FakeCloudWatch: `after` per hour in the last 24 h, `before` per hour earlier."""
    return [(60.0 * hour, after if hour < 24 else before) for hour in range(192)]


REQUESTS = BilledMetrics(
    namespace="AWS/Example", dimension="Thing", metrics=("Requests",), unit="requests", ranked="things by Requests"
)


def _reader(fake: FakeCloudWatch) -> CloudWatchReader:
    return fake  # type: ignore[return-value]  # the fake answers metric_data as the reader does


def _top_fact(top: ResourceUsage) -> Fact:
    return Fact(key="compute.cost_resource.thing", text=f"thing {top.resource_id}", value=top.recent)


def test_ranking_by_billed_usage_adds_the_top_grower_and_the_next_two_as_runners_up():
    # Given three resources: a grew tenfold, c doubled, b is the busiest but flat
    cw = FakeCloudWatch(
        series={
            "Requests:a": _hourly_points(1, 10),
            "Requests:b": _hourly_points(50, 50),
            "Requests:c": _hourly_points(2, 4),
        }
    )
    evidence = Evidence()

    # When they are ranked by their billed metric
    top = rank_by_billed_usage(
        evidence, _reader(cw), REQUESTS, ["a", "b", "c"], now=GATHER_NOW, read="things", top_fact=_top_fact,
        page=lambda thing: f"https://console.example/{thing}", labels={"c": "thing-c"},
    )  # fmt: skip

    # Then the one that grew most is the top fact, built by the given builder, with its usage returned
    assert top is not None and top.resource_id == "a"
    assert top.recent == pytest.approx(240) and top.baseline == pytest.approx(24)
    assert [f.key for f in evidence.facts] == ["compute.cost_resource.thing", "compute.cost_runners_up"]
    assert evidence.facts[0].text == "thing a"
    # And the runners-up, by growth, named by their labels, link the first one's page
    runners_up = evidence.facts[1]
    assert runners_up.text.startswith("Next things by Requests in the last 24 h: thing-c 96 requests (+100%), b ")
    assert runners_up.value == pytest.approx(96) and runners_up.link == "https://console.example/c"
    assert runners_up.numbers is not None and runners_up.numbers.unit == "requests"


def test_ranking_by_billed_usage_while_probing_reports_only_clear_growth():
    # Given one resource whose usage grew by half: not the doubling a probe asks for
    cw = FakeCloudWatch(series={"Requests:a": _hourly_points(2, 3)})

    def ranked(probe: bool) -> tuple[ResourceUsage | None, Evidence]:
        evidence = Evidence()
        top = rank_by_billed_usage(
            evidence,
            _reader(cw),
            REQUESTS,
            ["a"],
            now=GATHER_NOW,
            read="things",
            top_fact=_top_fact,
            page=str,
            probe=probe,
        )
        return top, evidence

    # When probing, nothing is reported; when the bill names the mechanism, it is
    probed, probing = ranked(True)
    assert probed is None and probing.facts == [] and probing.notes == []
    named, naming = ranked(False)
    assert named is not None and [f.text for f in naming.facts] == ["thing a"]


def test_ranking_by_billed_usage_says_when_no_resource_reported_and_when_the_read_failed():
    # Given resources with no datapoints, then a metric read that fails
    silent, failing = FakeCloudWatch(), FakeCloudWatch(error=AwsReadUnavailableError("endpoint down"))

    def ranked(cw: FakeCloudWatch, probe: bool) -> Evidence:
        evidence = Evidence()
        top = rank_by_billed_usage(
            evidence, _reader(cw), REQUESTS, ["a"], now=GATHER_NOW, read="things", top_fact=_top_fact, page=str,
            probe=probe, none_reported="No thing reported Requests.",
        )  # fmt: skip
        assert top is None and evidence.facts == []
        return evidence

    # Then silence is noted only when the bill named the mechanism (a probe stays quiet)
    assert ranked(silent, False).notes == ["No thing reported Requests."]
    assert ranked(silent, True).notes == []
    # And a failed read is noted under the read's name, whatever the probe
    assert ranked(failing, True).failures == ["things: endpoint down"]
