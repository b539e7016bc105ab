"""An encrypted, TLS-only SQS queue that holds what a function or rule could not deliver, for 14 days."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.nag import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str, *, queue_name: str, holds: str) -> sqs.Queue:
    """`holds` says what lands in the queue; it is also why the queue needs no dead-letter queue of its own."""
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "AwsSolutions-SQS3", f"This queue is itself the dead-letter queue: {holds}.")
    return queue
