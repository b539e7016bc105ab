"""AlertAnalyzerStack: one Lambda per pipeline stage and the state machine that runs them."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk.components import permissions
from cdk.components.alert_state_machine import AlertStateMachine
from cdk.components.lambda_function import AlertIntelFunction
from cdk.components.packaging import LambdaPackaging
from cdk.constants import (
    ASL_PATH,
    ASL_SUBSTITUTIONS,
    PIPELINE_FUNCTIONS,
    SLACK_WEBHOOKS_SECRET_NAME,
    EnvironmentConfig,
    function_construct_id,
)
from cdk.packaging.assets import AssetDirs


class AlertAnalyzerStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, asset_dirs: AssetDirs, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        packaging = LambdaPackaging(self, "Packaging", asset_dirs=asset_dirs)

        # Exactly the design's permission list, per stage; classify and format read nothing.
        statements: dict[str, list[iam.PolicyStatement]] = {
            "classify": [],
            "gather_cost": permissions.cost_reads(self),
            "gather_compute": permissions.compute_reads(self),
            "gather_logs": permissions.logs_reads(self),
            "analyze": permissions.invoke_model(self, config),
            "format": [],
            "post": [
                permissions.read_secrets(self, SLACK_WEBHOOKS_SECRET_NAME),
                permissions.alert_context_writes(self, config),
            ],
        }
        environment: dict[str, dict[str, str]] = {
            "analyze": {
                "ALERT_INTEL_MODEL_ID": config.model_id,
                "BEDROCK_REGION": config.resolved_bedrock_region,
            },
            "post": {
                "SLACK_WEBHOOKS_SECRET_NAME": SLACK_WEBHOOKS_SECRET_NAME,
                "CONVERSATIONS_TABLE": config.conversations_table_name,
            },
        }
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
        CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
