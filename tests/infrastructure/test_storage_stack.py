"""StorageStack: the Conversations table and the conversation archive bucket."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
from aws_cdk import App, Environment
from aws_cdk.assertions import Match, Template
from moto import mock_aws

from cdk.constants import ENVIRONMENT_DEFAULTS, EnvironmentConfig
from cdk.stacks.storage_stack import StorageStack
from tests.infrastructure.conftest import STACKS, Synthesis

STACK = "Storage"
REGION = "us-east-1"


def test_conversations_table_keys_billing_ttl_stream_and_recovery(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
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


# --- Redeploy after destroy (issue 11, defect 7) ---------------------------------------------------------------


def test_table_and_bucket_have_no_fixed_names_and_the_stack_outputs_them(synthesis: Synthesis) -> None:
    # Given the storage stack's table and bucket
    (table,) = synthesis.resources(STACK, "AWS::DynamoDB::Table").values()
    (bucket,) = synthesis.resources(STACK, "AWS::S3::Bucket").values()

    # Then CloudFormation names them (a retained one cannot collide with the next deploy), and the outputs say
    # which names it chose, so a retained resource can be found once its stack is gone
    assert "TableName" not in table["Properties"]
    assert "BucketName" not in bucket["Properties"]
    outputs = synthesis.raw[STACK]["Outputs"]
    table_id, bucket_id = _logical_id(synthesis, "AWS::DynamoDB::Table"), _logical_id(synthesis, "AWS::S3::Bucket")
    assert outputs["ConversationsTableName"]["Value"] == {"Ref": table_id}
    assert outputs["ArchiveBucketName"]["Value"] == {"Ref": bucket_id}


def _logical_id(synthesis: Synthesis, resource_type: str) -> str:
    (logical_id,) = synthesis.resources(STACK, resource_type)
    return logical_id


def _imports_of(value: Any) -> list[str]:
    """Every export name a template value imports."""
    if isinstance(value, dict):
        if set(value) == {"Fn::ImportValue"}:
            return [str(value["Fn::ImportValue"])]
        return [name for item in value.values() for name in _imports_of(item)]
    if isinstance(value, list):
        return [name for item in value for name in _imports_of(item)]
    return []


def test_every_reference_to_the_table_or_bucket_comes_from_the_storage_stack(synthesis: Synthesis) -> None:
    # Given what the storage stack exports about its table and bucket
    exports = {
        output["Export"]["Name"]: output["Value"]
        for output in synthesis.raw[STACK]["Outputs"].values()
        if "Export" in output
    }
    table_id, bucket_id = _logical_id(synthesis, "AWS::DynamoDB::Table"), _logical_id(synthesis, "AWS::S3::Bucket")

    # When the other stacks name them
    imported: dict[str, set[str]] = {}
    for stack in STACKS:
        for name in _imports_of(synthesis.raw[stack]):
            if name in exports:  # imports from the storage stack (others import the state machine)
                imported.setdefault(stack, set()).add(json.dumps(exports[name]))

    # Then the pipeline (Post's table name and grant), the chat bot (table, stream, bucket) and the meta-alarms
    # (the table's throttling metrics) all take them from the storage stack: no stack spells a name itself
    assert json.dumps({"Ref": table_id}) in imported["AlertAnalyzer"]
    assert json.dumps({"Fn::GetAtt": [table_id, "Arn"]}) in imported["AlertAnalyzer"]
    assert json.dumps({"Fn::GetAtt": [table_id, "StreamArn"]}) in imported["ChatHandler"]
    assert json.dumps({"Fn::GetAtt": [bucket_id, "Arn"]}) in imported["ChatHandler"]
    assert json.dumps({"Ref": table_id}) in imported["Monitoring"]
    old_name = json.dumps("alert-intel-dev-conversations")  # the fixed name it had (the alarms' names may start so)
    spelled = [stack for stack in STACKS if old_name in json.dumps(synthesis.raw[stack])]
    assert spelled == []


def _prod_storage_template() -> Mapping[str, Any]:
    """The prod storage stack alone (prod retains its table; every environment retains the archive)."""
    config = EnvironmentConfig(name="prod", **ENVIRONMENT_DEFAULTS["prod"])  # type: ignore[arg-type]
    assert config.retain_data
    stack = StorageStack(
        App(), config.stack_name("Storage"), config=config, env=Environment(account=config.account, region=REGION)
    )
    return Template.from_stack(stack).to_json()


def test_prod_storage_deploys_again_after_destroy_and_the_retained_data_survives(monkeypatch: Any) -> None:
    # Given the prod storage template, deployed once (moto's CloudFormation honours DeletionPolicy Retain)
    template = json.dumps(_prod_storage_template())
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        # cdk bootstrap's version parameter, which every CDK template checks
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String"
        )
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        dynamodb, s3 = boto3.client("dynamodb", region_name=REGION), boto3.client("s3", region_name=REGION)
        name = "AlertIntel-prod-Storage"

        def deploy() -> dict[str, str]:
            cloudformation.create_stack(StackName=name, TemplateBody=template)
            (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
            assert stack["StackStatus"] == "CREATE_COMPLETE"
            return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}

        first = deploy()
        dynamodb.put_item(
            TableName=first["ConversationsTableName"],
            Item={"conversation_id": {"S": "C1:1.0"}, "timestamp": {"S": "1"}},
        )

        # When the stack is destroyed and deployed again
        cloudformation.delete_stack(StackName=name)
        second = deploy()

        # Then the second deploy succeeds with new resources, and the retained table (with its item) and archive
        # are still there to re-adopt or delete (README, Deploy)
        assert second["ConversationsTableName"] != first["ConversationsTableName"]
        assert second["ArchiveBucketName"] != first["ArchiveBucketName"]
        tables = dynamodb.list_tables()["TableNames"]
        assert {first["ConversationsTableName"], second["ConversationsTableName"]} <= set(tables)
        assert dynamodb.scan(TableName=first["ConversationsTableName"])["Count"] == 1
        buckets = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
        assert {first["ArchiveBucketName"], second["ArchiveBucketName"]} <= buckets
