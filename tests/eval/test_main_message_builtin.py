"""Every built-in scenario through the real state machine: the main message fits one phone screen, says each fact
once, and its thread carries the evidence (issue 14)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from functions.format.logic import format_message, render_thread
from functions.shared.models import FormatInput
from tests.support.builtin_runs import builtin_runs
from tests.support.slack_limits import slack_limit_violations
from tests.support.slack_safety import slack_safety_violations

MAX_MAIN_BLOCKS = 6
MAX_MAIN_VISIBLE_CHARS = 900
# A number a reader would recognise as one fact: four or more digits, or an amount, or a percentage.
# (Not a piece of an identifier or a date: i-0a1b2c3d4e5f60718, 2026-12-15.)
_NUMBER = re.compile(r"(?<![\w.:/-])\$?\d[\d,]*(?:\.\d+)?%?(?![\w/-]|\.\w)")


def visible_text(message: dict[str, Any]) -> str:
    """What a reader sees: header, sections, context lines and button labels, links shown as their labels."""
    texts: list[str] = []
    for block in message["blocks"]:
        if block["type"] in ("header", "section") and "text" in block:
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
        elif block["type"] == "actions":
            texts += [e["text"]["text"] for e in block["elements"]]
    return re.sub(r"<[^<>|]+\|([^<>]*)>", r"\1", "\n".join(texts))


def repeated_facts(message: dict[str, Any]) -> list[str]:
    """Amounts, percentages and big counts that appear in more than one block (the same fact said twice; a
    comparison inside one sentence, "$34.20 yesterday vs $34.20 the day before", is one fact)."""
    seen: dict[str, int] = {}
    twice: set[str] = set()
    for index, block in enumerate(message["blocks"]):
        for token in set(_NUMBER.findall(visible_text({"blocks": [block]}))):
            big = token.startswith("$") or token.endswith("%") or len(token.replace(",", "")) >= 4
            if not big or token.rstrip("%") in ("0", "100"):
                continue
            if token in seen and seen[token] != index:
                twice.add(token)
            seen.setdefault(token, index)
    return sorted(twice)


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[FormatInput, dict[str, Any], dict[str, Any] | None]]:
    results = {}
    for name, result in builtin_runs().items():  # run once per session (tests/support/builtin_runs.py)
        assert result.succeeded, (name, result.error)
        state = {**(result.analyze_input or {}), "analysis": result.analysis, "execution_id": result.execution_arn}
        fi = FormatInput.model_validate({**state, "environment": "prod"})
        thread = render_thread(fi)
        results[name] = (
            fi,
            format_message(fi).model_dump(mode="json"),
            thread.model_dump(mode="json") if thread else None,
        )
    return results


def test_every_main_message_fits_one_screen(rendered) -> None:
    for name, (_fi, message, _thread) in rendered.items():
        assert len(message["blocks"]) <= MAX_MAIN_BLOCKS, name
        assert len(visible_text(message)) <= MAX_MAIN_VISIBLE_CHARS, (name, visible_text(message))
        assert slack_limit_violations(message) == [], name
        assert slack_safety_violations(message, posted=False) == [], name
        assert not any("fields" in block for block in message["blocks"]), name


def test_no_main_message_says_a_fact_twice(rendered) -> None:
    for name, (_fi, message, _thread) in rendered.items():
        assert repeated_facts(message) == [], (name, visible_text(message))


def test_the_thread_carries_the_evidence_with_its_links(rendered) -> None:
    for name, (_fi, _message, thread) in rendered.items():
        assert thread is not None, name
        assert slack_limit_violations(thread) == [], name
        assert slack_safety_violations(thread, posted=False) == [], name
        evidence = next(b["text"]["text"] for b in thread["blocks"] if b["type"] == "section")
        assert evidence.startswith("*Evidence*"), name
        assert "<https://" in evidence, name  # each fact with its console link
        checked = [b["text"]["text"] for b in thread["blocks"] if b["type"] == "section"]
        assert any(t.startswith("*What we looked at*") for t in checked), name
        diagnostics = [t for t in checked if t.startswith("*Diagnostics*")]
        for text in diagnostics:
            assert text.count("\naws ") <= 3, name


def test_the_false_alarm_is_green_and_the_rest_keep_their_severity(rendered) -> None:
    _fi, message, _thread = rendered["healthy-false-alarm"]
    header = message["blocks"][0]["text"]["text"]
    assert header.startswith("🟢 Likely false alarm: ReportGenerator-Errors"), header
    assert "🔴" not in message["text"] and "CRITICAL" not in message["text"]
    storm = rendered["lambda-invocation-storm"][1]["blocks"][0]["text"]["text"]
    assert storm == "🔴 CRITICAL Invocation storm on Lambda ImageProcessor → budget 104% ($1,042 / $1,000)"


def test_the_first_button_opens_the_implicated_resource(rendered) -> None:
    buttons = {
        name: [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
        for name, (_fi, message, _thread) in rendered.items()
    }
    assert buttons["lambda-invocation-storm"][:2] == ["Open ImageProcessor", "Errors in Logs Insights"]
    assert buttons["lambda-errors-after-deploy"][0] == "Open CheckoutService"
    assert all(1 <= len(labels) <= 3 for labels in buttons.values()), buttons
    assert not any("View run" in labels for labels in buttons.values())


def test_with_the_act_from_slack_buttons_every_main_message_still_fits(rendered) -> None:
    # Given the bot posts the route (its clicks reach the chat endpoint): Acknowledge and Mute 1 h join the buttons
    from functions.shared.slack_actions import ACKNOWLEDGE_ACTION_ID, ANALYZE_ACTION_ID, MUTE_ACTION_ID

    for name, (fi, _message, _thread) in rendered.items():
        message = format_message(fi, interactive=True).model_dump(mode="json")
        acting = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if "value" in e]
        # Then the message is still one screen, and the buttons carry a key, never alert text
        assert len(message["blocks"]) <= MAX_MAIN_BLOCKS, name
        assert len(visible_text(message)) <= MAX_MAIN_VISIBLE_CHARS, (name, visible_text(message))
        assert slack_limit_violations(message) == [], name
        assert slack_safety_violations(message, posted=False) == [], name
        expected = [ANALYZE_ACTION_ID] if fi.route == "heartbeat" else [ACKNOWLEDGE_ACTION_ID, MUTE_ACTION_ID]
        assert [e["action_id"] for e in acting] == expected, name
        assert all(len(e["value"]) <= 2000 and "\n" not in e["value"] for e in acting), name
