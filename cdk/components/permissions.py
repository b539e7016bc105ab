"""The design's permission list, as IAM statements: read-only evidence, one model, named secrets.

Resources are scoped to this account wherever the action supports it; the actions left on `*` are reads whose
API has no resource type (Cost Explorer, EC2 Describe*, CloudWatch metric reads, Lambda ListFunctions, Health,
Logs Insights query results) — the infrastructure tests check that no write action is. The evidence reads are
allowed in every region of the account (`arn:aws:logs:*:<account>:...`): the gather stages read where the alert's
resource is, which need not be the stack's region (docs/decisions/0015-reads-in-the-alerts-region.md). The
system's own resources (secrets, executions, the table, the model) stay in the stack's (or Bedrock's) region.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from cdk.constants import ARCHIVE_PREFIX, EnvironmentConfig, foundation_model_id, is_inference_profile

_READ_SCOPED_REASON = (
    "Read-only actions scoped to this account; which function, instance, alarm, log group, detector or budget to "
    "read, and in which region (the alert's), comes from the alert under investigation, so it cannot be named in "
    "advance."
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
    if ":s3:::" in resource or resource.endswith(f"/{ARCHIVE_PREFIX}*"):  # the bucket's ARN may be a reference
        return _ARCHIVE_REASON
    return _READ_SCOPED_REASON


def _account_arn(stack: Stack, service: str, resource: str, region: str | None = None) -> str:
    return f"arn:{stack.partition}:{service}:{stack.region if region is None else region}:{stack.account}:{resource}"


# The region of an evidence read: the alert's, whichever it is (decision 0015).
ANY_REGION = "*"


def evidence_arn(stack: Stack, service: str, resource: str) -> str:
    """A resource of this account that an investigation reads, in any region (where the alert's resource is)."""
    return _account_arn(stack, service, resource, region=ANY_REGION)


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
    """lambda:GetFunction on the account's functions, in any region. It returns each function's environment
    variables: accepted, because the investigation needs its configuration and the answer stays in this account's
    Slack (decision recorded in docs/decisions/0011-iam-enforcement-in-local-runs.md)."""
    return iam.PolicyStatement(actions=["lambda:GetFunction"], resources=[evidence_arn(stack, "lambda", "function:*")])


def instance_reads() -> iam.PolicyStatement:
    # No resource type exists for these reads.
    return iam.PolicyStatement(actions=["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"], resources=["*"])


def infrastructure_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """Databases, load balancers and Auto Scaling groups (`functions/shared/adapters/infrastructure.py`)."""
    return [
        iam.PolicyStatement(actions=["rds:DescribeDBInstances"], resources=[evidence_arn(stack, "rds", "db:*")]),
        iam.PolicyStatement(actions=["rds:DescribeDBClusters"], resources=[evidence_arn(stack, "rds", "cluster:*")]),
        # No resource type exists for these reads.
        iam.PolicyStatement(
            actions=[
                "rds:DescribeEvents",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeScalingActivities",
            ],
            resources=["*"],
        ),
    ]


def change_reads() -> iam.PolicyStatement:
    """What changed on the investigated resources: CloudTrail's management events (LookupEvents has no resource
    type, so IAM authorises it against `*` only): who called which write API on which resource, and when."""
    return iam.PolicyStatement(actions=["cloudtrail:LookupEvents"], resources=["*"])


def container_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """ECS services, clusters and their stopped tasks; customer state machines and their executions; API Gateway
    REST and HTTP APIs (integrations, stages). Read-only; which one comes from the alarm under investigation."""
    apis = f"arn:{stack.partition}:apigateway:{ANY_REGION}::"
    return [
        iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[evidence_arn(stack, "ecs", "service/*")]),
        iam.PolicyStatement(actions=["ecs:DescribeClusters"], resources=[evidence_arn(stack, "ecs", "cluster/*")]),
        # ListTasks is authorised on the cluster's container instances (ecs:cluster names the cluster).
        iam.PolicyStatement(actions=["ecs:ListTasks"], resources=[evidence_arn(stack, "ecs", "container-instance/*")]),
        iam.PolicyStatement(actions=["ecs:DescribeTasks"], resources=[evidence_arn(stack, "ecs", "task/*")]),
        # DescribeTaskDefinition and ListServices have no resource type.
        iam.PolicyStatement(actions=["ecs:DescribeTaskDefinition", "ecs:ListServices"], resources=["*"]),
        iam.PolicyStatement(
            actions=["states:DescribeStateMachine", "states:ListExecutions"],
            resources=[evidence_arn(stack, "states", "stateMachine:*")],
        ),
        iam.PolicyStatement(
            actions=["states:GetExecutionHistory"], resources=[evidence_arn(stack, "states", "execution:*")]
        ),
        # API Gateway authorises every read as apigateway:GET on the resource's path: the REST APIs' list (finding
        # an API by the name CloudWatch gives it) and what is under one REST or HTTP API.
        iam.PolicyStatement(actions=["apigateway:GET"], resources=[f"{apis}/restapis*", f"{apis}/apis/*"]),
    ]


