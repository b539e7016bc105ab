"""The alert pipeline's state machine, deployed from the same ASL file the local runner executes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.components.lambda_function import retention
from cdk.constants import EnvironmentConfig
from cdk.nag import acknowledge, acknowledge_invoke_grants

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class SubstitutionMismatchError(ValueError):
    """The ASL's `${Placeholders}` and the substitutions offered differ; the message names both sides."""


def asl_placeholders(asl_text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(asl_text))


def check_substitutions(asl_text: str, names: set[str]) -> None:
    """Raises SubstitutionMismatchError unless every placeholder has a substitution and vice versa."""
    placeholders = asl_placeholders(asl_text)
    if placeholders != names:
        raise SubstitutionMismatchError(
            f"ASL placeholders without a substitution: {sorted(placeholders - names)}; "
            f"substitutions without a placeholder: {sorted(names - placeholders)}"
        )


class AlertStateMachine(Construct):
    """Standard workflow (each run's history in the console), X-Ray, every event logged, inlined definition.

    The definition is inlined with `DefinitionBody.from_string` so cfn-lint validates it; each Lambda the
    placeholders name gets `grant_invoke` on the state machine's role, and nothing else does.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        asl_path: Path,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        asl_text = asl_path.read_text()
        check_substitutions(asl_text, set(functions))
        name = config.state_machine_name
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(asl_text),
            definition_substitutions={
                placeholder: function.function_arn for placeholder, function in functions.items()
            },
            tracing_enabled=True,
            timeout=Duration.minutes(15),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        stage_functions = list(dict.fromkeys(functions.values()))
        for function in stage_functions:
            function.grant_invoke(self.state_machine)
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5[Resource::*]",
            "Actions that accept only `*`: X-Ray tracing and the CloudWatch Logs log-delivery actions Step "
            "Functions needs to write its execution log.",
        )
        acknowledge_invoke_grants(
            self.state_machine,
            stage_functions,
            "grant_invoke covers the function's versions and aliases (`<arn>:*`) of this one stage function.",
        )
