"""Least privilege, proven under enforcement: what each role grants is exactly what its function calls.

Every built-in scenario runs through the real state machine, every chat tool runs, and each adapter path the
simulated account cannot reach by itself (moto has no Health or GuardDuty findings API; no alert memory or chat
table in a scenario run) is called directly — all under `IamEnforcement`: each AWS call is authorised against
that function's role from the synthesised templates (action and resource ARN as IAM evaluates them), and a
denied call fails with AccessDenied as on AWS. Then granted == used, except the grants written down below with
their reason.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from cdk.constants import FUNCTIONS_DIR
from functions.local_runner import runner
from functions.local_runner.enforced_run import enforcement_for
from functions.local_runner.iam_enforcement import (
    IamEnforcement,
    Request,
    matches_arn_format,
    resource_types,
)
from tests.infrastructure.conftest import STACKS, Synthesis

ACCOUNT, REGION = runner.ACCOUNT_ID, runner.REGION
LOCAL_TABLE = "alert-intel-conversations"
LOCAL_BUCKET = "alert-intel-archive-local"

# Granted, not called by the function's code, each for a written reason: (function key, action) -> reason.
NOT_CALLED_BY_THE_CODE = {
    **{
        (key, action): reason
        for key in (
            "ingest",
            *("classify", "check_incident", "gather_cost", "gather_compute", "gather_logs", "analyze", "format"),
            *("post", "recover"),
            *("chat_events", "chat_worker", "chat_archiver"),
        )
        for action, reason in {
            "logs:CreateLogStream": "the Lambda runtime writes the function's own log group",
            "logs:PutLogEvents": "the Lambda runtime writes the function's own log group",
            "xray:PutTraceSegments": "the X-Ray daemon sends the function's traces (tracing ACTIVE)",
            "xray:PutTelemetryRecords": "the X-Ray daemon sends the function's traces (tracing ACTIVE)",
        }.items()
    },
    **{
        ("ingest", action): "the Lambda service delivers a failed async event to the dead-letter queue (on_failure)"
        for action in ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
    },
    **{
        (
            "chat_worker",
            action,
        ): "the Lambda service delivers a failed async event to the dead-letter queue (on_failure)"
        for action in ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
    },
    **{
        ("chat_archiver", action): "the DynamoDB stream event source mapping (Lambda service) reads the stream and "
        "sends failed batches to the dead-letter queue"
        for action in (
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        )
    },
}


@dataclass
class EnforcedRuns:
    enforcement: IamEnforcement
    statuses: dict[str, str]
    logs_sections: dict[str, Any]

    def used(self, synthesis: Synthesis) -> dict[str, set[str]]:
        """Function key -> the actions its code called (allowed or not)."""
        keys = _function_keys(synthesis)
        return {keys[local]: actions for local, actions in self.enforcement.used_actions().items()}


def _function_keys(synthesis: Synthesis) -> dict[str, str]:
    """Local function name (alert-intel-<key>) -> function key."""
    from cdk.constants import CHAT_FUNCTIONS, PIPELINE_FUNCTIONS

    return {f"alert-intel-{key.replace('_', '-')}": key for key in ["ingest", *PIPELINE_FUNCTIONS, *CHAT_FUNCTIONS]}


def _enforcement(synthesis: Synthesis) -> IamEnforcement:
    # The table and bucket have generated names: the policies name them through the storage stack's exports.
    return enforcement_for(synthesis.raw, synthesis.config, table=LOCAL_TABLE, bucket=LOCAL_BUCKET)


def _run_scenarios(enforcement: IamEnforcement) -> tuple[dict[str, str], dict[str, Any]]:
    from functions.local_runner.scenario import builtin_scenarios

    statuses, logs_sections = {}, {}
    for scenario in sorted(builtin_scenarios(), key=lambda s: s.name):
        result = runner.run_scenario(scenario, quick_retries=True, enforcement=enforcement)
        statuses[scenario.name] = result.status
        logs_sections[scenario.name] = ((result.analyze_input or {}).get("context") or {}).get("logs")
    return statuses, logs_sections


def _run_with_claude(enforcement: IamEnforcement, model_id: str) -> str:
    """The headline scenario with Claude (a loopback Bedrock server): the analyze stage's InvokeModel."""
    import os

    from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario
    from tests.support.analyze_samples import good_claude_analysis
    from tests.support.fake_bedrock import FakeBedrock

    saved = {key: os.environ.get(key) for key in ("ALERT_INTEL_MODEL_ID", "ANTHROPIC_BEDROCK_BASE_URL")}
    with FakeBedrock() as bedrock:
        os.environ["ALERT_INTEL_MODEL_ID"] = model_id
        os.environ["ANTHROPIC_BEDROCK_BASE_URL"] = bedrock.url
        bedrock.answer_tool_use(good_claude_analysis())
        try:
            result = runner.run_scenario(load_scenario(DEFAULT_SCENARIO), quick_retries=True, enforcement=enforcement)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return result.status