def cost_drill_reads() -> iam.PolicyStatement:
    """The cost drill: NAT gateways (ranked by bytes processed), log groups (ranked by ingestion) and which buckets
    have S3 request metrics (ListMetrics). None of these actions has a resource type."""
    return iam.PolicyStatement(
        actions=["ec2:DescribeNatGateways", "logs:DescribeLogGroups", "cloudwatch:ListMetrics"], resources=["*"]
    )


def compute_reads(stack: Stack) -> list[iam.PolicyStatement]:
    return [
        function_reads(stack),
        *infrastructure_reads(stack),
        # A composite alarm's children (functions/shared/investigate/composite.py): their state, reason and metric.
        iam.PolicyStatement(
            actions=["cloudwatch:DescribeAlarms"], resources=[evidence_arn(stack, "cloudwatch", "alarm:*")]
        ),
        iam.PolicyStatement(
            actions=["securityhub:GetFindings"],
            resources=[evidence_arn(stack, "securityhub", "hub/default")],
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
        change_reads(),
        *container_reads(stack),
        cost_drill_reads(),
        *queue_and_table_reads(stack),
        stream_reads(stack),
        *cache_reads(stack),
        search_domain_reads(stack),
    ]


def queue_and_table_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """The SQS, DynamoDB and Lambda-connection investigations: a queue's attributes (and its dead-letter queue's),
    a table's description, the event source mappings between them and their consumers, and a function's REPORT
    lines (memory used vs memory size) in its own log group."""
    return [
        iam.PolicyStatement(
            actions=["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues"],
            resources=[evidence_arn(stack, "sqs", "*")],
        ),
        iam.PolicyStatement(actions=["dynamodb:DescribeTable"], resources=[evidence_arn(stack, "dynamodb", "table/*")]),
        # Neither ListEventSourceMappings nor DescribeScalableTargets has a resource type.
        iam.PolicyStatement(
            actions=["lambda:ListEventSourceMappings", "application-autoscaling:DescribeScalableTargets"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            actions=["logs:FilterLogEvents"], resources=[evidence_arn(stack, "logs", "log-group:/aws/lambda/*")]
        ),
    ]


def stream_reads(stack: Stack) -> iam.PolicyStatement:
    """The Kinesis investigation: a stream's summary (shards, mode, retention) and its enhanced fan-out consumers;
    its Lambda consumers come through ListEventSourceMappings (`queue_and_table_reads`)."""
    return iam.PolicyStatement(
        actions=["kinesis:DescribeStreamSummary", "kinesis:ListStreamConsumers"],
        resources=[evidence_arn(stack, "kinesis", "stream/*")],
    )


def cache_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """The ElastiCache investigation: a node (engine, node type, parameter group), its replication group (role,
    failover), its parameter group's maxmemory-policy and connection limit, and the event log of the last hours."""
    return [
        iam.PolicyStatement(
            actions=["elasticache:DescribeCacheClusters"], resources=[evidence_arn(stack, "elasticache", "cluster:*")]
        ),
        iam.PolicyStatement(
            actions=["elasticache:DescribeReplicationGroups"],
            resources=[evidence_arn(stack, "elasticache", "replicationgroup:*")],
        ),
        iam.PolicyStatement(
            actions=["elasticache:DescribeCacheParameters"],
            resources=[evidence_arn(stack, "elasticache", "parametergroup:*")],
        ),
        # DescribeEvents has no resource type: IAM authorises it against `*` only.
        iam.PolicyStatement(actions=["elasticache:DescribeEvents"], resources=["*"]),
    ]


def search_domain_reads(stack: Stack) -> iam.PolicyStatement:
    """The OpenSearch investigation: a domain's configuration (nodes, instance type, volume, engine, processing);
    its metrics come through GetMetricData."""
    return iam.PolicyStatement(
        actions=["es:DescribeDomain"],
        resources=[evidence_arn(stack, "es", "domain/*")],
    )


def logs_reads(stack: Stack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            actions=["logs:StartQuery", "logs:GetQueryResults"],
            resources=[evidence_arn(stack, "logs", "log-group:*")],
        ),
        iam.PolicyStatement(
            # DescribeLogGroups and StopQuery have no resource type; StopQuery only ends our own running
            # Logs Insights query (the gather stage stops a query that outlives its time bound).
            actions=["logs:DescribeLogGroups", "logs:StopQuery"],
            resources=["*"],
        ),
    ]


def log_source_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """Where an ECS service, an API or a state machine logs: its task definition's awslogs group, its backing
    Lambda function, the function its newest failed execution failed in (functions/shared/investigate/log_sources)."""
    apis = f"arn:{stack.partition}:apigateway:{ANY_REGION}::"
    return [
        iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[evidence_arn(stack, "ecs", "service/*")]),
        iam.PolicyStatement(actions=["ecs:DescribeTaskDefinition"], resources=["*"]),  # no resource type
        iam.PolicyStatement(
            actions=["states:ListExecutions"], resources=[evidence_arn(stack, "states", "stateMachine:*")]
        ),
        iam.PolicyStatement(
            actions=["states:GetExecutionHistory"], resources=[evidence_arn(stack, "states", "execution:*")]
        ),
        iam.PolicyStatement(actions=["apigateway:GET"], resources=[f"{apis}/restapis*", f"{apis}/apis/*"]),
    ]


