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
    TARGET_THREAD_BYTES,
    block_kit_builder_url,
    format_message,
    format_output,
    render_thread,
)
from functions.post.logic import webhook_body
from functions.shared.console_links import is_console_url
from functions.shared.models import FormatInput, PostInput, SlackMessage
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
    """The main message."""
    return format_message(fi, now=NOW).model_dump(mode="json")


def thread_of(fi: FormatInput) -> dict[str, Any]:
    """The thread's first reply."""
    thread = render_thread(fi, now=NOW)
    assert thread is not None
    return thread.model_dump(mode="json")


def posted(fi: FormatInput) -> dict[str, Any]:
    """What an incoming webhook receives: the main message with the thread's content below it."""
    message, thread = format_message(fi, now=NOW), render_thread(fi, now=NOW)
    return webhook_body(PostInput(message=message, thread=thread))


def blocks_of(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in message["blocks"] if b["type"] == kind]


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def section_texts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in blocks_of(message, "section") if "text" in b]


def footer(message: dict[str, Any]) -> list[str]:
    """The last context block: the main message's footer, or the thread's."""
    context_block = blocks_of(message, "context")[-1]
    return [e["text"] for e in context_block["elements"]]


def context_line(message: dict[str, Any]) -> str:
    (line,) = [e["text"] for e in blocks_of(message, "context")[0]["elements"]]
    return line


def visible_chars(message: dict[str, Any]) -> int:
    """What a reader sees: header, sections, context lines and button labels, links shown as their labels."""
    texts: list[str] = []
    for block in message["blocks"]:
        if block["type"] in ("header", "section") and "text" in block:
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
        elif block["type"] == "actions":
            texts += [e["text"]["text"] for e in block["elements"]]
    return len(re.sub(r"<[^<>|]+\|([^<>]*)>", r"\1", "\n".join(texts)))


def buttons(message: dict[str, Any]) -> dict[str, str]:
    actions = blocks_of(message, "actions")
    return {e["text"]["text"]: e["url"] for block in actions for e in block["elements"]}


# --- Content ---------------------------------------------------------------------------------------------------


def test_typical_alarm_renders_every_part() -> None:
    # Given / When
    fi = format_input()
    message, thread = render(fi), thread_of(fi)

    # Then the main message says what broke, why and what to do, in at most six blocks
    assert slack_limit_violations(message) == []
    assert slack_limit_violations(thread) == []
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "section", "actions", "context", "context"]
    header = blocks_of(message, "header")[0]["text"]["text"]
    assert header == "🔴 CRITICAL ALARM: api-errors in EU (Ireland)"
    assert message["text"].startswith("🔴 CRITICAL: ALARM: api-errors")
    assert "The 18:55 deploy of api broke the image decoder." in message["text"]
    texts = "\n".join(section_texts(message))
    assert "*Why* (high confidence)\nThe 18:55 deploy of api broke the image decoder." in texts
    assert "*Do now*: Roll back api to version 41" in texts
    # And the thread holds the evidence, the diagnostics and the unknowns
    thread_texts = "\n".join(section_texts(thread))
    assert f"• <{LAMBDA_CONSOLE}|Errors started 2 minutes after the deploy> _(Compute)_" in thread_texts
    assert "```\naws lambda get-function --function-name api --region eu-west-1\n```" in thread_texts
    assert "• Whether the queue retried the failed images" in thread_texts
    assert "Roll back api" not in thread_texts  # said once, in the main message
    assert "Evidence" not in texts


def test_one_context_line_replaces_the_fields() -> None:
    message = render(format_input(environment="prod"))

    assert not any("fields" in b for b in message["blocks"])
    assert context_line(message) == "prod · 123456789012 · eu-west-1 · CloudWatch alarm · api · 2026-11-25 18:59 UTC"


def test_header_says_what_broke_and_the_budget_it_crossed() -> None:
    # Given a budget alert whose analysis names the cause first
    alert = alarm_alert(
        source="budget",
        alert_type="budget_threshold_exceeded",
        resource=None,
        details={"budget_name": "monthly-total", "budgeted_amount": 500.0, "actual_amount": 612.4, "unit": "USD"},
    )
    analysis = claude_analysis(root_cause="Invocation storm on Lambda api: 3x the invocations of the day before.")

    # When
    message = render(format_input(alert=alert, analysis=analysis))

    # Then the header is the cause and its impact, and the why is what the header does not say
    header = blocks_of(message, "header")[0]["text"]["text"]
    assert header == "🔴 CRITICAL Invocation storm on Lambda api → budget 122% ($612 / $500)"
    assert "*Why* (high confidence)\n3x the invocations of the day before." in section_texts(message)


def test_the_thread_says_what_each_section_checked_in_one_line() -> None:
    thread = thread_of(format_input())

    (checked,) = [t for t in section_texts(thread) if t.startswith("*What we looked at*")]
    assert checked.split("\n")[1:] == [
        "*Cost*: skipped (not a cost alert)",
        "*Compute*: Lambda api metrics, last 1 h → 1 fact",
        "*Logs*: ⚠️ failed (GatherThrottledError: Logs Insights throttled)",
    ]


