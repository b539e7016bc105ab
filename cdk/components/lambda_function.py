"""One Lambda function with its own role, its own log group and exactly the permissions it is given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk.components.permissions import wildcard_reason
from cdk.constants import LAMBDA_PYTHON_VERSION, METRICS_NAMESPACE, SERVICE_NAME, EnvironmentConfig
from cdk.nag import acknowledge, acknowledge_wildcard_resources
from functions.shared.stages import COMMON_LAMBDA_ENVIRONMENT

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
if RUNTIME.name != f"python{LAMBDA_PYTHON_VERSION}":  # the layers are built for LAMBDA_PYTHON_VERSION
    raise RuntimeError(f"runtime {RUNTIME.name} does not match the layers' Python {LAMBDA_PYTHON_VERSION}")


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a number of days (CloudWatch accepts only certain values)."""
    names = {
        1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
        60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
        365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS",
    }  # fmt: skip
    if days in names:
        return logs.RetentionDays[names[days]]
    raise ValueError(f"CloudWatch Logs does not offer a retention of {days} days")


class AlertIntelFunction(Construct):
    """A Python Lambda on arm64 with X-Ray, a retained log group and a dedicated least-privilege role.

    The role starts empty (no managed policies): it can write to its own log group and send traces; every other
    permission is a statement passed in `statements` or a grant made by the caller.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        name: str,
        handler: str,
        memory_mb: int,
        timeout_seconds: int,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str] | None = None,
        statements: Sequence[iam.PolicyStatement] = (),
        any_resource_note: str = "",
        description: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        self.function_name = config.function_name(name)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.function_name}: its log group, traces and the reads it needs, nothing else",
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{self.function_name}",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=self.function_name,
            description=description or f"alert-intel {name} ({config.name})",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=code,
            layers=list(layers),
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "ALERT_INTEL_ENV": config.name,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **COMMON_LAMBDA_ENVIRONMENT,
                **(environment or {}),
            },
        )
        self.log_group.grant_write(self.role)
        for statement in statements:
            self.role.add_to_policy(statement)
        acknowledge_wildcard_resources(self, statements, wildcard_reason)
        any_resource_reads = sorted({a for st in statements if "*" in st.resources for a in st.actions})
        covered = ["X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords)"]
        if any_resource_reads:
            covered.append(f"reads without a resource type ({', '.join(any_resource_reads)})")
        if any_resource_note:
            covered.append(any_resource_note)
        acknowledge(self, "AwsSolutions-IAM5[Resource::*]", f"Actions that accept only `*`: {'; '.join(covered)}.")
