"""Console deep links: exact URLs for the pages the Slack message and the chat bot link to."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from functions.shared import console_links as links
from functions.shared import registry
from functions.shared.models import Alert


def test_stepfunctions_execution_takes_the_region_from_the_arn() -> None:
    arn = "arn:aws:states:ap-southeast-2:123456789012:execution:pipeline:run-1"
    assert links.stepfunctions_execution_url(arn) == (
        "https://ap-southeast-2.console.aws.amazon.com/states/home?region=ap-southeast-2"
        "#/v2/executions/details/arn:aws:states:ap-southeast-2:123456789012:execution:pipeline:run-1"
    )


def test_alarm_names_are_encoded() -> None:
    assert links.cloudwatch_alarm_url("High CPU / web#1", "us-west-2") == (
        "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2"
        "#alarmsV2:alarm/High%20CPU%20%2F%20web%231"
    )


def test_metric_graph_uses_the_consoles_jsurl_notation() -> None:
    url = links.metric_graph_url("AWS/Lambda", "Errors", {"FunctionName": "api"}, "eu-west-1", stat="Sum")
    assert url == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#metricsV2:graph="
        "~(view~'timeSeries~stacked~false~region~'eu-west-1~stat~'Sum~period~300~start~'-PT3H~end~'P0D"
        "~metrics~(~(~'AWS*2fLambda~'Errors~'FunctionName~'api)))"
    )


def test_jsurl_encodes_every_kind_of_value() -> None:
    assert links.jsurl({"a": [1, 2.5, None, True], "b$": "x y~é€"}) == ("~(a~(~1~2.5~null~true)~b!~'x*20y*7e*e9**20ac)")


def test_logs_insights_prefills_query_and_groups() -> None:
    url = links.logs_insights_url(["/aws/lambda/api"], "fields @message | limit 5", "eu-west-1", lookback_seconds=900)
    prefix = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights"
    assert url.startswith(prefix)
    fragment = unquote(url[len(prefix) :].replace("$", "%"))
    assert fragment == (
        "?queryDetail=~(end~0~start~-900~timeType~'RELATIVE~unit~'seconds"
        "~editorString~'fields*20*40message*20*7c*20limit*205~source~(~'*2faws*2flambda*2fapi))"
    )


def test_log_group_is_double_encoded_the_console_way() -> None:
    assert links.log_group_url("/aws/lambda/api", "us-east-1").endswith(
        "#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fapi"
    )


def test_lambda_and_ec2_pages() -> None:
    assert links.lambda_function_url("arn:aws:lambda:eu-central-1:123456789012:function:api:live") == (
        "https://eu-central-1.console.aws.amazon.com/lambda/home?region=eu-central-1#/functions/api"
    )
    assert links.ec2_instance_url("i-0abc", "us-east-2") == (
        "https://us-east-2.console.aws.amazon.com/ec2/home?region=us-east-2#InstanceDetails:instanceId=i-0abc"
    )


def test_cost_explorer_filters_one_service() -> None:
    url = links.cost_explorer_url("2026-11-18", "2026-11-25T10:00:00", service="AWS Lambda")
    assert url.startswith(
        "https://us-east-1.console.aws.amazon.com/costmanagement/home#/cost-explorer?chartStyle=STACK"
        "&granularity=Daily&startDate=2026-11-18&endDate=2026-11-25&groupBy=Service&filter="
    )
    assert '"values":[{"value":"AWS Lambda","displayValue":"AWS Lambda"}]' in unquote(url)


def test_security_hub_finding_filter_is_double_encoded() -> None:
    finding = "arn:aws:securityhub:us-east-1:123456789012:finding/abc"
    assert links.security_hub_finding_url(finding) == (
        "https://us-east-1.console.aws.amazon.com/securityhub/home?region=us-east-1#/findings?search="
        "Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub%253Aus-east-1"
        "%253A123456789012%253Afinding%252Fabc"
    )


def test_other_partitions_use_their_console_domains() -> None:
    assert links.console_host("cn-north-1") == "https://cn-north-1.console.amazonaws.cn"
    assert links.console_host("us-gov-west-1") == "https://us-gov-west-1.console.amazonaws-us-gov.com"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://eu-west-1.console.aws.amazon.com/lambda/home", True),
        ("https://health.aws.amazon.com/health/home", True),
        ("https://cn-north-1.console.amazonaws.cn/", True),
        ("http://console.aws.amazon.com/", False),
        ("https://aws.amazon.com.evil.example/", False),
        ("https://evilaws.amazon.com/", False),
        ("javascript:alert(1)", False),
        ("https://[broken", False),
        (None, False),
    ],
)
def test_is_console_url(url: str | None, expected: bool) -> None:
    assert links.is_console_url(url) is expected


def test_alert_without_details_still_gets_a_list_page() -> None:
    alert = Alert(source="cloudwatch_alarm", alert_type="x", severity="warning", title="t", dedup_key="k")
    assert registry.alert_console_link(alert) == (
        "CloudWatch alarms",
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:",
    )
    unknown = alert.model_copy(update={"source": "unknown"})
    assert registry.alert_console_link(unknown) is None


@pytest.mark.parametrize("region", ["<!channel>", "evil.example/x#", "EU-WEST-1", "", None])
def test_a_region_that_is_not_a_region_name_falls_back_to_the_default(region: str | None) -> None:
    assert links.cloudwatch_alarm_url("a", region) == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/a"
    )


def test_region_candidates_are_taken_in_order() -> None:
    assert links.valid_region("bogus region", None, "ap-south-2", "eu-west-1") == "ap-south-2"
    assert links.region_from_arn("arn:aws:sns:<x>:1:t") is None
    assert links.region_from_arn("arn:aws:iam::123456789012:role/x") is None
