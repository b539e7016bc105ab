"""Suggested `aws` CLI commands: built from botocore's service models, and every suggestion judged the same way.

An on-call engineer pastes a suggested command into a terminal that holds their credentials, so a command must be
safe to paste whatever text an alert, a log line or a model put into it.

* `build_command` constructs a command; it is never pasted together. The (service, operation) pair must be on the
  explicit read-only allowlist below, each option must be one that the operation has in botocore's model for it
  (the AWS CLI derives its options from the same model: `--` + `xform_name(member, "-")`), plus a few safe globals
  (`--region`, `--query`, `--max-items` where the CLI paginates), and each value is validated by its kind (Lambda
  function name, instance id, region, ...) and quoted with `shlex.quote`. A value that fails yields no command, and
  the result carries a line for the analysis's Unknowns instead.
* `check_command` judges a command someone else wrote (Claude, the chat bot): one `aws` invocation, no shell syntax,
  each option resolved the way the AWS CLI's argparse resolves it (so `--endpoint` is `--endpoint-url` and is
  rejected, like any abbreviation that could mean a forbidden option), no `file://`, `fileb://`, `http://` or
  `https://` anywhere in a token (the CLI reads such values from disk or the network), and an allowlisted operation
  that prints no secrets. An allowed command comes back re-rendered from its parsed tokens (full option names, each
  value quoted): that canonical form is what gets posted.
* `CommandFilter` applies the check to a whole analysis or answer: commands lists, and `aws ...` mentioned in prose
  (path-prefixed `aws` and `python -m awscli` included).

Operations whose output carries secrets (Lambda's `Environment`) are allowed only with a `--query` that provably
leaves those members out: the query's JMESPath is walked against the operation's output shape. A command without
one gets the operation's secret-free query added.

botocore's models load lazily, once per service (about 0.2-0.5 s each), and are cached for the process.
"""

from __future__ import annotations

import functools
import re
import shlex
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Literal

MAX_COMMAND_CHARS = 500
MAX_VALUE_CHARS = 1_024
UNSAFE_MARKER = "[unsafe command removed]"

Arity = Literal["flag", "one", "many"]

# --- The read-only allowlist -------------------------------------------------------------------------------------

# CLI service name -> (botocore service name, read-only operations as the CLI names them). Reads only: nothing here
# creates, changes, deletes, stops or invokes anything, and nothing prints a secret (see _SECRET_OUTPUT for the
# ones that do unless a --query leaves the secret out).
_READ_ONLY: dict[str, tuple[str, tuple[str, ...]]] = {
    "lambda": (
        "lambda",
        (
            "get-function",
            "get-function-configuration",
            "get-function-concurrency",
            "get-account-settings",
            "get-policy",
            "get-alias",
            "list-aliases",
            "list-event-source-mappings",
            "get-event-source-mapping",
            "list-versions-by-function",
            "list-functions",
            "get-function-event-invoke-config",
            "list-function-event-invoke-configs",
            "get-provisioned-concurrency-config",
            "list-provisioned-concurrency-configs",
            "list-tags",
        ),
    ),
    "logs": (
        "logs",
        (
            "describe-log-groups",
            "describe-log-streams",
            "filter-log-events",
            "get-log-events",
            "start-query",
            "get-query-results",
            "describe-queries",
            "describe-metric-filters",
            "describe-subscription-filters",
        ),
    ),
    "cloudwatch": (
        "cloudwatch",
        (
            "describe-alarms",
            "describe-alarm-history",
            "describe-alarms-for-metric",
            "get-metric-statistics",
            "get-metric-data",
            "list-metrics",
        ),
    ),
    "ec2": (
        "ec2",
        (
            "describe-instances",
            "describe-instance-status",
            "describe-instance-types",
            "describe-security-groups",
            "describe-security-group-rules",
            "describe-network-interfaces",
            "describe-subnets",
            "describe-vpcs",
            "describe-volumes",
            "describe-addresses",
            "describe-images",
            "describe-route-tables",
            "describe-nat-gateways",
            "describe-vpc-endpoints",
            "describe-flow-logs",
            "describe-availability-zones",
            "describe-regions",
            "get-console-output",
        ),
    ),
    "autoscaling": (
        "autoscaling",
        (
            "describe-auto-scaling-groups",
            "describe-auto-scaling-instances",
            "describe-scaling-activities",
            "describe-policies",
        ),
    ),
    "elbv2": (
        "elbv2",
        ("describe-load-balancers", "describe-target-groups", "describe-target-health", "describe-listeners"),
    ),
    "ce": (
        "ce",
        ("get-cost-and-usage", "get-cost-forecast", "get-anomalies", "get-anomaly-monitors", "get-dimension-values"),
    ),
    "budgets": (
        "budgets",
        (
            "describe-budgets",
            "describe-budget",
            "describe-notifications-for-budget",
            "describe-budget-performance-history",
        ),
    ),
    "health": ("health", ("describe-events", "describe-event-details", "describe-affected-entities")),
    "securityhub": ("securityhub", ("get-findings", "describe-hub", "get-enabled-standards")),
    "guardduty": ("guardduty", ("list-detectors", "get-detector", "list-findings", "get-findings")),
    "cloudtrail": ("cloudtrail", ("lookup-events", "describe-trails", "get-trail-status")),
    "s3api": (
        "s3",
        (
            "head-bucket",
            "head-object",
            "list-buckets",
            "list-objects-v2",
            "get-bucket-location",
            "get-bucket-notification-configuration",
            "get-public-access-block",
            "get-bucket-policy-status",
            "get-bucket-policy",
            "get-bucket-acl",
            "get-bucket-versioning",
            "get-bucket-lifecycle-configuration",
            "get-bucket-encryption",
            "get-bucket-logging",
            "get-bucket-tagging",
            "get-bucket-ownership-controls",
        ),
    ),
    "dynamodb": (
        "dynamodb",
        ("describe-table", "list-tables", "describe-time-to-live", "describe-continuous-backups", "describe-limits"),
    ),
    "sqs": ("sqs", ("get-queue-attributes", "get-queue-url", "list-queues", "list-dead-letter-source-queues")),
    "sns": ("sns", ("list-topics", "get-topic-attributes", "list-subscriptions-by-topic")),
    "rds": ("rds", ("describe-db-instances", "describe-db-clusters", "describe-events", "describe-db-log-files")),
    "ecs": ("ecs", ("describe-clusters", "describe-services", "describe-tasks", "list-tasks", "list-services")),
    "eks": ("eks", ("describe-cluster", "list-clusters", "list-nodegroups", "describe-nodegroup")),
    "stepfunctions": ("stepfunctions", ("list-executions", "describe-state-machine", "list-state-machines")),
    "apigateway": ("apigateway", ("get-rest-apis", "get-resources", "get-integration", "get-stage", "get-stages")),
    "apigatewayv2": ("apigatewayv2", ("get-apis", "get-integrations", "get-routes", "get-stage", "get-stages")),
    "iam": (
        "iam",
        ("get-role", "list-attached-role-policies", "list-role-policies", "get-policy", "get-policy-version"),
    ),
    "sts": ("sts", ("get-caller-identity",)),
    "cloudformation": (
        "cloudformation",
        ("describe-stacks", "describe-stack-events", "describe-stack-resources", "list-stack-resources"),
    ),
    "service-quotas": ("service-quotas", ("get-service-quota", "list-service-quotas")),
    "kinesis": ("kinesis", ("describe-stream-summary", "list-streams", "list-stream-consumers")),
    "opensearch": ("opensearch", ("describe-domain", "describe-domain-config", "list-domain-names")),
    "events": ("events", ("list-rules", "describe-rule", "list-targets-by-rule")),
    "elasticache": (
        "elasticache",
        ("describe-cache-clusters", "describe-replication-groups", "describe-cache-parameters", "describe-events"),
    ),
    "application-autoscaling": ("application-autoscaling", ("describe-scalable-targets", "describe-scaling-policies")),
    "ssm": ("ssm", ("describe-instance-information",)),
}

