"""`alert-intel run --enforce-iam`: a local run in which every AWS call is authorised against the deployed roles.

The roles come from the CDK app itself, synthesised offline (placeholder layers: only the templates are read), so
what the run is checked against is what `cdk deploy` would create for that environment. Deployed names map to the
simulated account's (`alert-intel-dev-post` -> `alert-intel-post`; the state machine; the Conversations table and
the archive bucket, whose names CloudFormation generates and the templates therefore only refer to). See
docs/decisions/0011-iam-enforcement-in-local-runs.md.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdk.constants import EnvironmentConfig
    from functions.local_runner.iam_enforcement import CallRecord, IamEnforcement

# The simulated account's table and bucket (tests/support/chat_aws.py creates them under these names).
LOCAL_CONVERSATIONS_TABLE = "alert-intel-conversations"
LOCAL_ARCHIVE_BUCKET = "alert-intel-archive-local"

# Resource types whose physical name CloudFormation generates, and the property that would name them.
_GENERATED_NAMES = {"AWS::DynamoDB::Table": "TableName", "AWS::S3::Bucket": "BucketName"}


def synthesised_templates(env: str = "dev") -> tuple[EnvironmentConfig, dict[str, dict[str, Any]]]:
    """The environment's config and its templates (stack name -> template), synthesised offline.

    Raises:
        cdk.environment.UnknownEnvironmentError: `env` is not an environment of cdk.json or the defaults.
    """
    # Before aws_cdk starts its jsii (Node) process: Node 20 prints an end-of-life banner otherwise.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from cdk.app import build_app
    from cdk.environment import load_environment

    with tempfile.TemporaryDirectory(prefix="alert-intel-cdk-") as outdir:
        app = build_app({"env": env, "layers": "stub"}, outdir=outdir)
        config = load_environment(app.node)
        assembly = app.synth()
        templates = {
            path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in Path(assembly.directory).glob("*.template.json")
        }
    return config, templates


def generated_name_placeholders(templates: Mapping[str, Mapping[str, Any]], resource_type: str) -> list[str]:
    """How `iam_enforcement`'s resolver names each resource of `resource_type` that has no fixed physical name
    (`<LogicalId>`), so a policy on it can be mapped to the simulated account's resource."""
    name_property = _GENERATED_NAMES[resource_type]
    return [
        f"<{logical_id}>"
        for template in templates.values()
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == resource_type and name_property not in resource.get("Properties", {})
    ]


def local_names(
    templates: Mapping[str, Mapping[str, Any]],
    config: EnvironmentConfig,
    *,
    table: str = LOCAL_CONVERSATIONS_TABLE,
    bucket: str = LOCAL_ARCHIVE_BUCKET,
) -> dict[str, str]:
    """Deployed name -> simulated name, for the resources not named `alert-intel-<env>-<x>`."""
    from functions.local_runner.runner import STATE_MACHINE_NAME

    names = {config.state_machine_name: STATE_MACHINE_NAME}
    names.update({p: table for p in generated_name_placeholders(templates, "AWS::DynamoDB::Table")})
    names.update({p: bucket for p in generated_name_placeholders(templates, "AWS::S3::Bucket")})
    return names


def enforcement_for(
    templates: Mapping[str, Mapping[str, Any]],
    config: EnvironmentConfig,
    *,
    table: str = LOCAL_CONVERSATIONS_TABLE,
    bucket: str = LOCAL_ARCHIVE_BUCKET,
) -> IamEnforcement:
    """IAM enforcement for the simulated account, from the environment's synthesised templates."""
    from functions.local_runner.iam_enforcement import for_simulated_account
    from functions.local_runner.runner import ACCOUNT_ID, REGION

    return for_simulated_account(
        templates,
        config,
        account=ACCOUNT_ID,
        region=REGION,
        local_names=local_names(templates, config, table=table, bucket=bucket),
    )


def describe_denied(calls: Sequence[CallRecord]) -> list[str]:
    """One line per distinct denied request: who, which action, on what, through which API call."""
    lines = []
    for call in calls:
        line = f"DENIED {call.function}: {call.request.action} on {call.request.resource} ({call.operation})"
        if line not in lines:
            lines.append(line)
    return lines
