"""The built-in scenarios through the real state machine: the issue's targets, held by a test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from functions.local_runner.eval import TARGET_MAX_INPUT_TOKENS, evaluate, run_eval
from functions.local_runner.scenario import SCENARIOS_DIR
from tests.support.builtin_runs import builtin_runs, builtin_scenarios_run


@pytest.fixture(scope="module")
def report():
    runs = builtin_runs()  # run once per session, shared with the other suites that judge the same runs
    return evaluate(builtin_scenarios_run(), run=lambda scenario: runs[scenario.name])


def test_every_builtin_scenario_runs_and_its_context_holds_every_expected_fact(report):
    for score in report.scenarios:
        assert score.status == "SUCCEEDED", score.error
        assert score.evidence_recall == 1.0, f"{score.name} missed {score.missing_facts}"


def test_every_gathered_fact_links_to_its_evidence(report):
    for score in report.scenarios:
        assert score.facts_without_link == [], score.name


def test_every_prompt_fits_the_token_budget(report):
    for score in report.scenarios:
        assert score.input_tokens <= TARGET_MAX_INPUT_TOKENS, score.name


def test_rule_based_root_cause_is_right_on_at_least_80_percent(report):
    wrong = {s.name: s.root_cause for s in report.scenarios if not s.root_cause_correct}
    assert report.totals.root_cause_accuracy >= 0.8, wrong


def test_the_false_alarm_is_called_a_false_alarm(report):
    healthy = next(s for s in report.scenarios if s.name == "healthy-false-alarm")
    assert healthy.root_cause_correct, healthy.root_cause


def test_eval_of_any_folder_prints_the_documented_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    # Given a folder with one scenario file
    shutil.copy(SCENARIOS_DIR / "healthy-false-alarm.yaml", tmp_path / "mine.yaml")

    # When `alert-intel eval --scenarios DIR --json` runs
    code = run_eval(tmp_path, as_json=True)

    # Then it prints the per-scenario scores and the totals, and exits 0 as every target is met
    printed = json.loads(capsys.readouterr().out)
    scenario = printed["scenarios"][0]
    for key in ("name", "evidence_recall", "root_cause_correct", "input_tokens", "max_state_output_bytes", "seconds"):
        assert key in scenario
    assert scenario["name"] == "healthy-false-alarm"
    assert printed["totals"]["scenarios"] == 1
    assert code == (0 if printed["totals"]["passed"] else 1)


def test_an_invalid_scenario_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "broken.yaml").write_text("name: broken\nalert: x\nexpectd: {}\n")
    assert run_eval(tmp_path, as_json=False) == 2
    assert "broken.yaml" in capsys.readouterr().err
