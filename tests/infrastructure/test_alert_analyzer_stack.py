"""AlertAnalyzerStack: one Lambda per stage and the state machine deployed from the ASL file."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

from cdk.components.alert_state_machine import SubstitutionMismatchError, asl_placeholders, check_substitutions
from cdk.constants import ASL_PATH, ASL_SUBSTITUTIONS, PIPELINE_FUNCTIONS
from tests.infrastructure.conftest import Synthesis

STACK = "AlertAnalyzer"


def _render_join(value: Any, names: dict[str, str] | None = None) -> str:
    """Flatten the template's Fn::Join, writing each Fn::GetAtt [<function>, Arn] as `<function logical id>`."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render_join(part, names) for part in parts)
    if "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
        return f"<{value['Fn::GetAtt'][0]}>"
    raise AssertionError(f"unexpected intrinsic in the definition: {value}")


def test_every_asl_placeholder_has_a_substitution_and_vice_versa() -> None:
    # Given the ASL file the local runner executes
    asl_text = ASL_PATH.read_text()

    # When its placeholders are read
    placeholders = asl_placeholders(asl_text)

    # Then they are exactly the substitutions the stack provides, each naming a pipeline function
    assert placeholders == set(ASL_SUBSTITUTIONS)
    assert set(ASL_SUBSTITUTIONS.values()) <= set(PIPELINE_FUNCTIONS)


def test_a_placeholder_without_substitution_is_refused() -> None:
    # Given substitutions that miss one placeholder and add an unknown one
    names = (set(ASL_SUBSTITUTIONS) - {"PostFunctionArn"}) | {"UnusedFunctionArn"}

    # When / Then
    with pytest.raises(SubstitutionMismatchError, match=r"PostFunctionArn.*UnusedFunctionArn"):
        check_substitutions(ASL_PATH.read_text(), names)


def test_state_machine_definition_is_the_asl_file_after_substitution(synthesis: Synthesis) -> None:
    # Given the deployed definition with CloudFormation's DefinitionSubstitutions applied
    (state_machine,) = synthesis.resources(STACK, "AWS::StepFunctions::StateMachine").values()
    properties = state_machine["Properties"]
    deployed = _render_join(properties["DefinitionString"], {})
    for name, value in properties["DefinitionSubstitutions"].items():
        deployed = deployed.replace(f"${{{name}}}", _render_join(value, {}))

    # And the ASL file with each placeholder replaced by its stage function
    expected = ASL_PATH.read_text()
    for placeholder, stage in ASL_SUBSTITUTIONS.items():
        logical_id = synthesis.logical_id_of_function(STACK, stage)
        expected = expected.replace(f"${{{placeholder}}}", f"<{logical_id}>")

    # Then they are the same document, with no placeholder left
    assert json.loads(deployed) == json.loads(expected)
    assert not re.search(r"\$\{\w+\}", deployed)
    assert set(properties["DefinitionSubstitutions"]) == set(ASL_SUBSTITUTIONS)


def test_state_machine_is_standard_traced_and_logs_everything(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineName": synthesis.config.state_machine_name,
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": Match.any_value()}}],
            },
        },
    )


def test_one_function_per_stage_with_its_handler(synthesis: Synthesis) -> None:
    # Given the stack's functions by name
    functions = {
        resource["Properties"]["FunctionName"]: resource["Properties"]
        for resource in synthesis.resources(STACK, "AWS::Lambda::Function").values()
    }

    # Then there is exactly one per stage, on the Lambda platform the layers are built for
    assert set(functions) == {synthesis.config.function_name(stage) for stage in PIPELINE_FUNCTIONS}
    for stage, (handler, memory_mb, timeout_seconds) in PIPELINE_FUNCTIONS.items():
        properties = functions[synthesis.config.function_name(stage)]
        assert properties["Handler"] == handler
        assert properties["Runtime"] == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["MemorySize"] == memory_mb
        assert properties["Timeout"] == timeout_seconds
        assert len(properties["Layers"]) == 1
        assert properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "AlertIntel"
        assert properties["Environment"]["Variables"]["ALERT_INTEL_ENV"] == "dev"


def test_lambda_timeouts_end_before_their_task_timeouts(synthesis: Synthesis) -> None:
    # Given the ASL's Task timeouts per function placeholder
    definition = json.loads(ASL_PATH.read_text())
    task_timeouts: dict[str, list[int]] = {}

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            if state["Type"] == "Task":
                placeholder = state["Resource"].strip("${}")
                task_timeouts.setdefault(ASL_SUBSTITUTIONS[placeholder], []).append(state["TimeoutSeconds"])
            for branch in state.get("Branches", []):
                walk(branch["States"])

    walk(definition["States"])

    # Then each Lambda times out before the longest Task calling it gives up on it (Analyze's rule-based
    # states wait only 30 s: rule-based analysis is quick, and their Catch moves on to Format)
    assert set(task_timeouts) == set(PIPELINE_FUNCTIONS)
    for stage, timeouts in task_timeouts.items():
        assert PIPELINE_FUNCTIONS[stage][2] < max(timeouts), stage


def test_stage_settings_reach_the_functions_that_read_them(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    config = synthesis.config
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": config.function_name("analyze"),
            "Environment": {
                "Variables": Match.object_like(
                    {"ALERT_INTEL_MODEL_ID": config.model_id, "BEDROCK_REGION": config.region}
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": config.function_name("post"),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "SLACK_WEBHOOKS_SECRET_NAME": "alert-intel/slack-webhooks",
                        # The table's name is generated: it comes from the storage stack, as an import
                        "CONVERSATIONS_TABLE": {
                            "Fn::ImportValue": Match.string_like_regexp(r"-Storage:.*Conversations")
                        },
                    }
                )
            },
        },
    )


def test_each_function_has_its_own_role_and_retained_log_group(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    stages = len(PIPELINE_FUNCTIONS)
    template.resource_count_is("AWS::IAM::Role", stages + 1)  # + the state machine's
    template.resource_count_is("AWS::Logs::LogGroup", stages + 1)
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    for stage in PIPELINE_FUNCTIONS:
        template.has_resource_properties(
            "AWS::Logs::LogGroup",
            {"LogGroupName": f"/aws/lambda/{synthesis.config.function_name(stage)}", "RetentionInDays": 14},
        )
    roles = [
        properties["Role"]["Fn::GetAtt"][0]
        for properties in (r["Properties"] for r in synthesis.resources(STACK, "AWS::Lambda::Function").values())
    ]
    assert len(set(roles)) == stages


def test_state_machine_may_invoke_exactly_the_stage_functions(synthesis: Synthesis) -> None:
    # Given the state machine role's lambda:InvokeFunction resources
    invoked: set[str] = set()
    for policy in synthesis.resources(STACK, "AWS::IAM::Policy").values():
        if not any("StateMachineRole" in role["Ref"] for role in policy["Properties"]["Roles"]):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] == "lambda:InvokeFunction":
                for resource in statement["Resource"]:
                    arn = resource if "Fn::GetAtt" in resource else resource["Fn::Join"][1][0]
                    invoked.add(arn["Fn::GetAtt"][0])

    # Then they are the seven stage functions
    assert invoked == {synthesis.logical_id_of_function(STACK, stage) for stage in PIPELINE_FUNCTIONS}
