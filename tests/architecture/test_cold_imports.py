"""What a handler's cold start loads: a stage that reads no AWS at import time never loads botocore, and none loads
boto3 or the X-Ray SDK (decisions 0006, 0016, 0021). A pure module that imports an adapter (rules importing an
investigator that imports CloudWatch's) fails here, not in a Lambda's init duration."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from functions.shared.init_phase import INITIALIZATION_TYPE_ENV

# Stages whose invocations (in the default configuration: webhook mode, no model) make no AWS call.
NO_AWS_AT_IMPORT = (
    "functions.classify.handler",
    "functions.format.handler",
    "functions.analyze.handler",
    "functions.check_incident.handler",
)
EVERY_HANDLER = (
    *NO_AWS_AT_IMPORT,
    "functions.ingest.handler",
    "functions.gather_cost.handler",
    "functions.gather_compute.handler",
    "functions.gather_logs.handler",
    "functions.post.handler",
    "functions.recover.handler",
)
NEVER_AT_COLD_START = ("boto3", "s3transfer", "aws_xray_sdk")


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