def log_context_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """The gather-logs stage: Logs Insights, plus the busiest function for a cost alert (whose logs to read), where
    a resource without a log group of its own logs, and a queue's consumer for a queue alarm
    (ListEventSourceMappings has no resource type; a dead-letter queue's consumer is its source queue's)."""
    return [
        *logs_reads(stack),
        lambda_movers_reads(),
        *log_source_reads(stack),
        # A composite alarm's children: the first one in ALARM names the resource whose logs to read.
        iam.PolicyStatement(
            actions=["cloudwatch:DescribeAlarms"], resources=[evidence_arn(stack, "cloudwatch", "alarm:*")]
        ),
        iam.PolicyStatement(actions=["lambda:ListEventSourceMappings"], resources=["*"]),
        iam.PolicyStatement(
            actions=["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues"],
            resources=[evidence_arn(stack, "sqs", "*")],
        ),
    ]


def chat_tool_reads(stack: Stack) -> list[iam.PolicyStatement]:
    """What the chat tools (functions/chat/aws_tools.py) read: cost, budgets, Lambda, EC2, metrics, logs, and
    CloudTrail's recorded changes. No Health, Security Hub or GuardDuty tool exists, so none of those is granted."""
    return [
        *cost_reads(stack),
        function_reads(stack),
        instance_reads(),
        lambda_movers_reads(),
        *logs_reads(stack),
        change_reads(),
    ]


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
    table: dynamodb.ITable, actions: tuple[str, ...] = WORKER_TABLE_ACTIONS
) -> iam.PolicyStatement:
    """Item reads and writes on the Conversations table itself (no indexes, no scans, no table admin). The table's
    name is generated by CloudFormation (a redeploy after destroy must not collide with a retained table), so its
    ARN comes from the table, as a cross-stack reference."""
    return iam.PolicyStatement(actions=list(actions), resources=[table.table_arn])


def slack_action_grants(stack: Stack, config: EnvironmentConfig, table: dynamodb.ITable) -> list[iam.PolicyStatement]:
    """What a button click makes the chat worker do (functions/chat/actions.py): UpdateItem of an incident record
    (Acknowledge, Mute 1 h; the incident records only); for Analyze with AI, DescribeExecution of the alert's
    heartbeat run and of the on-demand run it starts (`ai-…`, to answer a second click), and StartExecution of the
    pipeline."""
    machine = config.state_machine_name
    return [
        incident_records(table, ("dynamodb:UpdateItem",)),
        iam.PolicyStatement(
            actions=["states:DescribeExecution"],
            resources=[
                _account_arn(stack, "states", f"execution:{machine}:heartbeat-*"),
                _account_arn(stack, "states", f"execution:{machine}:ai-*"),
            ],
        ),
        iam.PolicyStatement(
            actions=["states:StartExecution"],
            resources=[_account_arn(stack, "states", f"stateMachine:{machine}")],
        ),
    ]


# The incident records (functions/shared/adapters/conversations.py `incident`, `put_incident`, `update_incident`):
# "Check Incident" reads them before any investigation; Post reads them, writes a new incident's (conditional
# PutItem) and updates its own fields of an open one (UpdateItem) when it threads and edits a message.
INCIDENT_CHECK_ACTIONS = ("dynamodb:GetItem",)
INCIDENT_KEY_PREFIX = "incident#"  # functions/shared/adapters/conversations.py writes every record under it
INCIDENT_POST_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
# The claims of new incidents (`claim_incident`, decision 0020): "Check Incident" writes them (one conditional
# PutItem, the holder returned on failure), under a prefix of their own, so it can write no incident record.
INCIDENT_CLAIM_KEY_PREFIX = "incident-claim#"
INCIDENT_CLAIM_ACTIONS = ("dynamodb:PutItem",)


def incident_records(
    table: dynamodb.ITable, actions: tuple[str, ...], prefix: str = INCIDENT_KEY_PREFIX
) -> iam.PolicyStatement:
    """Item reads (and writes) of the incident records only (partition keys `incident#...`, or the claims'
    `incident-claim#...`) on the Conversations table; no Query, no Scan, no other item."""
    return iam.PolicyStatement(
        actions=list(actions),
        resources=[table.table_arn],
        conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*"]}},
    )


def alert_context_writes(table: dynamodb.ITable) -> iam.PolicyStatement:
    """Post remembers each posted alert for the chat bot: one PutItem, nothing else on the table."""
    return iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[table.table_arn])


def archive_writes(bucket: s3.IBucket, prefix: str) -> iam.PolicyStatement:
    """s3:PutObject under the archive prefix only: the archiver never reads, lists or deletes."""
    return iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{prefix}*")])
