"""Property tests: whatever text arrives, the message fits Slack's limits, no control sequence survives, and it
passes every rule of `tests.support.slack_safety` (no link off the consoles, no forged section, nothing hidden)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.format.logic import TARGET_MESSAGE_BYTES, TARGET_THREAD_BYTES, format_message, render_thread
from functions.post.logic import webhook_body
from functions.shared.models import FormatInput, PostInput
from functions.shared.slack_text import clip, code_block, escape
from functions.shared.untrusted_text import has_invisible_controls
from tests.support.slack_limits import message_bytes, slack_limit_violations
from tests.support.slack_safety import link_problems, slack_safety_violations

# Text biased towards what breaks Slack messages: control sequences, entities, fences, broadcast words, links,
# forged headings and invisible characters.
NASTY = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<@U1>",
        "<#C1|x>",
        "<https://evil.example|y>",
        "@here",
        "@channel",
        "@everyone",
        "&",
        "&amp;",
        "<",
        ">",
        "```",
        "`",
        "|",
        "*",
        "_",
        "~",
        "\n",
        "é",
        "🔥",
        "\u200b",
        "\u202e",
        "\u2066",
        "https://",
        "http://evil.example/x",
        "www.",
        "evil",
        ".",
        "com",
        ".io",
        "\u3002",
        "mailto:",
        "ops@evil.co",
        "handler.py",
        "> ",
        "*Root cause*",
        "*Diagnostics* (read-only commands)",
        "Root cause",
    ]
)
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=40)), max_size=30).map("".join)
LONG_TEXT = st.one_of(TEXT, st.integers(min_value=0, max_value=8000).map(lambda n: "<!channel>&" * n))
SCALAR = st.one_of(TEXT, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none())
LINK = st.one_of(st.none(), st.just("https://us-east-1.console.aws.amazon.com/x?a=1&b=<2>|3"), TEXT)


def section(name: str) -> st.SearchStrategy[dict[str, Any]]:
    fact = st.fixed_dictionaries({"key": TEXT, "text": LONG_TEXT, "link": LINK})
    return st.fixed_dictionaries(
        {
            "name": st.just(name),
            "status": st.sampled_from(["ok", "error", "skipped"]),
            "looked_at": st.lists(TEXT, max_size=3),
            "facts": st.lists(fact, max_size=12),
            "notes": st.lists(TEXT, max_size=3),
            "error": st.one_of(st.none(), TEXT),
            "cause": st.one_of(st.none(), LONG_TEXT),
        }
    )


ALERT = st.fixed_dictionaries(
    {
        "source": st.sampled_from(
            ["budget", "cost_anomaly", "cloudwatch_alarm", "health", "security_hub", "guardduty", "custom", "unknown"]
        ),
        "alert_type": TEXT,
        "severity": st.sampled_from(["critical", "warning", "info"]),
        "title": LONG_TEXT,
        "summary": LONG_TEXT,
        "account_id": st.one_of(st.none(), TEXT),
        "region": st.one_of(st.none(), st.sampled_from(["us-east-1", "eu-west-1", "cn-north-1"]), TEXT),
        "resource": st.one_of(
            st.none(),
            st.fixed_dictionaries({"type": TEXT, "name": TEXT, "arn": st.one_of(st.none(), TEXT)}),
        ),
        "details": st.dictionaries(TEXT, st.one_of(SCALAR, st.dictionaries(TEXT, SCALAR, max_size=3)), max_size=15),
        "dedup_key": TEXT,
        "raw_excerpt": st.one_of(st.none(), LONG_TEXT),
    }
)
ANALYSIS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "method": st.sampled_from(["claude", "rule_based", "passthrough"]),
            "model_id": st.one_of(st.none(), TEXT),
            "root_cause": LONG_TEXT,
            "confidence": st.sampled_from(["high", "medium", "low"]),
            "evidence": st.lists(st.fixed_dictionaries({"claim": LONG_TEXT, "link": LINK}), max_size=20),
            "diagnostics": st.lists(LONG_TEXT, max_size=20),
            "recommendations": st.lists(TEXT, max_size=20),
            "unknowns": st.lists(TEXT, max_size=20),
            "fallback_reason": st.one_of(st.none(), TEXT),
            "dropped_commands": st.lists(TEXT, max_size=3),
        }
    ),
)
FORMAT_INPUT = st.fixed_dictionaries(
    {
        "route": st.sampled_from(["critical", "heartbeat"]),
        "alert": ALERT,
        "context": st.fixed_dictionaries(
            {"cost": section("cost"), "compute": section("compute"), "logs": section("logs")}
        ),
        "analysis": ANALYSIS,
        "analysis_failure": st.one_of(st.none(), st.fixed_dictionaries({"Error": TEXT, "Cause": LONG_TEXT})),
        "execution_id": st.one_of(st.none(), st.just("arn:aws:states:eu-west-1:1:execution:sm:run"), TEXT),
    }
)
CONTROL = re.compile(r"<[!@#]|<https?:(?!//[a-z0-9-]+\.console\.aws\.amazon\.com/)|@(?:channel|here|everyone)\b")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(FORMAT_INPUT)
def test_any_input_gives_a_message_within_limits_with_no_control_sequences(data: dict[str, Any]) -> None:
    # Given / When the main message and its thread are rendered
    fi = FormatInput.model_validate(data)
    main, thread = format_message(fi), render_thread(fi)
    message = main.model_dump(mode="json")

    # Then each, and the webhook body that carries both, is within limits and safe
    assert len(message["blocks"]) <= 6 or fi.route == "heartbeat"
    assert message_bytes(message) < TARGET_MESSAGE_BYTES
    if thread is not None:
        assert message_bytes(thread.model_dump(mode="json")) < TARGET_THREAD_BYTES
    bodies = [message, webhook_body(PostInput(message=main, thread=thread))]
    bodies += [thread.model_dump(mode="json")] if thread is not None else []
    for body in bodies:
        assert slack_limit_violations(body) == []
        assert CONTROL.search(json.dumps(body, ensure_ascii=False)) is None
        assert slack_safety_violations(body, posted=False) == []
        for text in mrkdwn_texts(body):  # every "<" opens a whole link we built, never a cut one
            assert text.count("<") == len(WHOLE_LINK.findall(text)), text


WHOLE_LINK = re.compile(r"<https://[^|<>\s]+\|[^<>]*>")


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        if block["type"] == "section":
            texts += [block["text"]["text"]] if "text" in block else []
            texts += [field["text"] for field in block.get("fields", [])]
        elif block["type"] == "context":
            texts += [element["text"] for element in block["elements"]]
    return texts


@given(TEXT, st.integers(min_value=1, max_value=300))
def test_clip_of_escaped_text_never_leaves_a_broken_entity(text: str, limit: int) -> None:
    clipped = clip(escape(text), limit)
    assert len(clipped) <= limit
    assert re.search(r"&(?!amp;|lt;|gt;)", clipped) is None
    assert "<" not in clipped and ">" not in clipped


# Alerts are cleaned at ingest; the escaping must still hold for text that was not (a lone surrogate from a JSON
# escape in a model answer, say).
RAW_TEXT = st.lists(st.one_of(NASTY, st.just("\ud800"), st.text(max_size=40)), max_size=30).map("".join)


@given(RAW_TEXT)
def test_escaped_text_never_formats_links_or_hides(text: str) -> None:
    escaped = escape(text)
    assert not any(ch in escaped for ch in "*~`<>")
    assert not has_invisible_controls(escaped)
    assert link_problems(escaped) == []


@given(TEXT, st.integers(min_value=1, max_value=300))
def test_clipped_text_never_links(text: str, limit: int) -> None:
    assert link_problems(clip(escape(text), limit)) == []


@given(TEXT, st.integers(min_value=20, max_value=500))
def test_a_code_block_cannot_be_closed_early(text: str, limit: int) -> None:
    block = code_block(text, limit)
    assert len(block) <= limit
    assert block.startswith("```\n") and block.endswith("\n```")
    assert "```" not in block[3:-3]
