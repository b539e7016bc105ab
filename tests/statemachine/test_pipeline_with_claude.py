"""The Analyze Alert state with Claude: the real SDK against a Bedrock-format server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from functions.ingest.logic import pipeline_inputs_from_raw
from functions.local_runner.runner import RunResult, run_scenario
from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario
from tests.support.analyze_samples import good_claude_analysis
from tests.support.fake_bedrock import FakeBedrock

MODEL_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        monkeypatch.setenv("ALERT_INTEL_MODEL_ID", MODEL_ID)
        monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake.url)
        yield fake


def _state(result: RunResult, name: str):
    return next(s for s in result.states if s.name == name)


def _run_default_scenario() -> RunResult:
    scenario = load_scenario(DEFAULT_SCENARIO)
    assert pipeline_inputs_from_raw(json.dumps(scenario.alert)), "the scenario's alert must be runnable"
    return run_scenario(scenario, quick_retries=True)


def test_claude_analysis_reaches_slack_with_its_usage(bedrock: FakeBedrock) -> None:
    # Given Claude answers with a valid forced tool call
    bedrock.answer_tool_use(good_claude_analysis())

    # When the demo alert runs
    result = _run_default_scenario()

    # Then one signed InvokeModel request went to the configured model
    assert result.status == "SUCCEEDED", result.cause
    assert len(bedrock.requests) == 1
    request = bedrock.requests[0]
    assert request.path == f"/model/{MODEL_ID}/invoke"
    assert request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256")
    # And the analysis that was posted is Claude's, with tokens and cost in the context line
    assert result.analysis is not None
    assert result.analysis["method"] == "claude"
    assert "recursive invocation loop" in result.analysis["root_cause"]
    posted = json.dumps(result.slack_message)
    assert "recursive invocation loop" in posted
    assert "1,850 in" in posted


def test_bedrock_throttling_is_retried_then_falls_back_to_the_rules(bedrock: FakeBedrock) -> None:
    # Given Bedrock throttles every attempt the state machine makes (1 try + 3 retries)
    for _ in range(4):
        bedrock.throttle()

    # When the demo alert runs
    result = _run_default_scenario()

    # Then the Analyze Alert state was retried by name, and the Catch ran the rule-based fallback
    assert result.status == "SUCCEEDED", result.cause
    analyze = _state(result, "Analyze Alert")
    assert analyze.error == "BedrockThrottledError"
    assert analyze.failures == 4
    assert _state(result, "Fall Back To Rule-Based Analysis").status == "succeeded"
    assert len(bedrock.requests) == 4
    # And the alert was still posted, saying why the AI analysis was unavailable
    assert result.analysis is not None
    assert result.analysis["method"] == "rule_based"
    assert result.analysis["fallback_reason"].startswith("Bedrock throttled the request")
    assert "AI analysis unavailable" in json.dumps(result.slack_message)


def test_a_throttle_then_success_keeps_the_claude_analysis(bedrock: FakeBedrock) -> None:
    bedrock.throttle()
    bedrock.answer_tool_use(good_claude_analysis())

    result = _run_default_scenario()

    assert result.status == "SUCCEEDED", result.cause
    assert _state(result, "Analyze Alert").status == "succeeded"
    assert _state(result, "Analyze Alert").attempts == 2
    assert "Fall Back To Rule-Based Analysis" not in [s.name for s in result.states]
    assert result.analysis is not None
    assert result.analysis["method"] == "claude"
