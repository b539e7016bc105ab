"""With ALERT_INTEL_MODEL_ID set, the eval also scores Claude's root cause (Bedrock is a local fake)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.local_runner.eval import evaluate, render_table
from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario
from functions.shared.adapters.bedrock import reset_bedrock
from functions.shared.settings import get_settings
from tests.support.analyze_samples import good_claude_analysis
from tests.support.fake_bedrock import FakeBedrock

MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def _forget_sdk_sessions() -> None:
    """The anthropic SDK caches one boto3 session per (keys, region, profile) for the process. A run inside
    mock_aws resolves moto's fake keys into it, which would then sign every later Bedrock call in this process."""
    from anthropic.lib.aws import _auth

    cache_clear = getattr(_auth._get_session, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.setenv("ALERT_INTEL_MODEL_ID", MODEL_ID)
        monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake.url)
        monkeypatch.setenv("BEDROCK_TIMEOUT_SECONDS", "5")
        get_settings.cache_clear()
        reset_bedrock()
        yield fake
    get_settings.cache_clear()
    reset_bedrock()
    _forget_sdk_sessions()


def test_claude_is_scored_on_the_same_expected_root_cause(bedrock: FakeBedrock):
    # Given Claude naming the storm, and a scenario expecting it
    bedrock.answer_tool_use(
        good_claude_analysis(
            root_cause="ImageProcessor re-invokes itself through its own bucket: an invocation storm.",
            evidence=[{"claim": "Lambda invocations +300%", "section": "compute", "link": None}],
        )
    )
    scenario = load_scenario(DEFAULT_SCENARIO)

    # When the eval runs it through the state machine
    report = evaluate([scenario])

    # Then the run used Claude, whose root cause is scored, next to the rules' own
    score = report.scenarios[0]
    assert score.analysis_method == "claude"
    assert score.claude_root_cause_correct is True
    assert score.root_cause_correct is True
    assert report.totals.claude_scored == 1 and report.totals.claude_root_cause_correct == 1
    assert "claude" in render_table(report)
    # And the gathered evidence reached the prompt
    prompt = bedrock.requests[0].user_text
    assert "ImageProcessor" in prompt and "UnidentifiedImageError" in prompt and "$1,042.17" in prompt