# Secret-free views of outputs that carry secrets: a function's environment variables often hold API keys and
# database passwords, and `get-function` also hands out a presigned URL to the code.
_LAMBDA_CONFIG_FIELDS = (
    "FunctionName: FunctionName, Runtime: Runtime, MemorySize: MemorySize, Timeout: Timeout, "
    "LastModified: LastModified, State: State, LastUpdateStatus: LastUpdateStatus, Version: Version"
)


@dataclass(frozen=True)
class _SecretOutput:
    members: frozenset[str]  # output members (at any depth) that carry secrets
    safe_query: str  # the --query added when a command has none
    why: str


_LAMBDA_ENVIRONMENT = "prints the function's environment variables, which often hold secrets"
_SECRET_OUTPUT: dict[tuple[str, str], _SecretOutput] = {
    ("lambda", "get-function-configuration"): _SecretOutput(
        frozenset({"Environment"}), "{" + _LAMBDA_CONFIG_FIELDS + "}", _LAMBDA_ENVIRONMENT
    ),
    ("lambda", "get-function"): _SecretOutput(
        frozenset({"Environment", "Code"}),
        "Configuration.{" + _LAMBDA_CONFIG_FIELDS + "}",
        _LAMBDA_ENVIRONMENT + " and a download link to its code",
    ),
    ("lambda", "list-functions"): _SecretOutput(
        frozenset({"Environment"}),
        "Functions[].{FunctionName: FunctionName, Runtime: Runtime, LastModified: LastModified}",
        "prints every function's environment variables, which often hold secrets",
    ),
    ("lambda", "list-versions-by-function"): _SecretOutput(
        frozenset({"Environment"}),
        "Versions[].{Version: Version, LastModified: LastModified, CodeSha256: CodeSha256, Description: Description}",
        "prints each version's environment variables, which often hold secrets",
    ),
}

