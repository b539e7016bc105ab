"""What a handler's cold start loads (decisions 0006, 0016, 0021, 0023): botocore only in a stage that calls AWS on
every invocation, slack_sdk only in one that posts on every invocation; no stage loads boto3, the X-Ray SDK or
pydantic-settings. A pure module that imports an adapter (rules importing an investigator that imports CloudWatch's)
fails here, not in a Lambda's init duration."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from functions.shared.init_phase import INITIALIZATION_TYPE_ENV

# Stages whose invocations (in the default configuration: webhook mode, no model) make no AWS call, or make one
# only for some alerts (a gather branch the alert does not need skips; Recover reads only for a run that failed).
NO_AWS_AT_IMPORT = (
    "functions.classify.handler",
    "functions.format.handler",
    "functions.analyze.handler",
    "functions.check_incident.handler",
    "functions.gather_cost.handler",
    "functions.gather_compute.handler",
    "functions.gather_logs.handler",
    "functions.recover.handler",
)
# Stages that call AWS on every invocation load the SDK in their init, not in the first request.
AWS_ON_EVERY_INVOCATION = ("functions.ingest.handler", "functions.post.handler")
EVERY_HANDLER = (*NO_AWS_AT_IMPORT, *AWS_ON_EVERY_INVOCATION)
NEVER_AT_COLD_START = ("boto3", "s3transfer", "aws_xray_sdk", "pydantic_settings")


def _loaded_after_import(module: str, names: tuple[str, ...]) -> set[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {INITIALIZATION_TYPE_ENV, "ALERT_INTEL_MODEL_ID"}}
    for name in ("CONVERSATIONS_TABLE", "SLACK_ALERT_CHANNELS"):
        environment.pop(name, None)
    code = f"import sys, {module}; print(' '.join(n for n in {names!r} if n in sys.modules))"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment
    )
    return set(completed.stdout.split())


@pytest.mark.parametrize("module", NO_AWS_AT_IMPORT)
def test_a_stage_with_no_aws_call_does_not_load_botocore(module: str) -> None:
    assert _loaded_after_import(module, ("botocore.session",)) == set()


@pytest.mark.parametrize("module", EVERY_HANDLER)
def test_no_handler_loads_boto3_s3transfer_or_the_xray_sdk(module: str) -> None:
    assert _loaded_after_import(module, NEVER_AT_COLD_START) == set()


@pytest.mark.parametrize("module", AWS_ON_EVERY_INVOCATION)
def test_a_stage_that_calls_aws_on_every_invocation_loads_the_sdk_at_import(module: str) -> None:
    assert _loaded_after_import(module, ("botocore.session", "botocore.config")) == {
        "botocore.session",
        "botocore.config",
    }


def test_only_the_stage_that_posts_on_every_invocation_loads_slack_sdk_at_import() -> None:
    assert _loaded_after_import("functions.post.handler", ("slack_sdk.webhook",)) == {"slack_sdk.webhook"}
    assert _loaded_after_import("functions.recover.handler", ("slack_sdk",)) == set()
