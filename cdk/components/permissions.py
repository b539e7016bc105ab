"""The design's permission list, as IAM statements: read-only evidence, one model, named secrets.

Resources are scoped to this account and region wherever the action supports it; the actions left on `*` are
reads whose API has no resource type (Cost Explorer, EC2 Describe*, CloudWatch metric reads, Lambda
ListFunctions, Health, Logs Insights query results) — the infrastructure tests check that no write action is.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from cdk.constants import EnvironmentConfig, foundation_model_id, is_inference_profile

_READ_SCOPED_REASON = (
    "Read-only actions scoped to this account (and region); which function, instance, alarm, log group, detector "
    "or budget to read comes from the alert under investigation, so it cannot be named in advance."
)
_MODEL_REASON = (
    "The foundation model behind this environment's cross-region inference profile, in whichever region the "
    "profile routes to, and only through that profile (condition bedrock:InferenceProfileArn)."
)
_ARCHIVE_REASON = "s3:PutObject under the archive's conversations/ prefix only: one object per conversation."


def wildcard_reason(resource: str) -> str:
    """Why a resource pattern written in this module ends in a wildcard (the text of its cdk-nag acknowledgment)."""
    if ":bedrock:" in resource:
        return _MODEL_REASON
    if ":s3:::" in resource:
        return _ARCHIVE_REASON
    return _READ_SCOPED_REASON


def _account_arn(stack: Stack, service: str, resource: str, region: str | None = None) -> str:
    return f"arn:{stack.partition}:{service}:{stack.region if region is None else region}:{stack.account}:{resource}"


def secret_arn(stack: Stack, secret_name: str) -> str:
    """ARN pattern of a secret created by name: Secrets Manager appends `-` and six random characters."""
    return _account_arn(stack, "secretsmanager", f"secret:{secret_name}-??????")


def read_secrets(stack: Stack, *secret_names: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["secretsmanager:GetSecretValue"],
        resources=[secret_arn(stack, name) for name in secret_names],
    )


def describe_pipeline_executions(stack: Stack, config: EnvironmentConfig) -> iam.PolicyStatement:
    """Recover reads a failed execution's input when EventBridge left it out of the event (it was large)."""
    return iam.PolicyStatement(
        actions=["states:DescribeExecution"],
        resources=[_account_arn(stack, "states", f"execution:{config.state_machine_name}:*")],
    )


def cost_reads(stack: Stack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            # Cost Explorer has no resource type for this read (billing views are optional and not named).
            actions=["ce:GetCostAndUsage"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            # ViewBudget also authorises DescribeBudgets / DescribeBudget.
            actions=["budgets:ViewBudget"],
            resources=[f"arn:{stack.partition}:budgets::{stack.account}:budget/*"],
        ),
    ]


def lambda_movers_reads() -> iam.PolicyStatement:
    """Finding the busiest Lambda functions (cost alerts: whose logs to read, which function moved). Neither
    action has a resource type."""
    return iam.PolicyStatement(actions=["lambda:ListFunctions", "cloudwatch:GetMetricData"], resources=["*"])


def function_reads(stack: Stack) -> iam.PolicyStatement:
    """lambda:GetFunction on the account's functions in this region. It returns each function's environment
    variables: accepted, because the investigation needs its configuration and the answer stays in this account's
    Slack (decision recorded in docs/decisions/0011-iam-enforcement-in-local-runs.md)."""
    return iam.PolicyStatement(actions=["lambda:GetFunction"], resources=[_account_arn(stack, "lambda", "function:*")])


def instance_reads() -> iam.PolicyStatement:
    # No resource type exists for these reads.
    return iam.PolicyStatement(actions=["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"], resources=["*"])


def compute_reads(stack: Stack) -> list[iam.PolicyStatement]:
    return [
        function_reads(stack),
        iam.PolicyStatement(
            actions=["securityhub:GetFindings"],
            resources=[_account_arn(stack, "securityhub", "hub/default")],
        ),
        iam.PolicyStatement(
            # Health events are global resources (`arn:aws:health:*::event/...`), read-only.
            actions=["health:DescribeAffectedEntities", "health:DescribeEventDetails"],
            resources=[f"arn:{stack.partition}:health:*::event/*"],
        ),
        # GuardDuty's reads have no resource type: IAM authorises them against `*` only.
        iam.PolicyStatement(actions=["guardduty:ListDetectors", "guardduty:ListFindings"], resources=["*"]),
        instance_reads(),
        lambda_movers_reads(),
        *queue_and_table_reads(stack),
    ]


