"""cdk-nag (v3) wiring: the AwsSolutions pack on the whole app, and acknowledgments that state their reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: App) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, finding_id: str, reason: str) -> None:
    """Acknowledge one finding, by the exact id cdk-nag prints (e.g. `AwsSolutions-IAM5[Resource::*]`)."""
    Validations.of(scope).acknowledge(Acknowledgment(id=finding_id, reason=reason))


def acknowledge_wildcard_resources(
    scope: IConstruct, statements: Sequence[iam.PolicyStatement], reason_for: Callable[[str], str]
) -> None:
    """Acknowledge AwsSolutions-IAM5 for each resource pattern with a `*` in the given statements.

    Only patterns this code wrote (account/region-scoped ARNs ending in a wildcard) are acknowledged, each by
    its own finding id; a bare `*` is acknowledged separately, with the actions it covers.
    """
    stack = Stack.of(scope)
    for statement in statements:
        for resource in statement.resources:
            if "*" not in resource or resource == "*":
                continue
            shown = resource.replace(stack.partition, "<AWS::Partition>")
            acknowledge(scope, f"AwsSolutions-IAM5[Resource::{shown}]", reason_for(resource))


def acknowledge_invoke_grants(scope: IConstruct, functions: Iterable[lambda_.IFunction], reason: str) -> None:
    """`grant_invoke` allows `<fn>.Arn:*` (every version and alias of that one function): IAM5 per function."""
    for function in functions:
        logical_id = Stack.of(function).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        acknowledge(scope, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]", reason)