def _sample_input(schema: dict[str, Any]) -> dict[str, Any]:
    samples = {
        "function_name": "ImageProcessor",
        "instance_id": "i-0c1d2e3f4a5b6c7d8",
        "pattern": "ERROR",
        "resource_name": "ImageProcessor",
    }
    properties = schema.get("input_schema", schema).get("properties", {})
    return {key: value for key, value in samples.items() if key in properties}


def _run_chat_tools(enforcement: IamEnforcement) -> None:
    from functions.chat.aws_tools import all_tools
    from functions.local_runner.chat_commands import simulated_chat_account

    for scenario in (None, "ec2-cpu-saturation"):  # the default (a Lambda storm), and one with an instance
        with simulated_chat_account(scenario), enforcement, enforcement.acting_as("alert-intel-chat-worker"):
            for tool in all_tools():
                tool.call(_sample_input(tool.schema()))


_SECRET_NAMES = {
    "SLACK_BOT_TOKEN_SECRET_NAME": "alert-intel/slack-bot-token",
    "SLACK_SIGNING_SECRET_NAME": "alert-intel/slack-signing-secret",
}


def _item(key: str) -> dict[str, Any]:
    return {"conversation_id": {"S": key}, "timestamp": {"S": "1"}}


def _ask_claude(model_id: str) -> None:
    from functions.shared.adapters.bedrock import BedrockModel
    from tests.support.fake_bedrock import FakeBedrock

    with FakeBedrock() as bedrock:
        bedrock.answer_text("ok")
        client = __import__("anthropic").AnthropicBedrock(aws_region=REGION, base_url=bedrock.url, max_retries=0)
        BedrockModel(model_id, client_factory=lambda: client).create_message(
            system="s", messages=[{"role": "user", "content": "q"}], max_tokens=5
        )


