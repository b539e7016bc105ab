"""`aws_read_or_none` against moto: a resource that does not exist reads as None, any other failure is raised."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.shared.adapters.aws import aws_client, reset_clients
from functions.shared.adapters.aws_reads import aws_read_or_none
from functions.shared.errors import AwsReadDeniedError, AwsReadUnavailableError, GatherThrottledError

REGION = "us-east-1"
QUEUE_MISSING = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


@pytest.fixture
def sqs() -> Iterator[Any]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    reset_clients()
    with mock_aws():
        yield aws_client("sqs", REGION)
    reset_clients()


def test_a_missing_resource_reads_as_none(sqs: Any) -> None:
    # Given no queue named "absent"
    # When its URL is read with SQS's not-found codes
    found = aws_read_or_none("sqs:GetQueueUrl", sqs.get_queue_url, not_found=QUEUE_MISSING, QueueName="absent")

    # Then the answer is None, not an error
    assert found is None


def test_an_existing_resource_reads_as_the_response(sqs: Any) -> None:
    # Given a queue named "orders"
    created = sqs.create_queue(QueueName="orders")["QueueUrl"]

    # When its URL is read
    found = aws_read_or_none("sqs:GetQueueUrl", sqs.get_queue_url, not_found=QUEUE_MISSING, QueueName="orders")

    # Then the response is returned as aws_read returns it
    assert found is not None and found["QueueUrl"] == created


def test_a_not_found_code_the_call_does_not_name_is_raised(sqs: Any) -> None:
    # Given no queue named "absent", read with another service's not-found codes
    # When its URL is read
    # Then the failure is raised as aws_read raises it, naming the action
    with pytest.raises(
        AwsReadUnavailableError, match=re.escape("sqs:GetQueueUrl failed: AWS.SimpleQueueService.NonExistentQueue")
    ):
        aws_read_or_none(
            "sqs:GetQueueUrl", sqs.get_queue_url, not_found=frozenset({"ResourceNotFoundException"}), QueueName="absent"
        )


def test_a_missing_resource_named_only_by_its_message_reads_as_none() -> None:
    # Given ECS, which answers an unknown task definition with the generic ClientException
    reset_clients()
    with mock_aws():
        ecs = aws_client("ecs", REGION)

        # When it is read with the message that means "missing", or without it
        found = aws_read_or_none(
            "ecs:DescribeTaskDefinition",
            ecs.describe_task_definition,
            not_found=frozenset({"ResourceNotFoundException"}),
            not_found_message="Unable to describe task definition",
            taskDefinition="absent:1",
        )
        with pytest.raises(AwsReadUnavailableError, match="ClientException"):
            aws_read_or_none(
                "ecs:DescribeTaskDefinition",
                ecs.describe_task_definition,
                not_found=frozenset({"ResourceNotFoundException"}),
                taskDefinition="absent:1",
            )
    reset_clients()

    # Then the message makes it None, and only the message
    assert found is None


@pytest.mark.parametrize(
    ("code", "raised"),
    [("ThrottlingException", GatherThrottledError), ("AccessDeniedException", AwsReadDeniedError)],
)
def test_throttling_and_denial_are_raised_even_for_a_missing_resource_read(code: str, raised: type[Exception]) -> None:
    # Given a call that AWS throttles or denies
    def call(**_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, "GetQueueUrl")

    # When it is read as "or None", with that very code among the not-found ones
    # Then it is raised as aws_read raises it: only a missing resource is an answer
    with pytest.raises(raised):
        aws_read_or_none("sqs:GetQueueUrl", call, not_found=frozenset({code}), QueueName="orders")