# Reads that hand out secrets or credentials: "read-only" in AWS's sense, never something to paste in a channel.
# None of them is on the allowlist; naming them gives the reason it is refused.
_SECRET_OPERATIONS = frozenset(
    {
        ("secretsmanager", "get-secret-value"),
        ("secretsmanager", "batch-get-secret-value"),
        ("secretsmanager", "get-random-password"),
        ("ssm", "get-parameter"),
        ("ssm", "get-parameters"),
        ("ssm", "get-parameters-by-path"),
        ("ssm", "get-parameter-history"),
        ("ecr", "get-login-password"),
        ("ecr", "get-login"),
        ("ecr", "get-authorization-token"),
        ("ecr-public", "get-login-password"),
        ("ecr-public", "get-authorization-token"),
        ("codeartifact", "get-authorization-token"),
        ("sts", "get-session-token"),
        ("sts", "get-federation-token"),
        ("sts", "assume-role"),
        ("sts", "assume-role-with-saml"),
        ("sts", "assume-role-with-web-identity"),
        ("sso", "get-role-credentials"),
        ("cognito-identity", "get-credentials-for-identity"),
        ("cognito-identity", "get-open-id-token"),
        ("cognito-identity", "get-open-id-token-for-developer-identity"),
        ("ec2", "get-password-data"),
        ("ec2", "describe-instance-attribute"),  # user data, often with bootstrap secrets
        ("ec2", "get-launch-template-data"),
        ("ec2", "describe-launch-template-versions"),
        ("s3api", "get-object"),
        ("s3", "presign"),
        ("redshift", "get-cluster-credentials"),
        ("redshift", "get-cluster-credentials-with-iam"),
        ("redshift-serverless", "get-credentials"),
        ("eks", "get-token"),
        ("lightsail", "get-instance-access-details"),
        ("lightsail", "get-relational-database-master-user-password"),
        ("lightsail", "download-default-key-pair"),
        ("rds", "generate-db-auth-token"),
        ("lambda", "get-function-url-config"),
        ("lambda", "get-layer-version"),
        ("lambda", "get-layer-version-by-arn"),
        ("ecs", "describe-task-definition"),
        ("batch", "describe-job-definitions"),
        ("glue", "get-connection"),
        ("glue", "get-connections"),
        ("apigateway", "get-api-key"),
        ("apigateway", "get-api-keys"),
        ("appsync", "list-api-keys"),
        ("gamelift", "get-instance-access"),
        ("gamelift", "get-compute-access"),
        ("emr", "get-cluster-session-credentials"),
        ("iam", "get-credential-report"),
    }
)
# Operation names that mint or reveal credentials in any service.
_SECRET_OPERATION_NAME = re.compile(
    r"credential|password|token|secret-value|login|access-details|key-pair|data-key|presign|instance-access"
)

# --- Options -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    name: str  # "--function-name"
    arity: Arity
    forbidden: str = ""  # why the option is refused; empty when allowed
    shape: Any = None  # the botocore shape of the operation's input member, for model options


def _opt(name: str, arity: Arity, forbidden: str = "") -> tuple[str, _Option]:
    return name, _Option(name, arity, forbidden)


# Every global option of AWS CLI v1 and v2: the CLI's top-level parser resolves each `--x` token against these
# before anything else, wherever it appears, and accepts any unambiguous prefix.
_GLOBAL_OPTIONS: dict[str, _Option] = dict(
    [
        _opt("--region", "one"),
        _opt("--output", "one"),
        _opt("--query", "one"),
        _opt("--color", "one"),
        _opt("--cli-read-timeout", "one"),
        _opt("--cli-connect-timeout", "one"),
        _opt("--no-paginate", "flag"),
        _opt("--endpoint-url", "one", "points the CLI at another host, which receives signed requests"),
        _opt("--profile", "one", "switches to other credentials"),
        _opt("--ca-bundle", "one", "replaces the certificates that authenticate AWS"),
        _opt("--no-verify-ssl", "flag", "turns off TLS verification"),
        _opt("--debug", "flag", "prints credentials and request signatures"),
        _opt("--v2-debug", "flag", "is not a diagnostic"),
        _opt("--no-sign-request", "flag", "is not a diagnostic"),
        _opt("--version", "flag", "is not a diagnostic"),
        _opt("--cli-binary-format", "one", "changes how values are read"),
        _opt("--cli-auto-prompt", "flag", "is interactive"),
        _opt("--no-cli-auto-prompt", "flag", "is not a diagnostic"),
        _opt("--no-cli-pager", "flag", "is not an AWS CLI v1 option"),
    ]
)

# Options the CLI adds to every operation (and the ones it adds to paginated operations).
_OPERATION_EXTRAS: dict[str, _Option] = dict(
    [
        _opt("--cli-input-json", "one", "reads the whole request from an argument or file"),
        _opt("--cli-input-yaml", "one", "reads the whole request from an argument or file"),
        _opt("--generate-cli-skeleton", "one", "is not a diagnostic"),
    ]
)
_PAGINATION_OPTIONS: dict[str, _Option] = dict(
    [_opt("--max-items", "one"), _opt("--page-size", "one"), _opt("--starting-token", "one")]
)

_OUTPUT_FORMATS = frozenset({"json", "text", "table", "yaml", "yaml-stream"})

# `aws s3 ls` is the CLI's own command, not an API operation, so botocore has no model of it: its options by hand.
_S3_LS_OPTIONS: dict[str, _Option] = dict(
    [
        _opt("--recursive", "flag"),
        _opt("--human-readable", "flag"),
        _opt("--summarize", "flag"),
        _opt("--page-size", "one"),
        _opt("--request-payer", "one"),
        _opt("--bucket-name-prefix", "one"),
        _opt("--bucket-region", "one"),
    ]
)

# --- botocore models, loaded lazily -------------------------------------------------------------------------------


@functools.cache
def _session() -> Any:
    import botocore.session  # imported here: only a stage that builds or checks commands pays for it

    return botocore.session.get_session()


@functools.cache
def _service_model(service: str) -> Any:
    return _session().get_service_model(service)


@functools.cache
def _operation_names(service: str) -> dict[str, str]:
    """CLI operation name -> botocore operation name, e.g. "get-function" -> "GetFunction"."""
    from botocore import xform_name

    return {xform_name(name, "-"): name for name in _service_model(service).operation_names}


@functools.cache
def _paginated(service: str, operation_name: str) -> bool:
    try:
        _session().get_paginator_model(service).get_paginator(operation_name)
    except Exception:  # no paginator model for the service, or none for the operation
        return False
    return True


@dataclass(frozen=True)
class _Operation:
    service: str  # as the CLI names it
    operation: str
    options: dict[str, _Option]
    output_shape: Any = None
    positional: Callable[[str], bool] | None = None  # `s3 ls` takes one S3 URI


