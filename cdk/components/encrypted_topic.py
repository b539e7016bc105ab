"""An SNS topic encrypted with its own KMS key, which named AWS services may publish to."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


class EncryptedTopic(Construct):
    """Topic + customer-managed key (rotated). AWS Budgets, CloudWatch and Cost Anomaly Detection cannot
    publish to a topic under the AWS-managed `aws/sns` key, hence a key of our own whose policy lets exactly
    the `publishers` (service principals, from this account only) use it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        display_name: str,
        publishers: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the {topic_name} SNS topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        # The topic's id names its subscriptions under each subscriber: keep it unique per topic.
        self.topic = sns.Topic(
            self,
            f"{construct_id}Topic",
            topic_name=topic_name,
            display_name=display_name,
            master_key=self.key,
            enforce_ssl=True,
        )
        if not publishers:
            return
        principals = [iam.ServicePrincipal(publisher) for publisher in publishers]
        same_account = {"StringEquals": {"aws:SourceAccount": account}}
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlertPublishersToUseTheKey",
                principals=list(principals),
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, `*` is this key
                conditions=same_account,
            )
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlertPublishers",
                principals=list(principals),
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=same_account,
            )
        )