def test_footer_says_how_it_was_analysed_how_long_it_took_and_links_the_run() -> None:
    assert footer(render(format_input())) == [
        "Claude anthropic.claude-sonnet-4-5",
        "⏱ 42.5 s",
        f"<https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{EXECUTION_ARN}"
        "|View run>",
    ]
    # The thread's footer has the tokens, the cost and the dedup key
    assert footer(thread_of(format_input())) == [
        "Claude anthropic.claude-sonnet-4-5 · 1,200 in/300 out tokens · $0.0041",
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
    assert "1 suggested command(s) dropped: not read-only" in footer(thread_of(fi))
    assert "delete-function" not in all_text(posted(fi))


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
    assert "*Why*" not in texts
    assert footer(message)[0] == "Analysis failed (States.Timeout): raw alert facts only"
    assert "|View run>" in footer(message)[-1]
    # And the thread has the gathered facts as the evidence
    assert f"• <{LAMBDA_CONSOLE}|api: 12 errors in 5 min> _(Compute)_" in "\n".join(section_texts(thread_of(fi)))


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
    (raw_text,) = [t for t in section_texts(thread_of(format_input(alert=alert))) if t.startswith("*Raw alert*")]
    body = raw_text.split("```\n", 1)[1].rsplit("\n```", 1)[0]
    assert body == raw.replace("```", "\uff40" * 3)
    assert "\u200b" not in raw_text
    assert raw_text.count("```") == 2
    assert blocks_of(message, "header")[0]["text"]["text"].startswith("🟠 WARNING")
    assert buttons(message) == {}
    assert "|View run>" in footer(message)[-1]


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
    message = posted(hostile_input())
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
    message = posted(hostile_input())

    mrkdwn = [t for t in section_texts(message)] + [
        e["text"] for b in blocks_of(message, "context") for e in b["elements"]
    ]
    links = [m for text in mrkdwn for m in re.findall(r"<([^>|]*)\|", text)]
    assert all(is_console_url(url) for url in links)
    assert "evil.example/phish" not in all_text(message)
    assert "javascript:" not in all_text(message)
    assert all(is_console_url(url) for url in buttons(message).values())


def test_broadcast_words_inside_other_words_are_shown_but_defanged() -> None:
    # A word that only contains a broadcast gets the fullwidth `@` too (it reads the same), so no later cut of the
    # text ("@channel…", "ops@here…") can turn it into a mention.
    message = posted(format_input(alert=alarm_alert(summary="email ops@herecorp.example about @channels")))
    assert "ops\uff20herecorp.example about \uff20channels" in all_text(message)


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
    fi = huge_input(source)
    message, thread = render(fi), thread_of(fi)

    # Then
    assert slack_limit_violations(message) == []
    assert slack_limit_violations(thread) == []
    assert slack_limit_violations(posted(fi)) == []
    assert message_bytes(message) < TARGET_MESSAGE_BYTES
    assert message_bytes(thread) < TARGET_THREAD_BYTES
    assert len(message["blocks"]) <= 6
    assert visible_chars(message) <= 900
    header = blocks_of(message, "header")[0]["text"]["text"]
    assert header.endswith("…")
    assert "…and " in all_text(thread)  # lists say how much they left out


def test_huge_input_without_analysis_stays_within_limits() -> None:
    fi = huge_input().model_copy(
        update={"analysis": None, "analysis_failure": {"Error": "E" * 5000, "Cause": "C" * 50_000}}
    )
    message = render(fi)
    assert slack_limit_violations(message) == []
    assert message_bytes(message) < TARGET_MESSAGE_BYTES
    assert slack_limit_violations(posted(fi)) == []


def test_truncation_never_cuts_an_escape_sequence_in_half() -> None:
    message = thread_of(format_input(alert=alarm_alert(summary="&" * 5000)))
    (summary,) = [t for t in section_texts(message) if t.startswith("&amp;")]
    assert summary.endswith("&amp;…")


# --- Buttons ---------------------------------------------------------------------------------------------------


def test_view_run_is_in_the_footer_not_a_button() -> None:
    message = render(format_input())
    assert "View run" not in buttons(message)
    assert footer(message)[-1] == (
        "<https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        "#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:alert-intel-pipeline:7f3c2a1e"
        "|View run>"
    )


def test_no_execution_id_means_no_view_run_link() -> None:
    assert "View run" not in all_text(render(format_input(execution_id=None)))


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
    assert kinds == ["header", "section", "section", "actions", "context", "context"]
    assert "*Do now*: start from CloudWatch alarms (first button)" in section_texts(message)
    assert render_thread(fi, now=NOW) is not None  # the footer with the model and the dedup key, at least
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
    assert "|View run>" in footer(message)[-1]
    assert render_thread(fi, now=NOW) is None


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

    monkeypatch.setattr(logic, "_main_buttons", broken)
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


# --- Incidents -------------------------------------------------------------------------------------------------


def test_an_alarm_back_to_ok_is_one_compact_resolution_line() -> None:
    # Given the alarm's OK notification on the critical route
    alert = alarm_alert(
        title="OK: api-errors in EU (Ireland)",
        severity="info",
        details={
            "alarm_name": "api-errors",
            "alarm_arn": "arn:aws:cloudwatch:eu-west-1:1:alarm:api-errors",
            "state": "OK",
        },
    )

    # When
    output = format_output(format_input(alert=alert), now=NOW)

    # Then one line, no investigation in a thread, and the incident it closes
    assert [b["type"] for b in output.message.blocks] == ["context"]
    assert output.message.text == "✅ Resolved 18:59 UTC: api-errors in EU (Ireland)"
    assert output.thread is None
    assert output.incident is not None
    assert output.incident.resolved is True
    assert output.incident.key == "alarm#arn:aws:cloudwatch:eu-west-1:1:alarm:api-errors"
    assert slack_limit_violations(output.message.model_dump(mode="json")) == []


def test_the_same_alarm_firing_again_is_the_same_incident() -> None:
    first = format_output(format_input(), now=NOW)
    again = format_output(format_input(alert=alarm_alert(occurred_at="2026-11-25T19:20:00Z")), now=NOW)
    assert first.incident is not None and again.incident is not None
    assert first.incident.key == again.incident.key == "alarm#123456789012:eu-west-1:api-errors"
    assert first.incident.resolved is False
    assert first.incident.evidence_digest == again.incident.evidence_digest