@functools.lru_cache(maxsize=512)  # bounded: the names come from model output
def _operation(service: str, operation: str) -> _Operation | None:
    """The allowlisted operation with every option the CLI gives it, or None when it is not allowlisted."""
    if (service, operation) == ("s3", "ls"):
        return _Operation(service, operation, {**_S3_LS_OPTIONS}, positional=_is_s3_uri)
    entry = _READ_ONLY.get(service)
    if entry is None or operation not in entry[1]:
        return None
    from botocore import xform_name

    botocore_service = entry[0]
    name = _operation_names(botocore_service).get(operation)
    if name is None:
        return None
    model = _service_model(botocore_service).operation_model(name)
    options: dict[str, _Option] = dict(_OPERATION_EXTRAS)
    members = model.input_shape.members if model.input_shape is not None else {}
    for member, shape in members.items():
        cli = "--" + xform_name(member, "-")
        if shape.type_name == "boolean":
            options[cli] = _Option(cli, "flag", shape=shape)
            options["--no-" + cli[2:]] = _Option("--no-" + cli[2:], "flag", shape=shape)
        else:
            options[cli] = _Option(cli, "many" if shape.type_name == "list" else "one", shape=shape)
    if _paginated(botocore_service, name):
        options.update(_PAGINATION_OPTIONS)
    return _Operation(service, operation, options, output_shape=model.output_shape)


def allowlisted_operations() -> list[tuple[str, str]]:
    """Every (service, operation) a command may use, as the CLI names them."""
    return [("s3", "ls")] + [(service, op) for service, (_, ops) in _READ_ONLY.items() for op in ops]


# --- Values --------------------------------------------------------------------------------------------------------

_SCHEME = re.compile(r"fileb?://|https?://", re.IGNORECASE)


def value_problem(value: str) -> str:
    """Why `value` cannot appear in a pasted command ("" when it can), whatever option it belongs to."""
    if len(value) > MAX_VALUE_CHARS:
        return "is too long"
    if not value.isprintable():
        return "holds a control or non-printable character"
    if "\\" in value:
        return "holds a backslash"
    if value.startswith("-"):
        return "starts with '-', so the CLI would read it as an option"
    if _SCHEME.search(value):
        return "holds a file:// or http(s):// reference, which the CLI would read"
    return ""


class ValueKind(Enum):
    """What a value must be. `noun` names the value in an Unknowns line, `description` what it failed to be."""

    LAMBDA_FUNCTION = ("function name", "Lambda function name")
    EC2_INSTANCE = ("instance id", "EC2 instance id")
    REGION = ("region", "AWS region")
    LOG_GROUP = ("log group", "CloudWatch Logs log group name")
    ALARM_NAME = ("alarm name", "CloudWatch alarm name")
    BUCKET = ("bucket", "S3 bucket name")
    ARN = ("ARN", "ARN")
    ACCOUNT_ID = ("account id", "AWS account id")
    DATE = ("date", "date (YYYY-MM-DD)")
    EPOCH_MS = ("timestamp", "timestamp in epoch milliseconds")
    INTEGER = ("number", "whole number")
    WORD = ("value", "plain value")
    SHORTHAND = ("value", "shorthand value")
    PATTERN = ("filter pattern", "filter pattern")
    QUERY = ("query", "JMESPath query")

    def __init__(self, noun: str, description: str) -> None:
        self.noun = noun
        self.description = description


_FUNCTION_NAME = re.compile(
    r"(?:arn:aws[a-z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:function:)?[A-Za-z0-9_-]{1,64}"
    r"(?::[A-Za-z0-9_$-]{1,128})?"
)
_PATTERNS: dict[ValueKind, re.Pattern[str]] = {
    ValueKind.LAMBDA_FUNCTION: _FUNCTION_NAME,
    ValueKind.EC2_INSTANCE: re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})"),
    ValueKind.REGION: re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"),
    ValueKind.LOG_GROUP: re.compile(r"[A-Za-z0-9_/.#-]{1,512}"),
    ValueKind.BUCKET: re.compile(r"(?=.{3,63}\Z)[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    ValueKind.ARN: re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12}|aws)?:[A-Za-z0-9_+=,.@/:-]{1,1024}"),
    ValueKind.ACCOUNT_ID: re.compile(r"\d{12}"),
    ValueKind.DATE: re.compile(r"\d{4}-\d{2}-\d{2}"),
    ValueKind.EPOCH_MS: re.compile(r"\d{1,16}"),
    ValueKind.INTEGER: re.compile(r"\d{1,12}"),
    ValueKind.WORD: re.compile(r"[A-Za-z0-9_.:-]{1,128}"),
    ValueKind.SHORTHAND: re.compile(r"[A-Za-z0-9_.:,=/-]{1,512}"),
}


def kind_problem(value: str, kind: ValueKind) -> str:
    """Why `value` is not a valid `kind` ("" when it is)."""
    generic = value_problem(value)
    pattern = _PATTERNS.get(kind)
    if pattern is not None and not pattern.fullmatch(value):
        return f"not a valid {kind.description}" + (f" (it {generic})" if generic else "")
    if generic:
        return f"not a valid {kind.description} (it {generic})"
    if kind is ValueKind.DATE:
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"not a valid {kind.description}"
    if kind is ValueKind.ALARM_NAME and not 0 < len(value) <= 255:
        return f"not a valid {kind.description}"
    if kind is ValueKind.PATTERN and len(value) > 256:
        return f"not a valid {kind.description}"
    if kind is ValueKind.QUERY and _parse_query(value) is None:
        return f"not a valid {kind.description}"
    return ""


