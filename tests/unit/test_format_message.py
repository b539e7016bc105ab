"""The Slack message the Format stage renders: content, escaping, and Slack's limits whatever the input."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest

from functions.format.logic import (
    TARGET_MESSAGE_BYTES,
    block_kit_builder_url,
    format_message,
    format_output,
)
from functions.shared.console_links import is_console_url
from functions.shared.models import FormatInput, SlackMessage
from tests.support.slack_limits import message_bytes, slack_limit_violations

EXECUTION_ARN = "arn:aws:states:eu-west-1:123456789012:execution:alert-intel-pipeline:7f3c2a1e"
STARTED = datetime(2026, 11, 25, 19, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 19, 0, 42, 500_000, tzinfo=UTC)
LAMBDA_CONSOLE = "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/api"


def alarm_alert(**overrides: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "source": "cloudwatch_alarm",
        "alert_type": "alarm_state_change",
        "severity": "critical",
        "title": "ALARM: api-errors in EU (Ireland)",
        "summary": "Threshold crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
        "account_id": "123456789012",
        "region": "eu-west-1",
        "occurred_at": "2026-11-25T18:59:30Z",
        "resource": {"type": "AWS::Lambda::Function", "name": "api"},
        "details": {
            "alarm_name": "api-errors",
            "namespace": "AWS/Lambda",
            "metric_name": "Errors",
            "threshold": 5.0,
            "state_value": 12.0,
            "dimensions": {"FunctionName": "api"},
        },
        "dedup_key": "cloudwatch_alarm:123456789012:api-errors",
    }
    alert.update(overrides)
    return alert


def claude_analysis(**overrides: Any) -> dict[str, Any]:
    analysis: dict[str, Any] = {
        "method": "claude",
        "model_id": "anthropic.claude-sonnet-4-5",
        "usage": {"input_tokens": 1200, "output_tokens": 300, "estimated_cost_usd": 0.0041},
        "root_cause": "The 18:55 deploy of api broke the image decoder.",
        "confidence": "high",
        "evidence": [
            {"claim": "Errors started 2 minutes after the deploy", "section": "compute", "link": LAMBDA_CONSOLE},
        ],
        "diagnostics": ["aws lambda get-function --function-name api --region eu-west-1"],
        "recommendations": ["Roll back api to version 41"],
        "unknowns": ["Whether the queue retried the failed images"],
    }
    analysis.update(overrides)
    return analysis


def context(**sections: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cost": {"name": "cost", "status": "skipped", "notes": ["not a cost alert"]},
        "compute": {
            "name": "compute",
            "status": "ok",
            "looked_at": ["Lambda api metrics, last 1 h"],
            "facts": [{"key": "compute.errors", "text": "api: 12 errors in 5 min", "link": LAMBDA_CONSOLE}],
        },
        "logs": {
            "name": "logs",
            "status": "error",
            "error": "GatherThrottledError",
            "cause": json.dumps({"errorType": "GatherThrottledError", "errorMessage": "Logs Insights throttled"}),
        },
    }
    base.update(sections)
    return base


def format_input(**overrides: Any) -> FormatInput:
    data: dict[str, Any] = {
        "route": "critical",
        "alert": alarm_alert(),
        "context": context(),
        "analysis": claude_analysis(),
        "execution_id": EXECUTION_ARN,
        "started_at": STARTED,
    }
    data.update(overrides)
    return FormatInput.model_validate(data)


def render(fi: FormatInput) -> dict[str, Any]:
    return format_message(fi, now=NOW).model_dump(mode="json")


def blocks_of(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in message["blocks"] if b["type"] == kind]


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def section_texts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in blocks_of(message, "section") if "text" in b]


def footer(message: dict[str, Any]) -> list[str]:
    (context_block,) = blocks_of(message, "context")
    return [e["text"] for e in context_block["elements"]]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    actions = blocks_of(message, "actions")
    return {e["text"]["text"]: e["url"] for block in actions for e in block["elements"]}


# --- Content ---------------------------------------------------------------------------------------------------


def test_typical_alarm_renders_every_part() -> None:
    # Given / When
    message = render(format_input())

    # Then
    assert slack_limit_violations(message) == []
    header = blocks_of(message, "header")[0]["text"]["text"]
    assert header == "🔴 CRITICAL ALARM: api-errors in EU (Ireland)"
    assert message["text"].startswith("🔴 CRITICAL: ALARM: api-errors")
    assert "The 18:55 deploy of api broke the image decoder." in message["text"]
    texts = "\n".join(section_texts(message))
    assert "*Root cause* (confidence: high)\nThe 18:55 deploy of api broke the image decoder." in texts
    assert f"• <{LAMBDA_CONSOLE}|Errors started 2 minutes after the deploy> _(Compute)_" in texts
    assert "```\naws lambda get-function --function-name api --region eu-west-1\n```" in texts
    assert "1. Roll back api to version 41" in texts
    assert "• Whether the queue retried the failed images" in texts


def test_fields_show_where_and_the_numbers() -> None:
    message = render(format_input())

    (fields_block,) = [b for b in message["blocks"] if "fields" in b]
    fields = [f["text"] for f in fields_block["fields"]]
    assert fields[:5] == [
        "*Account*\n123456789012",
        "*Region*\neu-west-1",
        "*Resource*\napi (AWS::Lambda::Function)",
        "*Source*\nCloudWatch alarm · alarm_state_change",
        "*Occurred*\n2026-11-25 18:59:30 UTC",
    ]
    assert "*Value vs threshold*\n12 / 5 (240%)" in fields
    assert "*Metric*\nAWS/Lambda · Errors" in fields
    assert "*Dimensions*\nFunctionName=api" in fields


def test_budget_fields_compare_actual_with_budget() -> None:
    # Given
    alert = alarm_alert(
        source="budget",
        alert_type="budget_threshold_exceeded",
        resource=None,
        details={"budget_name": "monthly-total", "budgeted_amount": 500.0, "actual_amount": 612.4, "unit": "USD"},
    )

    # When
    message = render(format_input(alert=alert))

    # Then
    fields = [f["text"] for b in message["blocks"] if "fields" in b for f in b["fields"]]
    assert "*Actual vs budgeted*\n612.40 / 500 USD (122%)" in fields
    assert "*Budget name*\nmonthly-total" in fields


def test_context_sections_say_what_was_found_failed_or_skipped() -> None:
    message = render(format_input())

    (facts,) = [t for t in section_texts(message) if t.startswith("*What we looked at*")]
    assert "*Cost*: skipped (not a cost alert)" in facts
    assert f"*Compute* _(Lambda api metrics, last 1 h)_\n• <{LAMBDA_CONSOLE}|api: 12 errors in 5 min>" in facts
    assert "*Logs*: ⚠️ failed (GatherThrottledError: Logs Insights throttled)" in facts


def test_footer_says_how_it_was_analysed_how_long_it_took_and_the_dedup_key() -> None:
    assert footer(render(format_input())) == [
        "Claude anthropic.claude-sonnet-4-5 · 1,200 in/300 out tokens · $0.0041",
        "⏱ 42.5 s",
        "dedup `cloudwatch_alarm:123456789012:api-errors`",
    ]


@pytest.mark.parametrize(
    ("analysis_overrides", "alert_overrides", "route", "expected"),
    [
        (
            {"method": "rule_based", "model_id": None, "usage": None, "fallback_reason": "Bedrock throttled us"},
            {},
            "critical",
            "AI analysis unavailable: Bedrock throttled us — rule-based analysis",
        ),
        (
            {"method": "rule_based", "model_id": None, "usage": None},
            {},
            "critical",
            "Rule-based analysis (no model configured)",
        ),
        (
            {"method": "rule_based", "model_id": None, "usage": None},
            {"severity": "info"},
            "critical",
            "Rule-based analysis (heartbeat and info alerts skip the model)",
        ),
        (
            {"method": "rule_based", "model_id": None, "usage": None},
            {},
            "heartbeat",
            "Rule-based analysis (heartbeat and info alerts skip the model)",
        ),
        (
            {"method": "passthrough", "model_id": None, "usage": None},
            {},
            "critical",
            "Not analysed: alert passed through as received",
        ),
        (
            {"usage": None},
            {},
            "critical",
            "Claude anthropic.claude-sonnet-4-5",
        ),
    ],
)
def test_method_line(
    analysis_overrides: dict[str, Any], alert_overrides: dict[str, Any], route: str, expected: str
) -> None:
    fi = format_input(route=route, alert=alarm_alert(**alert_overrides), analysis=claude_analysis(**analysis_overrides))
    assert footer(render(fi))[0] == expected


def test_duration_over_a_minute_and_without_a_start_time() -> None:
    late = datetime(2026, 11, 25, 19, 2, 5, tzinfo=UTC)
    assert "⏱ 2 min 5 s" in footer(format_message(format_input(), now=late).model_dump())
    assert not any(e.startswith("⏱") for e in footer(render(format_input(started_at=None))))


def test_dropped_commands_are_mentioned() -> None:
    fi = format_input(analysis=claude_analysis(dropped_commands=["aws lambda delete-function --function-name api"]))
    assert "1 suggested command(s) dropped: not read-only" in footer(render(fi))
    assert "delete-function" not in all_text(render(fi))


def test_analysis_absent_still_posts_the_raw_facts_and_says_why() -> None:
    # Given the analyse stage failed entirely
    failure = {
        "Error": "States.Timeout",
        "Cause": json.dumps({"errorMessage": "Task timed out after 30.00 seconds"}),
    }
    fi = format_input(analysis=None, analysis_failure=failure)

    # When
    message = render(fi)

    # Then
    assert slack_limit_violations(message) == []
    texts = "\n".join(section_texts(message))
    assert "⚠️ *Analysis failed* (States.Timeout): the alert is posted with its raw facts only." in texts
    assert "> Task timed out after 30.00 seconds" in texts
    assert "Threshold crossed: 1 datapoint" in texts
    assert "*Root cause*" not in texts
    assert any("fields" in b for b in message["blocks"])
    assert footer(message)[0] == "Analysis failed (States.Timeout): raw alert facts only"
    assert "View run" in buttons(message)


def test_analysis_absent_without_failure_details() -> None:
    message = render(format_input(analysis=None))
    assert "⚠️ *Analysis failed* (unknown error)" in "\n".join(section_texts(message))


def test_unknown_alert_keeps_the_raw_text_in_a_code_block() -> None:
    # Given an alert nobody recognised, whose text contains a code fence
    raw = 'Subject: something odd\n{"weird": "payload", "note": "```not a fence```"}'
    alert = alarm_alert(
        source="unknown",
        alert_type="unrecognised",
        severity="warning",
        resource=None,
        details={},
        raw_excerpt=raw,
    )

    # When
    message = render(format_input(alert=alert, analysis=claude_analysis(method="passthrough")))

    # Then the raw text is there in full, inside one code block the content cannot close: its own fence shows
    # with fullwidth backticks, and nothing invisible was added
    (raw_text,) = [t for t in section_texts(message) if t.startswith("*Raw alert*")]
    body = raw_text.split("```\n", 1)[1].rsplit("\n```", 1)[0]
    assert body == raw.replace("```", "\uff40" * 3)
    assert "\u200b" not in raw_text
    assert raw_text.count("```") == 2
    assert blocks_of(message, "header")[0]["text"]["text"].startswith("🟠 WARNING")
    assert buttons(message) == {"View run": buttons(render(format_input()))["View run"]}


# --- Escaping --------------------------------------------------------------------------------------------------

HOSTILE = "<!channel> <!here|here> <@U123> <#C42> <https://evil.example|click me> @here @channel @everyone & <b>"


def hostile_input() -> FormatInput:
    alert = alarm_alert(
        title=f"Title {HOSTILE}",
        summary=f"Summary {HOSTILE}",
        resource={"type": "AWS::Lambda::Function", "name": f"fn {HOSTILE}"},
        details={"alarm_name": "api-errors", "note": HOSTILE, "dims": {"k": HOSTILE}},
        raw_excerpt=f"raw {HOSTILE} ``` end",
        source="unknown",
        dedup_key=f"key {HOSTILE}",
    )
    return format_input(
        alert=alert,
        analysis=claude_analysis(
            model_id=f"model {HOSTILE}",
            root_cause=f"Root {HOSTILE}",
            evidence=[{"claim": f"Claim {HOSTILE}", "link": "https://evil.example/phish"}],
            diagnostics=[f"aws echo {HOSTILE}"],
            recommendations=[f"Do {HOSTILE}"],
            unknowns=[f"Unknown {HOSTILE}"],
        ),
        context=context(
            compute={
                "name": "compute",
                "status": "ok",
                "facts": [{"key": "k", "text": f"Fact {HOSTILE}", "link": "javascript:alert(1)"}],
                "notes": [f"Note {HOSTILE}"],
            },
            logs={"name": "logs", "status": "error", "error": f"Err {HOSTILE}", "cause": HOSTILE},
        ),
    )


def test_alert_and_tool_text_cannot_mention_or_link() -> None:
    # When
    message = render(hostile_input())
    dumped = all_text(message)

    # Then no Slack control sequence survives anywhere in the message
    for sequence in ("<!channel>", "<!here", "<@U123>", "<#C42>", "<https://evil.example", "<b>"):
        assert sequence not in dumped
    assert re.search(r"@(channel|here|everyone)\b", dumped) is None
    assert "&lt;!channel&gt;" in dumped
    assert "\uff20here" in dumped  # a fullwidth @: visible, never a ping
    assert "\u200b" not in dumped
    assert "&amp; &lt;b&gt;" in dumped


def test_only_console_links_are_clickable() -> None:
    message = render(hostile_input())

    mrkdwn = [t for t in section_texts(message)] + footer(message)
    links = [m for text in mrkdwn for m in re.findall(r"<([^>|]*)\|", text)]
    assert all(is_console_url(url) for url in links)
    assert "evil.example/phish" not in all_text(message)
    assert "javascript:" not in all_text(message)
    assert all(is_console_url(url) for url in buttons(message).values())


def test_broadcast_words_inside_other_words_are_left_alone() -> None:
    message = render(format_input(alert=alarm_alert(summary="email ops@herecorp.example about @channels")))
    assert "ops@herecorp.example about @channels" in all_text(message)


# --- Slack's limits --------------------------------------------------------------------------------------------


def huge_input(source: str = "cloudwatch_alarm") -> FormatInput:
    facts = [{"key": f"f{i}", "text": f"fact {i} " + "x" * 300, "link": LAMBDA_CONSOLE + f"?i={i}"} for i in range(60)]
    alert = alarm_alert(
        source=source,
        title="T" * 5000,
        summary="S & <" * 2000,
        resource={"type": "AWS::Lambda::Function", "name": "n" * 3000},
        details={f"detail_{i}": "v" * 3000 for i in range(40)} | {"threshold": 5, "state_value": 9},
        raw_excerpt="R" * 60_000,
        dedup_key="d" * 500,
    )
    analysis = claude_analysis(
        model_id="m" * 400,
        root_cause="cause " * 2000,
        evidence=[{"claim": f"claim {i} " + "e" * 500, "link": LAMBDA_CONSOLE} for i in range(100)],
        diagnostics=[f"aws logs filter-log-events --log-group-name /aws/lambda/x{i} " + "q" * 200 for i in range(100)],
        recommendations=["r" * 1000 for _ in range(50)],
        unknowns=["u" * 1000 for _ in range(50)],
        fallback_reason="f" * 5000,
    )
    sections = {
        name: {"name": name, "status": "ok", "facts": facts, "notes": ["n" * 2000] * 10, "looked_at": ["l" * 999]}
        for name in ("cost", "compute", "logs")
    }
    return format_input(alert=alert, analysis=analysis, context=sections)


@pytest.mark.parametrize("source", ["cloudwatch_alarm", "unknown", "custom", "security_hub"])
def test_huge_input_stays_within_slack_limits_and_small(source: str) -> None:
    # When
    message = render(huge_input(source))

    # Then
    assert slack_limit_violations(message) == []
    assert message_bytes(message) < TARGET_MESSAGE_BYTES
    header = blocks_of(message, "header")[0]["text"]["text"]
    assert header.endswith("…")
    assert "…and " in all_text(message)  # lists say how much they left out


def test_huge_input_without_analysis_stays_within_limits() -> None:
    fi = huge_input().model_copy(
        update={"analysis": None, "analysis_failure": {"Error": "E" * 5000, "Cause": "C" * 50_000}}
    )
    message = render(fi)
    assert slack_limit_violations(message) == []
    assert message_bytes(message) < TARGET_MESSAGE_BYTES


def test_truncation_never_cuts_an_escape_sequence_in_half() -> None:
    message = render(format_input(alert=alarm_alert(summary="&" * 5000)))
    (summary,) = [t for t in section_texts(message) if t.startswith("&amp;")]
    assert summary.endswith("&amp;…")


# --- Buttons ---------------------------------------------------------------------------------------------------


def test_view_run_links_to_the_execution() -> None:
    assert buttons(render(format_input()))["View run"] == (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        "#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:alert-intel-pipeline:7f3c2a1e"
    )


def test_no_execution_id_means_no_view_run_button() -> None:
    assert "View run" not in buttons(render(format_input(execution_id=None)))


@pytest.mark.parametrize(
    ("alert_overrides", "label", "url"),
    [
        (
            {},
            "Open alarm",
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/api-errors",
        ),
        (
            {"source": "budget", "details": {"budget_name": "monthly total"}, "resource": None},
            "Open budget",
            "https://us-east-1.console.aws.amazon.com/costmanagement/home#/budgets/details?name=monthly%20total",
        ),
        (
            {"source": "cost_anomaly", "details": {}, "resource": None},
            "Cost Anomaly Detection",
            "https://us-east-1.console.aws.amazon.com/costmanagement/home#/anomaly-detection/overview?activeTab=history",
        ),
        (
            {"source": "health", "details": {"event_arn": "arn:aws:health:eu-west-1::event/EC2/X/abc"}},
            "Health event",
            "https://health.aws.amazon.com/health/home#/account/event-log"
            "?eventID=arn%3Aaws%3Ahealth%3Aeu-west-1%3A%3Aevent%2FEC2%2FX%2Fabc&eventTab=details",
        ),
        (
            {"source": "guardduty", "details": {"finding_id": "abc123"}, "resource": None},
            "GuardDuty findings",
            "https://eu-west-1.console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?macros=current&fId=abc123",
        ),
        (
            {"source": "custom", "details": {}, "resource": {"type": "AWS::EC2::Instance", "name": "i-0abc"}},
            "EC2 instance",
            "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#InstanceDetails:instanceId=i-0abc",
        ),
        (
            {"source": "custom", "details": {}},
            "Lambda function",
            "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/api",
        ),
    ],
)
def test_source_button_opens_where_the_alert_lives(alert_overrides: dict[str, Any], label: str, url: str) -> None:
    assert buttons(render(format_input(alert=alarm_alert(**alert_overrides))))[label] == url


def test_alarm_on_a_lambda_also_links_the_function() -> None:
    assert buttons(render(format_input()))["Lambda function"] == LAMBDA_CONSOLE


# --- Output and preview ----------------------------------------------------------------------------------------


def test_format_output_carries_route_and_dedup_key() -> None:
    output = format_output(format_input(route="heartbeat"), now=NOW)
    assert output.route == "heartbeat"
    assert output.dedup_key == "cloudwatch_alarm:123456789012:api-errors"
    assert output.title == "ALARM: api-errors in EU (Ireland)"
    assert "route: heartbeat" in footer(output.message.model_dump())


def test_block_kit_builder_url_round_trips_the_blocks() -> None:
    message = format_message(format_input(), now=NOW)
    url = block_kit_builder_url(message)
    prefix = "https://app.slack.com/block-kit-builder/#"
    assert url.startswith(prefix)
    assert json.loads(unquote(url[len(prefix) :])) == {"blocks": message.blocks}


def test_empty_message_parts_are_left_out() -> None:
    fi = format_input(
        alert=alarm_alert(summary="", details={}, resource=None),
        analysis=claude_analysis(evidence=[], diagnostics=[], recommendations=[], unknowns=[]),
        context={},
    )
    message = render(fi)
    assert slack_limit_violations(message) == []
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "divider", "section", "context", "actions"]
    assert isinstance(SlackMessage.model_validate(message), SlackMessage)


# --- Heartbeat route and repeated text -------------------------------------------------------------------------


def test_heartbeat_is_compact_and_shows_each_stage() -> None:
    # Given a heartbeat whose log branch failed
    fi = format_input(
        route="heartbeat", alert=alarm_alert(severity="info"), analysis=claude_analysis(method="rule_based")
    )

    # When
    message = render(fi)

    # Then
    assert slack_limit_violations(message) == []
    assert message["text"].startswith("💚 HEARTBEAT: ALARM: api-errors")
    texts = section_texts(message)
    assert "*Pipeline* · Cost: skipped · Compute: ✓ · Logs: ✗ failed · analysis ✓" in texts
    assert not any(t.startswith(("*Root cause*", "*Evidence*", "*What we looked at*")) for t in texts)
    assert any("fields" in b for b in message["blocks"])
    assert "route: heartbeat" in footer(message)
    assert "View run" in buttons(message)


def test_heartbeat_of_an_unknown_alert_keeps_the_raw_text() -> None:
    alert = alarm_alert(source="unknown", raw_excerpt="host=db1 status=DOWN", details={}, resource=None)
    message = render(format_input(route="heartbeat", alert=alert, analysis=None))
    assert any("host=db1 status=DOWN" in t for t in section_texts(message))
    assert "*Pipeline* · Cost: skipped · Compute: ✓ · Logs: ✗ failed · analysis failed" in section_texts(message)


def test_summary_repeating_the_title_is_not_shown_twice() -> None:
    alert = alarm_alert(title="ImageProcessor: S3 GetObject timed out", summary="S3 GetObject timed out")
    message = render(format_input(alert=alert))
    assert not any(t == "S3 GetObject timed out" for t in section_texts(message))


def test_a_rendering_bug_still_yields_a_postable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a part of the renderer that blows up on some content
    from functions.format import logic

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(logic, "_fields", broken)
    alert = alarm_alert(summary="Summary <!channel>", raw_excerpt="raw text")

    # When
    message = render(format_input(alert=alert))

    # Then the alert still goes out, minimal, escaped and within limits
    assert slack_limit_violations(message) == []
    text = all_text(message)
    assert "ALARM: api-errors" in message["text"]
    assert "Summary &lt;!channel&gt;" in text
    assert "raw text" in text
    assert "Formatting failed (KeyError)" in text
    assert "|View run>" in text


def test_emoji_count_twice_towards_slacks_limits() -> None:
    # Given a title of 200 emoji (400 UTF-16 code units, the conservative count)
    message = render(format_input(alert=alarm_alert(title="🔥" * 200)))

    # Then the header still fits
    header = blocks_of(message, "header")[0]["text"]["text"]
    assert len(header.encode("utf-16-le")) // 2 <= 150
    assert header.endswith("🔥…")
    assert slack_limit_violations(message) == []
