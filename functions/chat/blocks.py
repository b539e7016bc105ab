"""An answer as a Slack message: escaped mrkdwn sections within Slack's limits, and a context line."""

from __future__ import annotations

import re
from typing import Any

from functions.format.mrkdwn import clip, escape
from functions.shared.chat_models import AgentAnswer
from functions.shared.models import SlackMessage

MAX_SECTION_CHARS = 3_000
MAX_ANSWER_SECTIONS = 20  # far below Slack's 50 blocks; an answer longer than that is cut
MAX_FALLBACK_CHARS = 3_000
MAX_CONTEXT_CHARS = 300

_DOUBLE_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)

_METHOD_LABEL = {
    "claude": "answered by Claude",
    "tool_findings": "tool findings, not an AI answer",
    "canned": "built-in help",
}


def to_slack_mrkdwn(text: str) -> str:
    """Markdown habits a model falls into, as Slack mrkdwn: **bold** → *bold*, headings → bold lines."""
    return _HEADING.sub(r"*\1*", _DOUBLE_BOLD.sub(r"*\1*", text))


def split_sections(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Cut text into pieces of at most `limit` characters, at paragraph, then line, boundaries when possible."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest) <= limit:
            pieces.append(rest)
            break
        cut = rest.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return pieces


def context_line(answer: AgentAnswer) -> str:
    parts = [answer.agent, _METHOD_LABEL.get(answer.method, answer.method)]
    if answer.tools_used:
        parts.append("tools: " + ", ".join(dict.fromkeys(answer.tools_used)))
    if answer.input_tokens or answer.output_tokens:
        parts.append(f"{answer.input_tokens + answer.output_tokens:,} tokens")
    parts.extend(answer.notes[:2])
    return clip(escape(" · ".join(parts)), MAX_CONTEXT_CHARS)


def answer_message(answer: AgentAnswer) -> SlackMessage:
    """The Slack message for an answer. All answer text is escaped: it can quote alert, log or tool text."""
    body = escape(to_slack_mrkdwn(answer.answer))
    sections = split_sections(body)
    if len(sections) > MAX_ANSWER_SECTIONS:
        sections = [*sections[: MAX_ANSWER_SECTIONS - 1], "_…answer cut: too long for one Slack message._"]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(piece, MAX_SECTION_CHARS)}} for piece in sections
    ]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context_line(answer)}]})
    fallback = clip(body, MAX_FALLBACK_CHARS) or "(empty answer)"
    return SlackMessage(text=fallback, blocks=blocks)