def _is_s3_uri(value: str) -> bool:
    if not value.startswith("s3://"):
        return False
    bucket, _, prefix = value[5:].partition("/")
    return not bucket or (bool(_PATTERNS[ValueKind.BUCKET].fullmatch(bucket)) and not value_problem(prefix))


def shown(value: str, limit: int = 60) -> str:
    """`value` for a message: each invisible or control character shown as its escape (`\\n`, `\\u202e`), shortened."""
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in value)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


# --- Queries -------------------------------------------------------------------------------------------------------


def _parse_query(query: str) -> dict[str, Any] | None:
    import jmespath.parser  # botocore's own dependency

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # backtick string literals are deprecated, and still valid
            return dict(jmespath.parser.Parser().parse(query).parsed)
    except Exception:  # any JMESPath syntax error
        return None


class _SecretReached(Exception):
    pass


@dataclass(frozen=True)
class _ListOf:
    item: Any


_SAFE = object()  # a value known to hold no secret (a literal, a count, a checked multi-select)


def _contains_secret(value: Any, secrets: frozenset[str], seen: frozenset[int] = frozenset()) -> bool:
    if value is None or value is _SAFE:
        return False
    if isinstance(value, _ListOf):
        return _contains_secret(value.item, secrets, seen)
    if id(value) in seen:
        return False
    seen = seen | {id(value)}
    kind = getattr(value, "type_name", "")
    if kind == "structure":
        return any(name in secrets or _contains_secret(member, secrets, seen) for name, member in value.members.items())
    if kind == "list":
        return _contains_secret(value.member, secrets, seen)
    if kind == "map":
        return _contains_secret(value.value, secrets, seen)
    return False


def _element(value: Any) -> Any:
    if isinstance(value, _ListOf):
        return value.item
    if getattr(value, "type_name", "") == "list":
        return value.member
    return None


def _is_list(value: Any) -> bool:
    return isinstance(value, _ListOf) or getattr(value, "type_name", "") == "list"


_ORDERING_FUNCTIONS = frozenset({"sort", "sort_by", "reverse", "not_null"})
_PICKING_FUNCTIONS = frozenset({"min_by", "max_by"})
_SCALAR_FUNCTIONS = frozenset({"length", "type", "contains", "starts_with", "ends_with", "keys"})


def _evaluate(node: dict[str, Any], current: Any, secrets: frozenset[str]) -> Any:
    """The shape `node` yields from `current`; raises _SecretReached if a secret member could reach the output."""
    kind = node["type"]
    children: list[dict[str, Any]] = node.get("children", [])
    if kind == "field":
        if node["value"] in secrets:
            raise _SecretReached(node["value"])
        type_name = getattr(current, "type_name", "")
        if type_name == "structure":
            return current.members.get(node["value"])
        return current.value if type_name == "map" else None
    if kind in ("current", "identity"):
        return current
    if kind == "literal":
        return _SAFE
    if kind in ("subexpression", "pipe"):
        left = _evaluate(children[0], current, secrets)
        return _evaluate(children[1], left, secrets)
    if kind == "index_expression":
        left = _evaluate(children[0], current, secrets)
        return left if children[1]["type"] == "slice" else _element(left)
    if kind in ("index", "slice"):
        return current
    if kind == "flatten":
        inner = _evaluate(children[0], current, secrets)
        element = _element(inner)
        return _ListOf(_element(element)) if _is_list(element) else inner
    if kind in ("projection", "filter_projection"):
        left = _evaluate(children[0], current, secrets)
        element = _element(left)
        if kind == "filter_projection":
            _evaluate(children[2], element, secrets)
        return _ListOf(_evaluate(children[1], element, secrets)) if _is_list(left) else None
    if kind == "value_projection":
        left = _evaluate(children[0], current, secrets)
        if _contains_secret(left, secrets):
            raise _SecretReached("*")
        return _ListOf(_SAFE)
    if kind in ("multi_select_dict", "multi_select_list"):
        for child in children:
            value = _evaluate(child["children"][0] if child["type"] == "key_val_pair" else child, current, secrets)
            if _contains_secret(value, secrets):
                raise _SecretReached(kind)
        return _SAFE
    if kind in ("comparator", "not_expression"):
        for child in children:
            _evaluate(child, current, secrets)
        return _SAFE
    if kind in ("or_expression", "and_expression"):
        values = [_evaluate(child, current, secrets) for child in children]
        return next((v for v in values if _contains_secret(v, secrets)), values[-1])
    if kind == "expref":
        return _evaluate(children[0], current, secrets)
    if kind == "function_expression":
        return _evaluate_function(node["value"], children, current, secrets)
    raise _SecretReached(kind)  # a construct this walk does not know: assume the worst


def _evaluate_function(name: str, args: list[dict[str, Any]], current: Any, secrets: frozenset[str]) -> Any:
    first = _evaluate(args[0], current, secrets) if args else None
    values = [first]
    for arg in args[1:]:
        # An expression argument (`&Field`) runs against the elements of the first argument.
        values.append(_evaluate(arg, _element(first) if arg["type"] == "expref" else current, secrets))
    if name in _SCALAR_FUNCTIONS:
        return _SAFE
    if name in _ORDERING_FUNCTIONS:
        return first
    if name in _PICKING_FUNCTIONS:
        return _element(first)
    if name == "map" and len(values) == 2:
        return _ListOf(_evaluate(args[0]["children"][0], _element(values[1]), secrets))
    if any(_contains_secret(v, secrets) for v in values):
        raise _SecretReached(name)
    return _SAFE


