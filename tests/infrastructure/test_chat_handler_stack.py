"""ChatHandlerStack: Slack events endpoint, chat worker and archiver, wired to the storage by name."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from cdk.constants import CHAT_FUNCTIONS
from tests.infrastructure.conftest import Synthesis

STACK = "ChatHandler"


def _function(synthesis: Synthesis, key: str) -> dict[str, Any]:
    return synthesis.raw[STACK]["Resources"][synthesis.logical_id_of_function(STACK, key)]["Properties"]


def test_three_chat_functions_with_both_layers_and_their_handlers(synthesis: Synthesis) -> None:
    synthesis.template(STACK).resource_count_is("AWS::Lambda::Function", len(CHAT_FUNCTIONS))
    for key, (handler, _memory, _timeout) in CHAT_FUNCTIONS.items():
        properties = _function(synthesis, key)
        assert properties["Handler"] == handler
        assert len(properties["Layers"]) == 2  # the pipeline layer + LangGraph's


def test_chat_functions_read_the_settings_the_chat_code_expects(synthesis: Synthesis) -> None:
    # Given each chat function's environment
    env = {key: _function(synthesis, key)["Environment"]["Variables"] for key in CHAT_FUNCTIONS}

    # Then the names are exactly those functions/chat reads
    assert env["chat_events"]["SLACK_SIGNING_SECRET_NAME"] == "alert-intel/slack-signing-secret"
    assert env["chat_events"]["CHAT_WORKER_FUNCTION_NAME"] == {
        "Ref": synthesis.logical_id_of_function(STACK, "chat_worker")
    }
    assert env["chat_worker"]["SLACK_BOT_TOKEN_SECRET_NAME"] == "alert-intel/slack-bot-token"
    assert env["chat_worker"]["ALERT_INTEL_MODEL_ID"] == synthesis.config.model_id
    assert env["chat_archiver"]["ARCHIVE_BUCKET"]  # imported from the storage stack
    for key in CHAT_FUNCTIONS:
        assert "CONVERSATIONS_TABLE" in env[key]


def test_slack_events_endpoint_proxies_every_post_to_the_events_function(synthesis: Synthesis) -> None:
    # Unsigned requests must reach the handler, which answers 401 (Slack's contract): no gateway validation.
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.resource_count_is("AWS::ApiGateway::RequestValidator", 0)
    template.resource_count_is("AWS::ApiGateway::Method", 1)
    template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "slack"})
    template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "events"})
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "NONE",
            "Integration": Match.object_like({"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST"}),
        },
    )


def test_api_stage_is_throttled_traced_and_access_logged_without_bodies(synthesis: Synthesis) -> None:
    synthesis.template(STACK).has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": [
                Match.object_like(
                    {
                        "DataTraceEnabled": False,
                        "LoggingLevel": "ERROR",
                        "ThrottlingRateLimit": 20,
                        "ThrottlingBurstLimit": 40,
                    }
                )
            ],
        },
    )


def test_archiver_reads_the_table_stream_from_the_start_with_a_failure_queue(synthesis: Synthesis) -> None:
    template = synthesis.template(STACK)
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": synthesis.logical_id_of_function(STACK, "chat_archiver")},
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )
    template.has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": synthesis.config.archiver_dead_letters_name, "SqsManagedSseEnabled": True}
    )


def test_a_retried_worker_never_answers_twice(synthesis: Synthesis) -> None:
    synthesis.template(STACK).has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"FunctionName": {"Ref": synthesis.logical_id_of_function(STACK, "chat_worker")}, "MaximumRetryAttempts": 0},
    )


def test_api_gateway_execution_logs_expire_and_go_with_the_stack(synthesis: Synthesis) -> None:
    groups = [
        resource
        for resource in synthesis.resources("ChatHandler", "AWS::Logs::LogGroup").values()
        if "API-Gateway-Execution-Logs_" in json.dumps(resource["Properties"].get("LogGroupName", ""))
    ]
    assert len(groups) == 1
    assert groups[0]["Properties"]["RetentionInDays"] == synthesis.config.log_retention_days
    assert groups[0]["DeletionPolicy"] == "Delete"


def test_a_failed_chat_answer_lands_in_a_dead_letter_queue(synthesis: Synthesis) -> None:
    (config,) = [
        resource["Properties"]
        for resource in synthesis.resources("ChatHandler", "AWS::Lambda::EventInvokeConfig").values()
        if "ChatWorker" in json.dumps(resource["Properties"]["FunctionName"])
    ]
    assert config["MaximumRetryAttempts"] == 0
    assert "OnFailure" in config["DestinationConfig"]


def _statements(synthesis: Synthesis) -> list[dict[str, Any]]:
    policies = synthesis.resources(STACK, "AWS::IAM::Policy").values()
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_a_button_click_can_start_the_pipeline_and_edit_incidents_and_nothing_more(synthesis: Synthesis) -> None:
    # Given the chat stack's policies and the worker's and endpoint's environments
    statements = _statements(synthesis)
    machine = synthesis.config.state_machine_name
    env = {key: _function(synthesis, key)["Environment"]["Variables"] for key in ("chat_events", "chat_worker")}

    # Then Analyze with AI may start the one pipeline, and read back heartbeat and on-demand runs only
    [start] = [s for s in statements if "states:StartExecution" in _actions(s)]
    assert f":stateMachine:{machine}" in json.dumps(start["Resource"])
    [describe] = [s for s in statements if "states:DescribeExecution" in _actions(s)]
    resources = json.dumps(describe["Resource"])
    assert f":execution:{machine}:heartbeat-*" in resources and f":execution:{machine}:ai-*" in resources
    assert resources.count(":execution:") == 2
    # And Acknowledge / Mute may update an item (which role calls what: tests/infrastructure/test_least_privilege.py)
    assert any("dynamodb:UpdateItem" in _actions(s) for s in statements)
    assert f":stateMachine:{machine}" in json.dumps(env["chat_worker"]["STATE_MACHINE_ARN"])
    for key in ("chat_events", "chat_worker"):
        assert json.loads(env[key]["SLACK_ALERT_CHANNELS"]) == synthesis.config.slack_alert_channels