def queue_and_table_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """The SQS, DynamoDB and Lambda-connection investigations: a queue's attributes (and its dead-letter queue's),
    a table's description, the event source mappings between them and their consumers, and a function's REPORT
    lines (memory used vs memory size) in its own log group."""
    return [
        iam.PolicyStatement(
            actions=["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues"],
            resources=[_account_arn(stack, "sqs", "*")],
        ),
        iam.PolicyStatement(actions=["dynamodb:DescribeTable"], resources=[_account_arn(stack, "dynamodb", "table/*")]),
        # Neither ListEventSourceMappings nor DescribeScalableTargets has a resource type.
        iam.PolicyStatement(
            actions=["lambda:ListEventSourceMappings", "application-autoscaling:DescribeScalableTargets"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            actions=["logs:FilterLogEvents"], resources=[_account_arn(stack, "logs", "log-group:/aws/lambda/*")]
        ),
    ]


def logs_reads(stack: Stack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            actions=["logs:StartQuery", "logs:GetQueryResults"],
            resources=[_account_arn(stack, "logs", "log-group:*")],
        ),
        iam.PolicyStatement(
            # DescribeLogGroups and StopQuery have no resource type; StopQuery only ends our own running
            # Logs Insights query (the gather stage stops a query that outlives its time bound).
            actions=["logs:DescribeLogGroups", "logs:StopQuery"],
            resources=["*"],
        ),
    ]


def log_context_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """The gather-logs stage: Logs Insights, plus the busiest function for a cost alert (whose logs to read), and
    a queue's consumer for a queue alarm (ListEventSourceMappings has no resource type; a dead-letter queue's
    consumer is its source queue's)."""
    return [
        *logs_reads(stack),
        lambda_movers_reads(),
        iam.PolicyStatement(actions=["lambda:ListEventSourceMappings"], resources=["*"]),
        iam.PolicyStatement(
            actions=["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues"],
            resources=[_account_arn(stack, "sqs", "*")],
        ),
    ]


def chat_tool_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """What the chat tools (functions/chat/aws_tools.py) read: cost, budgets, Lambda, EC2, metrics, logs. No
    Health, Security Hub or GuardDuty tool exists, so none of those reads is granted."""
    return [*cost_reads(stack), function_reads(stack), instance_reads(), lambda_movers_reads(), *logs_reads(stack)]


def invoke_model(stack: Stack, config: EnvironmentConfig) -> list[iam.PolicyStatement]:
    """bedrock:InvokeModel on the environment's model only.

    For a cross-region inference profile: the profile in this account, plus the foundation model in any region
    the profile routes to, but only when the call comes through that profile.
    """
    region = config.resolved_bedrock_region
    model_id = config.model_id
    if not is_inference_profile(model_id):
        return [
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[f"arn:{stack.partition}:bedrock:{region}::foundation-model/{model_id}"],
            )
        ]
    profile_arn = _account_arn(stack, "bedrock", f"inference-profile/{model_id}", region=region)
    return [
        iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[profile_arn]),
        iam.PolicyStatement(
            actions=["bedrock:InvokeModel"],
            resources=[f"arn:{stack.partition}:bedrock:*::foundation-model/{foundation_model_id(model_id)}"],
            conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile_arn}},
        ),
    ]


# The conversation store's calls (functions/shared/adapters/conversations.py), per caller: the worker loads a
# thread (Query), reads the alert it starts from (GetItem) and saves (PutItem); the events endpoint claims an
# event id (PutItem) and releases the claim when the hand-over fails (DeleteItem).
WORKER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem")
EVENTS_TABLE_ACTIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem")


def conversation_table_access(
    stack: Stack, config: EnvironmentConfig, actions: tuple[str, ...] = WORKER_TABLE_ACTIONS
) -> iam.PolicyStatement:
    """Item reads and writes on the Conversations table itself (no indexes, no scans, no table admin)."""
    return iam.PolicyStatement(
        actions=list(actions),
        resources=[_account_arn(stack, "dynamodb", f"table/{config.conversations_table_name}")],
    )


def alert_context_writes(stack: Stack, config: EnvironmentConfig) -> iam.PolicyStatement:
    """Post remembers each posted alert for the chat bot: one PutItem, nothing else on the table."""
    return iam.PolicyStatement(
        actions=["dynamodb:PutItem"],
        resources=[_account_arn(stack, "dynamodb", f"table/{config.conversations_table_name}")],
    )


def archive_writes(stack: Stack, config: EnvironmentConfig, prefix: str) -> iam.PolicyStatement:
    """s3:PutObject under the archive prefix only: the archiver never reads, lists or deletes."""
    return iam.PolicyStatement(
        actions=["s3:PutObject"],
        resources=[f"arn:{stack.partition}:s3:::{config.archive_bucket_name}/{prefix}*"],
    )