def query_problem(query: str, service: str = "", operation: str = "") -> str:
    """Why `query` cannot go with `service operation` ("" when it can): invalid, or it could print a secret."""
    parsed = _parse_query(query)
    if parsed is None:
        return "--query is not a valid JMESPath expression"
    secret = _SECRET_OUTPUT.get((service, operation))
    if secret is None:
        return ""
    op = _operation(service, operation)
    try:
        result = _evaluate(parsed, op.output_shape if op else None, secret.members)
        if _contains_secret(result, secret.members):
            raise _SecretReached("result")
    except _SecretReached:
        return f"--query does not leave out {', '.join(sorted(secret.members))}: {service} {operation} {secret.why}"
    return ""


# --- Building ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opt:
    """One option of a command to build: a value (or values) of a kind, or a flag (`values` True/False)."""

    name: str
    values: tuple[str, ...] | bool
    kind: ValueKind = ValueKind.WORD


def opt(name: str, value: str | int | Sequence[str], kind: ValueKind = ValueKind.WORD) -> Opt:
    values = (str(value),) if isinstance(value, str | int) else tuple(str(v) for v in value)
    return Opt(name, values, kind)


def flag(name: str, on: bool = True) -> Opt:
    return Opt(name, on)


@dataclass(frozen=True)
class BuiltCommand:
    """A command ready to paste, or None and the line that says why under Unknowns."""

    command: str | None
    tokens: tuple[str, ...] = ()
    unknown: str | None = None


def _refused(value: str, kind: ValueKind, problem: str) -> BuiltCommand:
    return BuiltCommand(None, unknown=f"No diagnostic command for {kind.noun} '{shown(value)}': {problem}")


def build_command(
    service: str,
    operation: str,
    *options: Opt,
    region: str | None = None,
    query: str | None = None,
    max_items: int | None = None,
) -> BuiltCommand:
    """`aws <service> <operation> <options> [--query ...] [--max-items N] [--region R]`, or why there is none.

    Never raises: an operation off the allowlist or an option its model does not have is a bug in the caller and
    comes back as an Unknowns line like an invalid value does.
    """
    try:
        op = _operation(service, operation)
    except Exception as exc:  # a model that fails to load
        return BuiltCommand(None, unknown=f"No diagnostic command: {service} {operation} unavailable ({exc})")
    if op is None:
        return BuiltCommand(None, unknown=f"No diagnostic command: {service} {operation} is not on the allowlist")
    tokens = ["aws", service, operation]
    for option in options:
        spec = op.options.get(option.name)
        if spec is None or spec.forbidden:
            return BuiltCommand(None, unknown=f"No diagnostic command: {service} {operation} has no {option.name}")
        if isinstance(option.values, bool):
            if spec.arity != "flag":
                return BuiltCommand(None, unknown=f"No diagnostic command: {option.name} takes a value")
            tokens.append(option.name if option.values else "--no-" + option.name[2:])
            continue
        if spec.arity == "flag" or not option.values or (spec.arity == "one" and len(option.values) > 1):
            return BuiltCommand(None, unknown=f"No diagnostic command: {option.name} takes {spec.arity} value")
        for value in option.values:
            problem = kind_problem(value, option.kind)
            if problem:
                return _refused(value, option.kind, problem)
        tokens += [option.name, *option.values]
    secret = _SECRET_OUTPUT.get((service, operation))
    if query is None and secret is not None:
        query = secret.safe_query
    if query is not None:
        problem = kind_problem(query, ValueKind.QUERY) or query_problem(query, service, operation)
        if problem:
            return _refused(query, ValueKind.QUERY, problem)
        tokens += ["--query", query]
    if max_items is not None:
        if "--max-items" not in op.options:
            return BuiltCommand(None, unknown=f"No diagnostic command: {service} {operation} does not paginate")
        tokens += ["--max-items", str(int(max_items))]
    if region is not None:
        problem = kind_problem(region, ValueKind.REGION)
        if problem:
            return _refused(region, ValueKind.REGION, problem)
        tokens += ["--region", region]
    command = " ".join(shlex.quote(t) for t in tokens)
    # Defence in depth: what was built must pass the check every other suggestion passes, unchanged.
    verdict = check_command(command)
    if not verdict.allowed or verdict.canonical != command:
        return BuiltCommand(None, unknown=f"No diagnostic command: {service} {operation} ({verdict.reason})")
    return BuiltCommand(command, tuple(tokens))


# --- Checking ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandVerdict:
    command: str
    allowed: bool
    reason: str = ""
    # The command as it is posted: parsed tokens re-rendered with full option names and quoted values (and the
    # secret-free --query added when the operation needs one). None when not allowed.
    canonical: str | None = None
    # True when the canonical form adds a --query that leaves secrets out: prose quoting the original is unsafe.
    rewritten: bool = False
    # With `in_text`: the words after the command, which are the sentence going on.
    rest: tuple[str, ...] = ()


# Outside quotes these start shell syntax (chaining, pipes, redirection, substitution, globbing, escapes).
_UNQUOTED_SHELL_CHARS = set(";&|<>()$`\\{}*?!#~\n\r")
# Inside double quotes the shell still expands these.
_DOUBLE_QUOTED_SHELL_CHARS = set("$`\\!\n\r")


def _shell_syntax_problem(text: str) -> str:
    quote: str | None = None
    for char in text:
        if quote == "'":
            if char == "'":
                quote = None
            elif char in "\n\r":
                return "multi-line command"
            continue
        if quote == '"':
            if char == '"':
                quote = None
            elif char in _DOUBLE_QUOTED_SHELL_CHARS:
                return f"shell metacharacter {char!r}"
            continue
        if char in "'\"":
            quote = char
        elif char in _UNQUOTED_SHELL_CHARS:
            return f"shell metacharacter {char!r}"
    return "unbalanced quotes" if quote else ""


