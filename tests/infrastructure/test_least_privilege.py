"""IAM across every stack: per-function roles with exactly the design's actions, and no write on `*`."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from cdk.constants import FUNCTIONS_DIR
from tests.infrastructure.conftest import STACKS, Synthesis

# Every function role holds these: its own log group, and X-Ray tracing.
BASE_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
COST = {"ce:GetCostAndUsage", "ce:GetCostForecast", "ce:GetAnomalies", "budgets:ViewBudget"}
COMPUTE = {
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:ListFunctions",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:DescribeAlarms",
    "health:DescribeAffectedEntities",
    "health:DescribeEventDetails",
    "securityhub:GetFindings",
    "guardduty:GetFindings",
    "guardduty:ListFindings",
    "guardduty:ListDetectors",
}
LOGS = {"logs:StartQuery", "logs:GetQueryResults", "logs:StopQuery", "logs:DescribeLogGroups", "logs:FilterLogEvents"}
TABLE = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"}
DEAD_LETTERS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
STREAM = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}

EXPECTED_ACTIONS = {
    "ingest": {"states:StartExecution", *DEAD_LETTERS},
    "classify": set(),
    "gather_cost": COST,
    "gather_compute": COMPUTE,
    "gather_logs": LOGS,
    "analyze": {"bedrock:InvokeModel"},
    "format": set(),
    "post": {"secretsmanager:GetSecretValue", "dynamodb:PutItem"},
    "recover": {"secretsmanager:GetSecretValue", "states:DescribeExecution"},
    "chat_events": {"secretsmanager:GetSecretValue", "lambda:InvokeFunction", *TABLE},
    "chat_worker": {"secretsmanager:GetSecretValue", "bedrock:InvokeModel", *COST, *COMPUTE, *LOGS, *TABLE},
    "chat_archiver": {"s3:PutObject", *STREAM, *DEAD_LETTERS},
}

READ_VERBS = ("Get", "List", "Describe", "View", "BatchGet", "Filter", "Search", "Lookup")
# Write actions on `*`, each because the API accepts no narrower resource.
WRITES_ALLOWED_ON_ANY_RESOURCE = {
    "xray:PutTraceSegments": "X-Ray accepts only `*`",
    "xray:PutTelemetryRecords": "X-Ray accepts only `*`",
    "cloudwatch:PutMetricData": "accepts only `*` (the code emits EMF through logs instead)",
    "logs:StopQuery": "no resource type; stops a Logs Insights query the gather stage started",
    "logs:CreateLogDelivery": "Step Functions execution logging: vended log delivery accepts only `*`",
    "logs:UpdateLogDelivery": "Step Functions execution logging: vended log delivery accepts only `*`",
    "logs:DeleteLogDelivery": "Step Functions execution logging: vended log delivery accepts only `*`",
    "logs:PutResourcePolicy": "Step Functions execution logging: vended log delivery accepts only `*`",
}


def _statements(synthesis: Synthesis) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack, role logical id, statement) for every identity-policy statement in the app."""
    found = []
    for stack in STACKS:
        for resource in synthesis.resources(stack, "AWS::IAM::Policy").values():
            for role in resource["Properties"].get("Roles", []):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    found.append((stack, role["Ref"], statement))
        for logical_id, resource in synthesis.resources(stack, "AWS::IAM::Role").items():
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    found.append((stack, logical_id, statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions_by_function(synthesis: Synthesis) -> dict[str, set[str]]:
    role_of: dict[tuple[str, str], str] = {}
    for stack in STACKS:
        for resource in synthesis.resources(stack, "AWS::Lambda::Function").values():
            name = resource["Properties"]["FunctionName"]
            role_of[(stack, resource["Properties"]["Role"]["Fn::GetAtt"][0])] = name
    actions: dict[str, set[str]] = defaultdict(set)
    for stack, role, statement in _statements(synthesis):
        if (stack, role) in role_of:
            actions[role_of[(stack, role)]].update(_as_list(statement["Action"]))
    return actions


def test_each_function_role_holds_exactly_the_design_permissions(synthesis: Synthesis) -> None:
    # Given every function role's allowed actions
    actual = _actions_by_function(synthesis)

    # Then each is its base plus exactly the design's list for that function
    expected = {synthesis.config.function_name(key): BASE_ACTIONS | extra for key, extra in EXPECTED_ACTIONS.items()}
    assert dict(actual) == expected


def test_no_write_action_is_granted_on_every_resource(synthesis: Synthesis) -> None:
    # Given every Allow statement whose resources include `*`
    offending = []
    for stack, role, statement in _statements(synthesis):
        if statement["Effect"] != "Allow" or "*" not in _as_list(statement["Resource"]):
            continue
        for action in _as_list(statement["Action"]):
            verb = action.split(":", 1)[1]
            if not verb.startswith(READ_VERBS) and action not in WRITES_ALLOWED_ON_ANY_RESOURCE:
                offending.append((stack, role, action))

    # Then none of them is a write beyond the reviewed exceptions
    assert offending == []


def test_no_identity_policy_uses_an_action_wildcard_or_a_managed_policy_outside_api_logging(
    synthesis: Synthesis,
) -> None:
    wildcard_actions = [
        (stack, role, action)
        for stack, role, statement in _statements(synthesis)
        for action in _as_list(statement["Action"])
        if "*" in action
    ]
    assert wildcard_actions == []
    managed = {
        (stack, logical_id)
        for stack in STACKS
        for logical_id, role in synthesis.resources(stack, "AWS::IAM::Role").items()
        if role["Properties"].get("ManagedPolicyArns")
    }
    # API Gateway's account-level CloudWatch role is the only one (AmazonAPIGatewayPushToCloudWatchLogs).
    assert len(managed) == 1
    ((stack, logical_id),) = managed
    assert stack == "ChatHandler" and logical_id.startswith("SlackEventsApiCloudWatchRole")


def test_every_aws_read_the_adapters_declare_is_granted(synthesis: Synthesis) -> None:
    # Given each IAM action the adapters name when they call AWS (`aws_read("service:Action", ...)`)
    declared = set()
    for path in FUNCTIONS_DIR.rglob("*.py"):
        if "local_runner" not in path.parts:
            declared |= set(re.findall(r'aws_read\(\s*"([a-z0-9-]+:[A-Za-z]+)"', path.read_text()))
    declared.discard("sts:GetCallerIdentity")  # needs no permission
    assert declared, "expected the adapters to declare their reads"

    # Then the gather stages together, and the chat worker alone, may call each of them
    actions = _actions_by_function(synthesis)
    config = synthesis.config
    gathered = set().union(
        *(actions[config.function_name(key)] for key in ("gather_cost", "gather_compute", "gather_logs"))
    )
    assert declared - gathered == set()
    assert declared - actions[config.function_name("chat_worker")] == set()


def test_secrets_and_model_are_named_not_wildcarded(synthesis: Synthesis) -> None:
    # Given the resources of the secret and model statements
    resources: dict[str, list[str]] = defaultdict(list)
    for _stack, _role, statement in _statements(synthesis):
        for action in _as_list(statement["Action"]):
            if action in ("secretsmanager:GetSecretValue", "bedrock:InvokeModel"):
                resources[action] += [_flatten(r) for r in _as_list(statement["Resource"])]

    # Then each names one secret (plus Secrets Manager's random suffix) or this environment's model
    secrets = {re.sub(r".*:secret:", "", r) for r in resources["secretsmanager:GetSecretValue"]}
    assert secrets == {
        "alert-intel/slack-webhooks-??????",
        "alert-intel/slack-signing-secret-??????",
        "alert-intel/slack-bot-token-??????",
    }
    model = synthesis.config.model_id
    for resource in resources["bedrock:InvokeModel"]:
        assert resource.endswith(f"inference-profile/{model}") or resource.endswith(
            f"foundation-model/{model.removeprefix('us.')}"
        ), resource


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(_flatten(part) for part in value["Fn::Join"][1])
    if "Ref" in value:
        return f"<{value['Ref']}>"
    return "<token>"
