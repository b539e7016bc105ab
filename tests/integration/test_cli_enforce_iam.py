"""`alert-intel run --enforce-iam`: the run's AWS calls authorised against the synthesised roles, denials reported."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from functions.local_runner import enforced_run
from functions.local_runner.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

Templates = dict[str, dict[str, Any]]
EVENTS = Path(__file__).resolve().parents[1] / "events"


@pytest.fixture(scope="module")
def dev_app() -> tuple[Any, Templates]:
    """The dev environment's config and templates, synthesised once for this module (it takes a while)."""
    return enforced_run.synthesised_templates("dev")


def _serve(monkeypatch: pytest.MonkeyPatch, config: Any, templates: Templates) -> list[str]:
    """Let the CLI's synthesis return `templates`; returns the environments it was asked for."""
    asked: list[str] = []

    def synthesised(env: str = "dev") -> tuple[Any, Templates]:
        asked.append(env)
        return config, copy.deepcopy(templates)

    monkeypatch.setattr(enforced_run, "synthesised_templates", synthesised)
    return asked


def _without_action(templates: Templates, action: str) -> Templates:
    """The templates with `action` removed from every identity policy (as if its grant had been forgotten)."""
    changed = copy.deepcopy(templates)
    for template in changed.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            for statement in statements:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                statement["Action"] = [a for a in actions if a != action]
            resource["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if s["Action"]]
    return changed


def test_a_run_with_every_grant_in_place_has_no_denied_call(
    dev_app: tuple[Any, Templates], monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the dev roles as synthesised
    asked = _serve(monkeypatch, *dev_app)

    # When the default scenario runs under enforcement
    code = main(["run", "--enforce-iam", "--out", str(tmp_path)])

    # Then it succeeded, the dev roles were used, and no call was denied
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert asked == ["dev"]
    assert "IAM enforcement (dev roles):" in out
    assert "none denied" in out
    assert "DENIED" not in out


def test_a_missing_grant_is_printed_and_fails_the_run(
    dev_app: tuple[Any, Templates], monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given dev roles where the Logs Insights grant was forgotten
    config, templates = dev_app
    _serve(monkeypatch, config, _without_action(templates, "logs:StartQuery"))

    # When the default scenario (whose log evidence comes from Logs Insights) runs under enforcement
    code = main(["run", "--enforce-iam", "--out", str(tmp_path)])

    # Then the denied call is named with the function, action and resource, and the exit code says so, although
    # the execution itself succeeded (the logs section is lost, as it would be in AWS)
    out = capsys.readouterr().out
    assert code == EXIT_FAILED
    denied = [line for line in out.splitlines() if line.startswith("DENIED ")]
    assert denied, out
    assert all("logs:StartQuery" in line for line in denied)
    assert any(line.startswith("DENIED alert-intel-gather-logs: logs:StartQuery on arn:aws:logs:") for line in denied)
    assert '"status": "SUCCEEDED"' in (tmp_path / "execution.json").read_text()


def test_an_unknown_environment_is_exit_2(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--enforce-iam", "--env", "nowhere", "--out", str(tmp_path)]) == EXIT_USAGE
    assert "nowhere" in capsys.readouterr().err


def test_a_sequence_runs_under_enforcement_too(
    dev_app: tuple[Any, Templates], monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an alarm and its OK, run in order against one simulated account under the dev roles
    _serve(monkeypatch, *dev_app)
    alarm, ok = (str(EVENTS / name) for name in ("cloudwatch_alarm_sns.json", "cloudwatch_alarm_ok_sns.json"))

    # When both run under enforcement
    code = main(["run", alarm, ok, "--enforce-iam", "--out", str(tmp_path)])

    # Then both runs are reported and checked, with no denied call
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "run 1: SUCCEEDED" in out and "run 2: SUCCEEDED" in out
    assert "none denied" in out
