"""StorageStack: the chat bot's Conversations table and the S3 archive of finished conversations.

Neither has a fixed physical name: CloudFormation generates one (`AlertIntel-<env>-Storage-Conversations...`), and
the functions receive it through cross-stack references (environment variables, IAM resources). The archive and
the prod table outlive `cdk destroy` (RETAIN); with fixed names the next deploy collided with them ("already
exists"), with generated names it creates new ones, and the retained ones can be re-adopted (`cdk import`, README
Deploy) or deleted. The stack outputs name both, so a retained resource can be found after its stack is gone (the
`project` and `environment` tags find them too).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.constants import (
    ARCHIVE_EXPIRE_DAYS,
    ARCHIVE_TO_GLACIER_DAYS,
    ARCHIVE_TO_INFREQUENT_ACCESS_DAYS,
    CONVERSATIONS_PARTITION_KEY,
    CONVERSATIONS_SORT_KEY,
    CONVERSATIONS_TTL_ATTRIBUTE,
    EnvironmentConfig,
)
from cdk.nag import acknowledge


class StorageStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        data_removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        self.conversations = dynamodb.Table(
            self,
            "Conversations",
            partition_key=dynamodb.Attribute(name=CONVERSATIONS_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=CONVERSATIONS_SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=CONVERSATIONS_TTL_ATTRIBUTE,
            # The archiver reads expiring items from the stream: OLD images carry the conversation.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=data_removal,
        )

        self.archive_bucket = s3.Bucket(
            self,
            "ConversationArchive",
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Never auto-deleted: an archive outlives the stack; the Deploy section says how to empty it.
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="archive-tiering",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(ARCHIVE_TO_INFREQUENT_ACCESS_DAYS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(ARCHIVE_TO_GLACIER_DAYS),
                        ),
                    ],
                    expiration=Duration.days(ARCHIVE_EXPIRE_DAYS),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        acknowledge(
            self.archive_bucket,
            "AwsSolutions-S1",
            "Server access logs would need a second bucket for a private archive only the archiver writes to; "
            "CloudTrail data events can be enabled on it if object-level audit is required.",
        )
        CfnOutput(
            self,
            "ConversationsTableName",
            value=self.conversations.table_name,
            description="The Conversations table (generated name; retained on destroy where retain_data is set)",
        )
        CfnOutput(
            self,
            "ArchiveBucketName",
            value=self.archive_bucket.bucket_name,
            description="The conversation archive (generated name; always retained on destroy)",
        )