def _resolve(name: str, table: dict[str, _Option]) -> _Option | str | None:
    """`name` as argparse resolves it against `table`: the option, a reason to refuse it, or None (unknown).

    argparse takes an exact match, else the one option that starts with `name`; more than one is an error. An
    abbreviation that could mean a forbidden option is refused even when this table makes it ambiguous: another
    CLI version may have only the forbidden one.
    """
    exact = table.get(name)
    if exact is not None:
        return exact
    candidates = [option for option_name, option in table.items() if option_name.startswith(name)]
    forbidden = next((o for o in candidates if o.forbidden), None)
    if forbidden is not None:
        return f"{name} abbreviates {forbidden.name}, which {forbidden.forbidden}"
    if len(candidates) > 1:
        return f"{name} is ambiguous ({', '.join(sorted(o.name for o in candidates))})"
    return candidates[0] if candidates else None


def _refuse(command: str, reason: str) -> CommandVerdict:
    return CommandVerdict(command, False, reason)


def _operation_problem(service: str, operation: str) -> str:
    if (service, operation) in _SECRET_OPERATIONS or _SECRET_OPERATION_NAME.search(operation):
        return f"{service} {operation} reveals secrets or credentials"
    if service == "s3" and operation != "ls":
        return f"s3 {operation} is not read-only"
    return ""


def _option_value_problem(option: _Option, values: list[str], service: str, operation: str) -> str:
    for value in values:
        problem = value_problem(value)
        if problem:
            return f"{option.name} value {problem}"
    value = values[0] if values else ""
    if option.name == "--region" and kind_problem(value, ValueKind.REGION):
        return "--region is not a valid AWS region"
    if option.name == "--output" and value not in _OUTPUT_FORMATS:
        return "--output is not an output format"
    if option.name == "--color" and value not in ("on", "off", "auto"):
        return "--color is not on, off or auto"
    numeric = ("--cli-read-timeout", "--cli-connect-timeout", "--max-items", "--page-size")
    if option.name in numeric and not value.isdigit():
        return f"{option.name} is not a whole number"
    if option.name == "--query":
        return query_problem(value, service, operation)
    type_name = getattr(option.shape, "type_name", "")
    if type_name in ("integer", "long") and not re.fullmatch(r"-?\d{1,19}", value):
        return f"{option.name} is not a whole number"
    return ""


def check_command(command: str, *, in_text: bool = False) -> CommandVerdict:
    """Decide whether `command` is a single read-only `aws` CLI invocation safe to paste.

    With `in_text`, `command` was found in prose: plain words after the command are the sentence going on, not
    arguments, as long as none of them looks like an option or a file or URL reference.
    """
    text = command.strip()
    if not text:
        return _refuse(command, "empty")
    if len(text) > MAX_COMMAND_CHARS:
        return _refuse(command, "too long")
    shell_problem = _shell_syntax_problem(text)
    if shell_problem:
        return _refuse(command, shell_problem)
    if not text.isprintable():
        return _refuse(command, "holds a control or non-printable character")
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError as exc:
        return _refuse(command, f"unparseable ({exc})")
    if not tokens or tokens[0] != "aws":
        return _refuse(command, "not an aws CLI command")
    # aws [globals] <service> <operation> [options]: the CLI takes its first two words as service and operation.
    parsed: list[tuple[_Option, list[str]]] = []
    index = 1
    positional: list[str] = []
    while index < len(tokens) and len(positional) < 2:
        token = tokens[index]
        if not token.startswith("-"):
            positional.append(token)
            index += 1
            continue
        step = _take_option(tokens, index, {}, parsed)
        if isinstance(step, str):
            return _refuse(command, step)
        index = step
    if len(positional) < 2:
        return _refuse(command, "no service and operation")
    service, operation = positional
    problem = _operation_problem(service, operation)
    if problem:
        return _refuse(command, problem)
    try:
        op = _operation(service, operation)
    except Exception as exc:  # a botocore model that fails to load
        return _refuse(command, f"{service} {operation} could not be checked ({exc})")
    if op is None:
        return _refuse(command, f"{service} {operation} is not a read-only operation on the allowlist")
    path: list[str] = []
    rest: tuple[str, ...] = ()
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("-"):
            step = _take_option(tokens, index, op.options, parsed)
            if isinstance(step, str):
                return _refuse(command, step)
            index = step
            continue
        if op.positional is not None and not path:
            if not op.positional(token):
                return _refuse(command, f"{token[:60]!r} is not a valid S3 URI")
            path.append(token)
            index += 1
            continue
        if in_text:
            problem = _tail_problem(tokens[index:])
            if problem:
                return _refuse(command, problem)
            rest = tuple(tokens[index:])
            break
        return _refuse(command, f"unexpected argument {token[:60]!r}")
    names = [option.name for option, _ in parsed]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        return _refuse(command, f"{duplicate} given twice")
    for option, values in parsed:
        problem = _option_value_problem(option, values, service, operation)
        if problem:
            return _refuse(command, problem)
    canonical = ["aws", service, operation, *path]
    for option, values in parsed:
        canonical += [option.name, *values]
    secret = _SECRET_OUTPUT.get((service, operation))
    rewritten = secret is not None and "--query" not in names
    if rewritten and secret is not None:
        canonical += ["--query", secret.safe_query]
    return CommandVerdict(
        command, True, canonical=" ".join(shlex.quote(t) for t in canonical), rewritten=rewritten, rest=rest
    )


