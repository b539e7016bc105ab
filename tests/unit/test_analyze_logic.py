"""The Analyze stage's decisions, with an in-memory model (no sockets): Claude, repair, fallbacks, safety."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anthropic.types import Message

from functions.analyze.logic import analyze_alert, describe_ai_failure
from functions.shared.adapters.bedrock import BedrockTimeoutError, BedrockUnavailableError, estimate_cost_usd
from functions.shared.errors import BedrockThrottledError
from functions.shared.observability import metrics
from tests.support.analyze_samples import good_claude_analysis, lambda_cost_spike_input

MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


class InMemoryModel:
    """Answers queued replies (tool inputs, text, or exceptions) and keeps every request it was sent."""

    def __init__(self, *replies: dict[str, Any] | list[dict[str, Any]] | str | Exception) -> None:
        self.model_id = MODEL_ID
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []

    def create_message(self, **request: Any) -> Message:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, str):
            content: list[dict[str, Any]] = [{"type": "text", "text": reply}]
        else:
            inputs = reply if isinstance(reply, list) else [reply]
            content = [
                {"type": "tool_use", "id": f"toolu_{len(self.requests)}_{i}", "name": "record_analysis", "input": one}
                for i, one in enumerate(inputs)
            ]
        return Message.model_validate(
            {
                "id": f"msg_{len(self.requests)}",
                "type": "message",
                "role": "assistant",
                "model": "claude",
                "content": content,
                "stop_reason": "tool_use" if content[0]["type"] == "tool_use" else "end_turn",
                "usage": {"input_tokens": 2_000, "output_tokens": 400},
            }
        )


@pytest.fixture(autouse=True)
def _clean_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def test_without_a_model_the_rules_answer_labelled_as_rule_based() -> None:
    # When
    analysis = analyze_alert(lambda_cost_spike_input(), None)

    # Then
    assert analysis.method == "rule_based"
    assert analysis.fallback_reason is None
    assert analysis.usage is None and analysis.model_id is None
    assert analysis.root_cause


def test_rules_mode_after_throttling_says_why_the_ai_analysis_is_missing() -> None:
    # Given: what the state machine's Catch hands the "Fall Back To Rule-Based Analysis" state
    failure = {
        "Error": "BedrockThrottledError",
        "Cause": '{"errorMessage": "Bedrock throttled the request (HTTP 429)", "errorType": "BedrockThrottledError"}',
    }
    analyze_input = lambda_cost_spike_input(mode="rules", ai_failure=failure)

    # When
    analysis = analyze_alert(analyze_input, InMemoryModel())

    # Then: no model call, and a reason the Slack message can show
    assert analysis.method == "rule_based"
    assert analysis.fallback_reason is not None
    assert analysis.fallback_reason.startswith("Bedrock throttled the request")
    assert analysis.fallback_reason.endswith("(BedrockThrottledError)")


def test_heartbeat_alerts_pass_through_without_a_model_call() -> None:
    # Given
    model = InMemoryModel()

    # When
    analysis = analyze_alert(lambda_cost_spike_input(route="heartbeat"), model)

    # Then
    assert analysis.method == "passthrough"
    assert model.requests == []


def test_a_valid_tool_call_becomes_the_analysis_with_usage_and_cost() -> None:
    # Given
    model = InMemoryModel(good_claude_analysis())

    # When
    analysis = analyze_alert(lambda_cost_spike_input(), model)

    # Then
    assert analysis.method == "claude"
    assert analysis.model_id == MODEL_ID
    assert analysis.confidence == "high"
    assert "recursive invocation loop" in analysis.root_cause
    assert [e.section for e in analysis.evidence] == ["cost", "compute", "logs"]
    assert analysis.usage is not None
    assert (analysis.usage.input_tokens, analysis.usage.output_tokens) == (2_000, 400)
    assert analysis.usage.estimated_cost_usd == estimate_cost_usd(MODEL_ID, 2_000, 400)
    assert analysis.fallback_reason is None and analysis.dropped_commands == []
    request = model.requests[0]
    assert request["tool_choice"] == {"type": "tool", "name": "record_analysis"}
    assert request["max_tokens"] <= 1_024


def test_metrics_record_the_alert_type_tokens_and_cost() -> None:
    # When
    analyze_alert(lambda_cost_spike_input(), InMemoryModel(good_claude_analysis()))

    # Then
    assert metrics.dimension_set["AlertType"] == "budget_threshold_exceeded"
    recorded = metrics.metric_set
    assert recorded["AlertsAnalyzed"]["Value"] == [1.0]
    assert recorded["LLMTokensUsed"]["Value"] == [2_400.0]
    assert recorded["LLMCostUSD"]["Value"][0] > 0
    assert "AnalysisLatency" in recorded


def test_throttling_is_raised_for_the_state_machine_to_retry() -> None:
    # Given
    model = InMemoryModel(BedrockThrottledError("Bedrock throttled the request (HTTP 429 ThrottlingException)"))

    # When / Then
    with pytest.raises(BedrockThrottledError):
        analyze_alert(lambda_cost_spike_input(), model)


@pytest.mark.parametrize(
    ("error", "expected_reason"),
    [
        (BedrockTimeoutError("Bedrock did not answer within 25 s"), "Bedrock did not answer within 25 s"),
        (BedrockUnavailableError("Bedrock returned a server error (HTTP 500)"), "server error (HTTP 500)"),
    ],
)
def test_timeouts_and_server_errors_fall_back_to_the_rules_inside_the_stage(
    error: Exception, expected_reason: str
) -> None:
    # When
    analysis = analyze_alert(lambda_cost_spike_input(), InMemoryModel(error))

    # Then
    assert analysis.method == "rule_based"
    assert analysis.fallback_reason is not None and expected_reason in analysis.fallback_reason


def test_invalid_tool_input_gets_one_repair_round_trip() -> None:
    # Given: the first answer misses root_cause and uses an unknown confidence
    broken = good_claude_analysis(confidence="certain")
    del broken["root_cause"]
    model = InMemoryModel(broken, good_claude_analysis())

    # When
    analysis = analyze_alert(lambda_cost_spike_input(), model)

    # Then: the second request carries the first answer and the validation errors back to Claude
    assert analysis.method == "claude"
    assert len(model.requests) == 2
    repair = model.requests[1]["messages"]
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert repair[1]["content"][0]["type"] == "tool_use"
    tool_result = repair[2]["content"][0]
    assert tool_result["type"] == "tool_result" and tool_result["is_error"] is True
    assert tool_result["tool_use_id"] == repair[1]["content"][0]["id"]
    assert "root_cause" in tool_result["content"] and "confidence" in tool_result["content"]
    assert analysis.usage is not None and analysis.usage.input_tokens == 4_000


def test_still_invalid_after_the_repair_falls_back_to_the_rules() -> None:
    # Given
    model = InMemoryModel({"root_cause": 42}, {"root_cause": "too short"})

    # When
    analysis = analyze_alert(lambda_cost_spike_input(), model)

    # Then
    assert analysis.method == "rule_based"
    assert analysis.fallback_reason is not None
    assert "not a valid analysis even after one repair attempt" in analysis.fallback_reason
    assert analysis.usage is not None and analysis.usage.output_tokens == 800  # the spend is still reported


def test_an_answer_without_the_tool_call_falls_back() -> None:
    # When
    analysis = analyze_alert(lambda_cost_spike_input(), InMemoryModel("I think it is a loop."))

    # Then
    assert analysis.method == "rule_based"
    assert analysis.fallback_reason is not None and "did not contain an analysis" in analysis.fallback_reason


def test_destructive_commands_never_reach_the_analysis() -> None:
    # Given
    answer = good_claude_analysis(
        diagnostics=[
            "aws lambda get-function-configuration --function-name ImageProcessor",
            "aws ec2 terminate-instances --instance-ids i-0abc123",
            "aws logs describe-log-groups && aws lambda delete-function --function-name ImageProcessor",
        ],
        recommendations=[
            "Run `aws lambda delete-function --function-name ImageProcessor` to stop the cost.",
            "Cap the function's concurrency.",
        ],
    )

    # When
    analysis = analyze_alert(lambda_cost_spike_input(), InMemoryModel(answer))

    # Then
    shown = analysis.model_dump_json(exclude={"dropped_commands"})
    assert "terminate-instances" not in shown and "delete-function" not in shown
    # Kept, with a --query that leaves the function's environment variables (often secrets) out
    (kept,) = analysis.diagnostics
    assert kept.startswith("aws lambda get-function-configuration --function-name ImageProcessor --query ")
    assert "Environment" not in kept
    assert analysis.recommendations == ["Cap the function's concurrency."]
    assert len(analysis.dropped_commands) == 3


def test_rule_based_diagnostics_go_through_the_same_allowlist() -> None:
    # When
    analysis = analyze_alert(lambda_cost_spike_input(mode="rules"), None)

    # Then
    assert analysis.diagnostics
    assert all(command.startswith("aws ") for command in analysis.diagnostics)
    assert analysis.dropped_commands == []


def test_failures_other_than_throttling_are_described_from_the_catch() -> None:
    assert describe_ai_failure(None) is None
    assert describe_ai_failure({"Error": "States.Timeout", "Cause": ""}) == "the AI analysis timed out (States.Timeout)"
    assert (
        describe_ai_failure({"Error": "KeyError", "Cause": '{"errorMessage": "boom", "errorType": "KeyError"}'})
        == "boom (KeyError)"
    )


def test_evidence_links_are_resolved_from_ids_and_unknown_links_removed() -> None:
    # Given: a link id from the prompt, a URL the context holds, an invented URL and an unknown id
    answer = good_claude_analysis()
    lambda_console = "https://console.aws.amazon.com/lambda/home?region=us-east-1#/functions/ImageProcessor"
    answer["evidence"] = [
        {"claim": "Lambda spend +300%", "section": "cost", "link": "L1"},
        {"claim": "1.9M invocations", "section": "compute", "link": lambda_console},
        {"claim": "Errors", "section": "compute", "link": "https://evil.example/login?next=console"},
        {"claim": "Loop in logs", "section": "logs", "link": "L99"},
    ]

    # When
    analysis = analyze_alert(lambda_cost_spike_input(), InMemoryModel(answer))

    # Then
    assert [e.link for e in analysis.evidence] == [
        "https://console.aws.amazon.com/cost-management/home#/cost-explorer",
        lambda_console,
        None,
        None,
    ]


def test_a_repair_answers_every_tool_call_of_the_invalid_reply() -> None:
    # Given: Claude called the tool twice, the first call invalid
    model = InMemoryModel([{"root_cause": 1}, good_claude_analysis()], good_claude_analysis())

    # When
    analysis = analyze_alert(lambda_cost_spike_input(), model)

    # Then: one tool_result per tool_use, as the Messages API requires
    assert analysis.method == "claude"
    results = model.requests[1]["messages"][2]["content"]
    assert [r["tool_use_id"] for r in results] == ["toolu_1_0", "toolu_1_1"]
    assert "invalid" in results[0]["content"] and "exactly once" in results[1]["content"]


def test_a_recommendation_with_a_secret_printing_read_keeps_its_safe_form_and_an_unsafe_one_goes() -> None:
    from functions.analyze.commands import CommandFilter
    from functions.analyze.logic import _safe_lines

    lines = [
        "Check the configuration: aws lambda get-function-configuration --function-name ImageProcessor",
        "Then run aws iam delete-user --user-name attacker",
        "Scale it up.",
    ]
    kept = _safe_lines(lines, CommandFilter())
    assert len(kept) == 2 and kept[1] == "Scale it up."
    assert "get-function-configuration" in kept[0] and "--query" in kept[0] and "Environment" not in kept[0]
