"""AlertAnalyzerStack: one Lambda per pipeline stage and the state machine that runs them."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk.components import permissions
from cdk.components.alert_state_machine import AlertStateMachine
from cdk.components.dead_letter_queue import dead_letter_queue
from cdk.components.lambda_function import AlertIntelFunction
from cdk.components.packaging import LambdaPackaging
from cdk.constants import (
    ASL_PATH,
    ASL_SUBSTITUTIONS,
    PIPELINE_FUNCTIONS,
    SLACK_BOT_TOKEN_SECRET_NAME,
    SLACK_WEBHOOKS_SECRET_NAME,
    EnvironmentConfig,
    function_construct_id,
)
from cdk.packaging.assets import AssetDirs


def bot_token_environment(config: EnvironmentConfig, table_name: str) -> dict[str, dict[str, str]]:
    """What "Check Incident" and Post need in the bot-token mode: the channel per route, the table of incident
    records and (Post) the bot token's secret. Empty in webhook-only mode (no channel configured)."""
    if not config.slack_alert_channels:
        return {}
    channels = json.dumps(config.slack_alert_channels, sort_keys=True)
    table = table_name
    return {
        "check_incident": {"SLACK_ALERT_CHANNELS": channels, "CONVERSATIONS_TABLE": table},
        "post": {
            "SLACK_ALERT_CHANNELS": channels,
            "CONVERSATIONS_TABLE": table,
            "SLACK_BOT_TOKEN_SECRET_NAME": SLACK_BOT_TOKEN_SECRET_NAME,
        },
    }


class AlertAnalyzerStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        asset_dirs: AssetDirs,
        conversations: dynamodb.ITable,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        packaging = LambdaPackaging(self, "Packaging", asset_dirs=asset_dirs)

        # Exactly the design's permission list, per stage; classify and format read nothing.
        statements: dict[str, list[iam.PolicyStatement]] = {
            "classify": [],
            "check_incident": [],
            "gather_cost": permissions.cost_reads(self),
            "gather_compute": permissions.compute_reads(self),
            "gather_logs": permissions.log_context_reads(self),
            "analyze": permissions.invoke_model(self, config),
            "format": [],
            "post": [
                permissions.read_secrets(self, SLACK_WEBHOOKS_SECRET_NAME),
                permissions.alert_context_writes(conversations),
            ],
            "recover": [
                permissions.read_secrets(self, SLACK_WEBHOOKS_SECRET_NAME),
                permissions.describe_pipeline_executions(self, config),
            ],
        }
        environment: dict[str, dict[str, str]] = {
            "analyze": {
                "ALERT_INTEL_MODEL_ID": config.model_id,
                "BEDROCK_REGION": config.resolved_bedrock_region,
            },
            "post": {
                "SLACK_WEBHOOKS_SECRET_NAME": SLACK_WEBHOOKS_SECRET_NAME,
                "CONVERSATIONS_TABLE": conversations.table_name,
            },
            "recover": {"SLACK_WEBHOOKS_SECRET_NAME": SLACK_WEBHOOKS_SECRET_NAME},
        }
        if config.slack_alert_channels:  # bot-token mode: one message per incident (decision 0014)
            statements["check_incident"] += [
                permissions.incident_records(conversations, permissions.INCIDENT_CHECK_ACTIONS),
                permissions.incident_records(
                    conversations, permissions.INCIDENT_CLAIM_ACTIONS, permissions.INCIDENT_CLAIM_KEY_PREFIX
                ),
            ]
            statements["post"] += [
                permissions.read_secrets(self, SLACK_BOT_TOKEN_SECRET_NAME),
                permissions.incident_records(conversations, permissions.INCIDENT_POST_ACTIONS),
            ]
            for stage, values in bot_token_environment(config, conversations.table_name).items():
                environment[stage] = {**environment.get(stage, {}), **values}
        self.stage_functions: dict[str, AlertIntelFunction] = {}
        for stage, (handler, memory_mb, timeout_seconds) in PIPELINE_FUNCTIONS.items():
            self.stage_functions[stage] = AlertIntelFunction(
                self,
                function_construct_id(stage),
                config=config,
                name=stage,
                handler=handler,
                memory_mb=memory_mb,
                timeout_seconds=timeout_seconds,
                code=packaging.code,
                layers=packaging.pipeline_layers,
                environment=environment.get(stage),
                statements=statements[stage],
                description=f"alert-intel pipeline stage: {stage}",
            )

        self.pipeline = AlertStateMachine(
            self,
            "AlertPipeline",
            config=config,
            asl_path=ASL_PATH,
            functions={
                placeholder: self.stage_functions[stage].function for placeholder, stage in ASL_SUBSTITUTIONS.items()
            },
        )
        self.state_machine = self.pipeline.state_machine
        self._recover_failed_executions(config)
        CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)

    def _recover_failed_executions(self, config: EnvironmentConfig) -> None:
        """The last line of defence for errors no Catch sees (States.DataLimitExceeded, States.Runtime, a run
        timeout): every run that ends FAILED, TIMED_OUT or ABORTED goes to the recover stage, which posts the
        minimal message unless Post itself is what failed. What it cannot deliver lands in a dead-letter queue."""
        self.recover_dead_letters = dead_letter_queue(
            self,
            "RecoverDeadLetters",
            queue_name=config.resource_name("recover-dead-letters"),
            holds="failed-run events the recover stage could not post",
        )
        events.Rule(
            self,
            "FailedExecutions",
            rule_name=config.resource_name("failed-executions"),
            description="alert-intel: post a minimal message for every pipeline run that ended without posting",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.stage_functions["recover"].function,
                    dead_letter_queue=self.recover_dead_letters,
                    retry_attempts=4,
                    max_event_age=Duration.hours(2),
                )
            ],
        )