def _take_option(
    tokens: list[str], index: int, operation_options: dict[str, _Option], parsed: list[tuple[_Option, list[str]]]
) -> int | str:
    """Resolve the option at `tokens[index]` with its values into `parsed`; the next index, or why it is refused."""
    token = tokens[index]
    if token == "--" or not token.startswith("--"):
        return f"{token[:60]!r} is not an AWS CLI option"
    name, has_inline, inline = token.partition("=")
    # The CLI's top-level parser sees every token first and takes anything that resolves to a global option.
    option = _resolve(name, _GLOBAL_OPTIONS)
    if option is None:
        if not operation_options:
            return f"{name} before the service and operation"
        option = _resolve(name, operation_options)
    if option is None:
        return f"unknown option {name[:60]}"
    if isinstance(option, str):
        return option
    if option.forbidden:
        return f"option {option.name} not allowed: it {option.forbidden}"
    index += 1
    if option.arity == "flag":
        if has_inline:
            return f"{option.name} takes no value"
        parsed.append((option, []))
        return index
    if has_inline:
        parsed.append((option, [inline]))
        return index
    values: list[str] = []
    while index < len(tokens) and not tokens[index].startswith("-"):
        values.append(tokens[index])
        index += 1
        if option.arity == "one":
            break
    if not values:
        return f"{option.name} needs a value"
    parsed.append((option, values))
    return index


_PROSE_WORD = re.compile(r"[A-Za-z0-9][\w'\u2019.,:;!?()\"/-]*")


_CLI_NAMES = frozenset({"aws", "aws.exe", "aws.cmd", "awscli"})


def _tail_problem(words: list[str]) -> str:
    for word in words:
        if word.startswith("-") or _SCHEME.search(word) or not _PROSE_WORD.fullmatch(word):
            return f"unexpected argument {word[:60]!r}"
        name = word.strip("\"'").lower()
        if name in _CLI_NAMES or name.endswith("/aws"):
            return "another command follows"
    return ""


def is_read_only_command(command: str) -> bool:
    return check_command(command).allowed


# --- Commands in prose ---------------------------------------------------------------------------------------------

# Where a command starts in prose: `aws` (also path-prefixed, quoted, or `aws.exe`), `python -m awscli`, and a
# capitalised `AWS` only when a lowercase service and a hyphenated operation follow ("AWS Lambda costs rose" is
# prose, "AWS iam delete-user" runs on a case-insensitive file system).
_COMMAND_START = (
    r"(?:"
    r"(?<![\w./~-])(?:[\w.~-]*/)+aws(?:\.exe|\.cmd)?"
    r"|(?<![\w./~-])aws(?:\.exe|\.cmd)?"
    r"|(?<![\w./~-])(?:\"aws\"|'aws')"
    r"|(?<![\w./-])python[\d.]*\s+-m\s+awscli"
    r"|(?<![\w./~-])(?i:aws)(?=\s+[a-z0-9][a-z0-9.-]*\s+[a-z]+-[a-z0-9-]+)"
    r")"
)
_AWS_COMMAND_IN_TEXT = re.compile(
    _COMMAND_START + r"(?:\s+--?[A-Za-z][\w-]*(?:[ =][^\s`]+)?)*\s+[a-z0-9][a-z0-9.-]*\s+[a-z][a-z0-9-]*[^\n`]*"
)


def aws_commands_in_text(text: str) -> list[str]:
    """`aws ...` invocations mentioned in free text (up to the end of the line or a closing backtick)."""
    found = []
    for match in _AWS_COMMAND_IN_TEXT.finditer(text):
        command = match.group(0).strip().rstrip(".,)")
        for quote in "\"'":
            if command.endswith(quote) and command.count(quote) % 2:
                command = command[:-1].rstrip(".,)")
        found.append(command)
    return found


@dataclass
class CommandFilter:
    """Applies `check_command` to one analysis or answer and collects what was dropped."""

    dropped: list[str] = field(default_factory=list)

    def _drop(self, note: str) -> None:
        if note not in self.dropped:
            self.dropped.append(note)

    def keep_commands(self, commands: Iterable[str]) -> list[str]:
        """The allowed commands in their canonical form (backticks and a `$ ` prompt removed); the rest dropped."""
        kept: list[str] = []
        for raw in commands:
            command = raw.strip().strip("`").strip()
            if command.startswith("$ "):
                command = command[2:].strip()
            verdict = check_command(command)
            if verdict.allowed and verdict.canonical is not None:
                if verdict.canonical not in kept:
                    kept.append(verdict.canonical)
            else:
                self._drop(f"{command[:200]} ({verdict.reason})")
        return kept

    def _unsafe_in_text(self, text: str) -> list[tuple[str, CommandVerdict]]:
        unsafe = []
        for command in aws_commands_in_text(text):
            verdict = check_command(command, in_text=True)
            if not verdict.allowed or verdict.rewritten:
                reason = verdict.reason or f"needs a --query that leaves secrets out; use {verdict.canonical}"
                self._drop(f"{command[:200]} ({reason}; mentioned in text)")
                unsafe.append((command, verdict))
        return unsafe

    def clean_text(self, text: str) -> str | None:
        """`text` if every `aws` command it mentions is safe to paste as written; otherwise None (and recorded)."""
        return None if self._unsafe_in_text(text) else text

    def redact_text(self, text: str) -> str:
        """`text` with every unsafe `aws` command replaced by a marker (or by its secret-free form), for fields that
        must stay."""
        for command, verdict in self._unsafe_in_text(text):
            replacement = UNSAFE_MARKER
            if verdict.allowed and verdict.canonical:
                replacement = " ".join([verdict.canonical, *verdict.rest])
            text = text.replace(command, replacement)
        return text
