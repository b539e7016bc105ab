"""Answer messages: escaped, within Slack's limits, labelled."""

from __future__ import annotations

from functions.chat.blocks import answer_message
from functions.shared.chat_models import AgentAnswer


def test_tool_and_model_text_cannot_ping_or_link():
    answer = AgentAnswer(
        agent="LogsAnalyst",
        answer="Log line: <!channel> click <https://evil.example|reset password> @here",
        method="tool_findings",
        tools_used=["log_errors"],
    )
    message = answer_message(answer)
    rendered = message.blocks[0]["text"]["text"]
    assert "<!channel>" not in rendered and "<https://" not in rendered
    assert "&lt;!channel&gt;" in rendered
    assert "@here" not in rendered
    assert "<!channel>" not in message.text


def test_long_answers_are_split_within_section_limits_and_labelled():
    paragraphs = "\n\n".join("x" * 1_200 for _ in range(10))
    answer = AgentAnswer(agent="CostAnalyst", answer=paragraphs, method="claude", input_tokens=900, output_tokens=100)
    message = answer_message(answer)
    sections = [b for b in message.blocks if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(b["text"]["text"]) <= 3_000 for b in sections)
    assert len(message.blocks) <= 50
    assert len(message.text) <= 3_000
    context = message.blocks[-1]["elements"][0]["text"]
    assert "CostAnalyst" in context and "answered by Claude" in context and "1,000 tokens" in context


def test_markdown_bold_becomes_slack_bold():
    message = answer_message(AgentAnswer(agent="General", answer="## Cause\n**Lambda** spiked", method="claude"))
    assert message.blocks[0]["text"]["text"] == "*Cause*\n*Lambda* spiked"
