"""cdk-nag (v3) wiring: the AwsSolutions pack on the whole app, and acknowledgments that state their reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jsii
from aws_cdk import Acknowledgment, App, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct, IValidation


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
            if _references_another_resource(stack, resource):
                # A resource of another stack (e.g. the archive bucket, whose name CloudFormation generates): its
                # finding id shows the import, known only once the app resolves cross-stack references.
                scope.node.add_validation(_AcknowledgeOnceResolved(scope, resource, reason_for(resource)))
                continue
            shown = resource.replace(stack.partition, "<AWS::Partition>")
            acknowledge(scope, f"AwsSolutions-IAM5[Resource::{shown}]", reason_for(resource))


def _references_another_resource(stack: Stack, resource: str) -> bool:
    """Whether the pattern holds a token other than the stack's own pseudo parameters."""
    plain = resource
    for pseudo in (stack.partition, stack.region, stack.account, stack.url_suffix):
        plain = plain.replace(pseudo, "")
    return bool(Token.is_unresolved(plain))


def flatten_reference(node: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in a finding id (its `flattenCfnReference`): Join
    concatenated, `<Logical.Attr>` for GetAtt, `<Name>` for Ref, the export name for ImportValue."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(flatten_reference(item) for item in items)
        if "Fn::Sub" in node:
            return flatten_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            logical_id, attribute = node["Fn::GetAtt"]
            return f"<{flatten_reference(logical_id)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


@jsii.implements(IValidation)
class _AcknowledgeOnceResolved:
    """Acknowledges `AwsSolutions-IAM5[Resource::<pattern as cdk-nag prints it>]` when the app validates its
    tree: by then the pattern's cross-stack reference has become the import cdk-nag sees."""

    def __init__(self, scope: IConstruct, resource: str, reason: str) -> None:
        self._scope = scope
        self._resource = resource
        self._reason = reason

    def validate(self) -> list[str]:
        shown = flatten_reference(Stack.of(self._scope).resolve(self._resource))
        acknowledge(self._scope, f"AwsSolutions-IAM5[Resource::{shown}]", self._reason)
        return []


def acknowledge_invoke_grants(scope: IConstruct, functions: Iterable[lambda_.IFunction], reason: str) -> None:
    """`grant_invoke` allows `<fn>.Arn:*` (every version and alias of that one function): IAM5 per function."""
    for function in functions:
        logical_id = Stack.of(function).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        acknowledge(scope, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]", reason)