def _call_adapters_the_scenarios_cannot_reach(enforcement: IamEnforcement, model_id: str) -> None:
    """Paths that need an API moto lacks, or a table and bucket the scenario runs do not have."""
    from functions.ingest.alarm_routing import cloudwatch_alarm_lookup
    from functions.shared.adapters.async_invoke import AsyncLambdaInvoker
    from functions.shared.adapters.conversations import ConversationArchive, ConversationTable
    from functions.shared.adapters.findings import GuardDutyReader, HealthReader
    from functions.shared.adapters.incident_actions import IncidentActionsTable, PipelineRuns
    from functions.shared.adapters.logs import LogsReader
    from functions.shared.adapters.secrets import read_webhook_secret
    from functions.shared.adapters.slack_api import read_slack_secret
    from functions.shared.adapters.stepfunctions import ExecutionReader, StepFunctionsStarter

    def attempt(call: Any) -> None:
        # moto may not implement the API: only the authorisation is under test here
        with contextlib.suppress(Exception):
            call()

    runner.configure_local_environment()
    with mock_aws(), mock.patch.dict("os.environ", _SECRET_NAMES):
        runner.reset_local_caches()
        from tests.support.chat_aws import TABLE, create_table

        assert TABLE == LOCAL_TABLE
        create_table(boto3.client("dynamodb", region_name=REGION))
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=LOCAL_BUCKET)
        event_arn = "arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/abc"
        machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{runner.STATE_MACHINE_NAME}"
        table = ConversationTable(LOCAL_TABLE)
        with enforcement:
            with enforcement.acting_as("alert-intel-gather-compute"):
                guardduty = GuardDutyReader(region=REGION)
                attempt(guardduty.detector_id)
                attempt(lambda: guardduty.count_findings("d1", "Recon:EC2/PortProbeUnprotectedPort"))
                health = HealthReader()
                attempt(lambda: health.event_details(event_arn))
                attempt(lambda: health.affected_entities(event_arn))
            with enforcement.acting_as("alert-intel-gather-logs"):
                attempt(lambda: LogsReader(region=REGION)._stop("query-1"))
            with enforcement.acting_as("alert-intel-recover"):  # a run that failed: the minimal message
                attempt(lambda: read_webhook_secret(runner.WEBHOOK_SECRET_NAME))
                ExecutionReader().execution_input(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:alert-intel-pipeline:x")
            with enforcement.acting_as("alert-intel-post"):
                attempt(
                    lambda: table.client.put_item(
                        TableName=LOCAL_TABLE, Item={"conversation_id": {"S": "alert#k"}, "timestamp": {"S": "alert"}}
                    )
                )
            with enforcement.acting_as("alert-intel-ingest"):
                attempt(lambda: StepFunctionsStarter(machine).start("run-1", "{}"))
                attempt(lambda: cloudwatch_alarm_lookup("ImageProcessor-Errors", REGION))
            with enforcement.acting_as("alert-intel-chat-events"):
                attempt(lambda: read_slack_secret("ALERT_INTEL_UNSET_SECRET", "SLACK_SIGNING_SECRET_NAME"))
                attempt(lambda: table.claim("event#1"))
                attempt(lambda: table.release("event#1"))
                attempt(lambda: AsyncLambdaInvoker("alert-intel-chat-worker").invoke({}))
            with enforcement.acting_as("alert-intel-chat-worker"):
                attempt(lambda: read_slack_secret("ALERT_INTEL_UNSET_TOKEN", "SLACK_BOT_TOKEN_SECRET_NAME"))
                attempt(lambda: LogsReader(region=REGION)._stop("query-2"))
                attempt(lambda: _ask_claude(model_id))
                attempt(lambda: table.latest("C1:1.0"))
                attempt(lambda: table.alert_context("key"))
                attempt(
                    lambda: table.client.put_item(
                        TableName=LOCAL_TABLE, Item={"conversation_id": {"S": "C1:1.0"}, "timestamp": {"S": "1"}}
                    )
                )
                # a button click (functions/chat/actions.py): Acknowledge / Mute, and Analyze with AI
                attempt(
                    lambda: IncidentActionsTable(LOCAL_TABLE).update_incident(
                        "alarm#k", {"muted_by": "U1"}, message_ts="1.1"
                    )
                )
                runs = PipelineRuns(machine)
                runs.execution_input("heartbeat-k")
                runs.execution_input("ai-C1-1_0-k")
                attempt(lambda: runs.start("ai-C1-1_0-k", "{}"))
            with enforcement.acting_as("alert-intel-chat-archiver"):
                attempt(lambda: ConversationArchive(LOCAL_BUCKET).put_json("conversations/C1.json", {}))
    runner.reset_local_caches()


@pytest.fixture(scope="module")
def enforced(synthesis: Synthesis) -> EnforcedRuns:
    enforcement = _enforcement(synthesis)
    statuses, logs_sections = _run_scenarios(enforcement)
    statuses["with Claude"] = _run_with_claude(enforcement, synthesis.config.model_id)
    _run_chat_tools(enforcement)
    _call_adapters_the_scenarios_cannot_reach(enforcement, synthesis.config.model_id)
    return EnforcedRuns(enforcement, statuses, logs_sections)


# --- Under enforcement -----------------------------------------------------------------------------------------


def test_every_scenario_and_chat_tool_runs_with_no_denied_call(enforced: EnforcedRuns) -> None:
    # Given every built-in scenario, every chat tool and the adapter paths, run under enforcement
    denied = [(c.function, c.request.action, c.request.resource) for c in enforced.enforcement.denied_calls()]

    # Then nothing was denied, and every run succeeded
    assert denied == []
    assert set(enforced.statuses.values()) == {"SUCCEEDED"}, enforced.statuses


def test_no_scenario_loses_its_logs_section_to_a_missing_permission(enforced: EnforcedRuns) -> None:
    lost = {
        name: section
        for name, section in enforced.logs_sections.items()
        if "missing permission" in json.dumps(section or {}) or "lambda:ListFunctions" in json.dumps(section or {})
    }
    assert lost == {}


def test_each_role_grants_exactly_what_its_function_calls(synthesis: Synthesis, enforced: EnforcedRuns) -> None:
    # Given what each role grants and what each function called under enforcement
    granted = {key: actions for key, actions in _granted_by_function(synthesis).items()}
    used = enforced.used(synthesis)

    # Then granted == used, apart from the grants written down with their reason
    for key in granted:
        excused = {action for (fn, action) in NOT_CALLED_BY_THE_CODE if fn == key}
        assert granted[key] - excused == used.get(key, set()), key
    stale = {(fn, a) for (fn, a) in NOT_CALLED_BY_THE_CODE if a not in granted.get(fn, set())}
    assert stale == set(), "an exception names a grant that no longer exists"


def test_a_denied_call_fails_as_aws_would(synthesis: Synthesis) -> None:
    # Given the classify stage, whose role grants no AWS read
    enforcement = _enforcement(synthesis)
    runner.configure_local_environment()
    with mock_aws(), enforcement, enforcement.acting_as("alert-intel-classify"):
        from botocore.exceptions import ClientError

        # When it calls Lambda
        with pytest.raises(ClientError) as raised:
            boto3.client("lambda", region_name=REGION).list_functions()

    # Then the call fails with AccessDeniedException naming the action, and is recorded as denied
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "lambda:ListFunctions" in error["Message"]
    assert [c.request.action for c in enforcement.denied_calls()] == ["lambda:ListFunctions"]


def test_bedrock_is_authorised_through_the_inference_profile_only(synthesis: Synthesis) -> None:
    # Given the analyze role and the environment's inference profile
    from functions.local_runner.iam_enforcement import bedrock_requests, is_allowed

    enforcement = _enforcement(synthesis)
    statements = enforcement.policies["alert-intel-analyze"]
    model = synthesis.config.model_id

    # Then the profile call (profile + foundation model with the profile as context) is allowed
    assert all(is_allowed(statements, r) for r in bedrock_requests(model, region=REGION, account=ACCOUNT))
    # And the foundation model called directly, or another model, is not
    direct = Request("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/{model.removeprefix('us.')}")
    assert not is_allowed(statements, direct)
    other = bedrock_requests("us.anthropic.claude-opus-4-1-20250805-v1:0", region=REGION, account=ACCOUNT)
    assert not any(is_allowed(statements, r) for r in other)


# --- Static checks on the templates ----------------------------------------------------------------------------

READ_VERBS = ("Get", "List", "Describe", "View", "BatchGet", "Filter", "Search", "Lookup")
# Write actions on `*`, each because the API accepts no narrower resource.
WRITES_ALLOWED_ON_ANY_RESOURCE = {
    "xray:PutTraceSegments": "X-Ray accepts only `*`",
    "xray:PutTelemetryRecords": "X-Ray accepts only `*`",
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


def _granted_by_function(synthesis: Synthesis) -> dict[str, set[str]]:
    """Function key -> every action its role allows."""
    key_of = {synthesis.config.function_name(key): key for key in _function_keys(synthesis).values()}
    role_of: dict[tuple[str, str], str] = {}
    for stack in STACKS:
        for resource in synthesis.resources(stack, "AWS::Lambda::Function").values():
            name = resource["Properties"]["FunctionName"]
            role_of[(stack, resource["Properties"]["Role"]["Fn::GetAtt"][0])] = key_of[name]
    actions: dict[str, set[str]] = defaultdict(set)
    for stack, role, statement in _statements(synthesis):
        if (stack, role) in role_of:
            actions[role_of[(stack, role)]].update(_as_list(statement["Action"]))
    return dict(actions)


def test_every_function_has_its_own_role(synthesis: Synthesis) -> None:
    granted = _granted_by_function(synthesis)
    assert set(granted) == set(_function_keys(synthesis).values())


def test_every_resource_pattern_fits_its_actions_resource_type(synthesis: Synthesis) -> None:
    # Given every function-role statement, its resources resolved
    enforcement = _enforcement(synthesis)
    misfits = []
    for function, statements in enforcement.policies.items():
        for statement in statements:
            for action in statement.actions:
                for resource in statement.resources:
                    # Then a scoped resource names one of the action's resource types, and an action with no
                    # resource type is granted on `*` (anything else IAM never matches: the call is denied)
                    if not matches_arn_format(action, resource) or (resource != "*" and not resource_types(action)):
                        misfits.append((function, action, resource))
    assert misfits == []


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


def test_every_aws_read_the_adapters_declare_is_an_iam_action(synthesis: Synthesis) -> None:
    # Given each IAM action the adapters name when they call AWS (`aws_read("service:Action", ...)`, `aws_read_or_none`)
    declared = set()
    for path in FUNCTIONS_DIR.rglob("*.py"):
        if "local_runner" not in path.parts:
            declared |= set(re.findall(r'aws_read(?:_or_none)?\(\s*"([a-z0-9-]+:[A-Za-z]+)"', path.read_text()))
    declared.discard("sts:GetCallerIdentity")  # needs no permission
    assert declared, "expected the adapters to declare their reads"

    # Then each is a real action (the name an AccessDenied would carry), granted to some function
    for action in declared:
        resource_types(action)
    granted = set().union(*_granted_by_function(synthesis).values())
    assert declared - granted == set()


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


def test_a_denied_model_is_a_request_error_and_a_model_access_denied_data_point(
    synthesis: Synthesis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the analyze role and a model it is not allowed (as before model access is enabled: AccessDenied)
    from functions.shared.adapters.bedrock import BedrockModel, BedrockRequestError
    from tests.support.fake_bedrock import FakeBedrock

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    enforcement = _enforcement(synthesis)
    anthropic = __import__("anthropic")
    with FakeBedrock() as bedrock, enforcement, enforcement.acting_as("alert-intel-analyze"):
        bedrock.answer_text("never sent")
        client = anthropic.AnthropicBedrock(aws_region=REGION, base_url=bedrock.url, max_retries=0)
        model = BedrockModel("us.anthropic.claude-opus-4-1-20250805-v1:0", client_factory=lambda: client)

        # When the stage calls it
        with pytest.raises(BedrockRequestError) as raised:
            model.create_message(system="s", messages=[{"role": "user", "content": "q"}], max_tokens=5)

    # Then it fails as Bedrock would (403 AccessDeniedException) and one ModelAccessDenied data point is written
    assert "AccessDeniedException" in str(raised.value)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ModelAccessDenied"' in line]
    assert len(records) == 1
    assert records[0]["ModelAccessDenied"] in (1, 1.0, [1.0])
    assert records[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
