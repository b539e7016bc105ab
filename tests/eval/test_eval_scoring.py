"""How `alert-intel eval` scores a run: evidence recall, root cause, totals and targets (no state machine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.local_runner.eval import evaluate, evidence_recall, render_table
from functions.local_runner.scenario import Expected, RootCauseExpectation, parse_scenario
from tests.support.gather_fakes import budget_alert


@dataclass
class FakeRun:
    analyze_input: dict[str, Any] | None
    analysis: dict[str, Any] | None = None
    status: str = "SUCCEEDED"
    seconds: float = 0.5
    max_state_output_bytes: int = 1234
    error: str | None = None
    cause: str | None = None
    states: list[Any] = field(default_factory=list)


CONTEXT = {
    "cost": {
        "name": "cost",
        "status": "ok",
        "facts": [
            {"key": "cost.top_mover", "text": "Top mover AWS Lambda: $48.00 yesterday (+$36.00, +300%)", "value": 300},
            {"key": "cost.month_to_date", "text": "Month to date $1,042.17 of budget", "value": 1042.17},
        ],
    }
}


def test_recall_matches_strings_case_insensitively_and_numbers_within_tolerance():
    expected = Expected(facts=["aws lambda", 300, 1042.17, 1100, "ImageProcessor"])
    recall, missing = evidence_recall(expected, CONTEXT)
    assert missing == ["1100", "ImageProcessor"]
    assert recall == 3 / 5


def test_the_alert_itself_does_not_count_as_evidence():
    expected = Expected(facts=["monthly-aws-spend"])
    recall, _ = evidence_recall(expected, {})
    assert recall == 0.0


def test_root_cause_patterns_and_forbidden_words():
    rule = RootCauseExpectation(patterns=["ImageProcessor", "invocation|storm"], forbidden=["deploy"])
    assert rule.matches("ImageProcessor is in an invocation storm.")
    assert not rule.matches("ImageProcessor errors after a deploy; invocation count normal.")
    assert not rule.matches("AWS Lambda spend grew.")
    assert not rule.matches(None)


def test_evaluate_scores_the_rule_based_analysis_of_the_exact_input_and_totals_the_targets():
    # Given a scenario and a run whose context names the mover
    scenario = parse_scenario(
        {
            "name": "storm",
            "alert": "text",
            "expected": {"facts": ["AWS Lambda", 300], "root_cause": {"patterns": ["AWS Lambda"]}},
        }
    )
    analyze_input = {"route": "critical", "alert": budget_alert().model_dump(mode="json"), "context": CONTEXT}

    # When it is evaluated
    report = evaluate([scenario], run=lambda s: FakeRun(analyze_input=analyze_input))

    # Then recall is complete, the rules' root cause is scored, and prompt tokens are estimated
    score = report.scenarios[0]
    assert score.evidence_recall == 1.0
    assert score.root_cause is not None
    assert score.root_cause_correct is ("aws lambda" in score.root_cause.lower())
    assert 0 < score.input_tokens <= 4000
    assert report.totals.targets["evidence_recall_100"]
    assert "storm" in render_table(report)


def test_a_failed_run_misses_the_targets():
    scenario = parse_scenario({"name": "broken", "alert": "text", "expected": {"facts": ["x"]}})
    report = evaluate([scenario], run=lambda s: FakeRun(analyze_input=None, status="FAILED", error="States.Runtime"))
    assert not report.totals.passed
    assert report.scenarios[0].error is not None and "FAILED" in report.scenarios[0].error
    assert report.scenarios[0].claude_root_cause_correct is None


def test_claude_is_scored_when_the_run_used_claude():
    scenario = parse_scenario({"name": "c", "alert": "t", "expected": {"root_cause": {"patterns": ["ImageProcessor"]}}})
    run = FakeRun(
        analyze_input={"alert": budget_alert().model_dump(mode="json"), "context": {}},
        analysis={"method": "claude", "root_cause": "ImageProcessor invocation storm"},
    )
    report = evaluate([scenario], run=lambda s: run)
    assert report.scenarios[0].claude_root_cause_correct is True
    assert report.totals.claude_scored == 1
