"""StorageStack: the Conversations table and the conversation archive bucket."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.infrastructure.conftest import Synthesis

STACK = "Storage"


def test_conversations_table_keys_billing_ttl_stream_and_recovery(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": synthesis.config.conversations_table_name,
            "KeySchema": [
                {"AttributeName": "conversation_id", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_dev_table_is_deleted_with_the_stack_and_the_archive_never_is(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})
    template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_archive_bucket_is_private_versioned_and_encrypted(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::S3::Bucket", 1)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": synthesis.config.archive_bucket_name,
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        },
    )


def test_archive_bucket_refuses_requests_without_tls(synthesis: Synthesis) -> None:
    synthesis.template(STACK).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_archive_lifecycle_tiers_then_expires(synthesis: Synthesis) -> None:
    # Given the archive bucket's lifecycle rules
    (bucket,) = synthesis.resources(STACK, "AWS::S3::Bucket").values()
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]

    # Then objects move to Standard-IA at 30 days, Glacier Flexible Retrieval at 90, and go at 365
    assert rule["Status"] == "Enabled"
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER", "TransitionInDays": 90},
    ]
    assert rule["ExpirationInDays"] == 365
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
