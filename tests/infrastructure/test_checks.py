"""Every synthesised template passes cfn-lint (no errors) and cdk-nag's AwsSolutions pack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs

from cdk.nag import acknowledge, add_checks
from tests.infrastructure.conftest import STACKS, Synthesis


@pytest.fixture(scope="module")
def cfn_lint_matches(synthesis: Synthesis) -> list[dict[str, Any]]:
    """cfn-lint's findings for all templates, in one run of its CLI (JSON output)."""
    paths = [str(synthesis.outdir / f"{synthesis.config.stack_name(stack)}.template.json") for stack in STACKS]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), "--format", "json", *paths], capture_output=True, text=True, check=False)
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr  # bit flags: 1 = crash
    return list(json.loads(result.stdout or "[]"))


@pytest.mark.parametrize("stack", STACKS)
def test_cfn_lint_finds_no_errors(synthesis: Synthesis, cfn_lint_matches: list[dict[str, Any]], stack: str) -> None:
    # Given cfn-lint's findings for this stack's template (its state machine definition inlined: E3601 checks it)
    template = f"{synthesis.config.stack_name(stack)}.template.json"
    findings = [m for m in cfn_lint_matches if Path(m["Filename"]).name == template]

    # Then none is an error (W3005, CDK's redundant DependsOn on role policies, is a warning)
    errors = [f"{m['Rule']['Id']} {m['Message']}" for m in findings if m["Level"] == "Error"]
    assert errors == []


def test_cdk_nag_reports_no_unacknowledged_finding(synthesis: Synthesis) -> None:
    # Given the validation report written next to the templates (the session synth would have raised otherwise)
    report = json.loads((synthesis.outdir / "validation-report.json").read_text())

    # Then no plugin reports a violation
    violations = [v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]]
    assert violations == []


def test_cdk_nag_is_wired_and_an_unacknowledged_finding_fails_synth(tmp_path: object) -> None:
    # Given an app with the same checks and a queue that breaks AwsSolutions-SQS3/SQS4
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "NagProbe")
    queue = sqs.Queue(stack, "Queue")
    add_checks(app)
    acknowledge(queue, "AwsSolutions-SQS3", "probe: only SQS4 should remain")

    # When it is synthesised, Then the remaining finding fails it, named by its rule
    with pytest.raises(RuntimeError, match=r"AwsSolutions-SQS4"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())  # type: ignore[operator]
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert rules == {"AwsSolutions-SQS4"}
