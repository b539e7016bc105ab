"""An answer as a Slack message: escaped mrkdwn sections within Slack's limits, and a context line.

An answer is model or tool text that quotes alert, log and tool output, so it follows the alert message's rules
(`functions.shared.slack_text`): no mention, no clickable link, no invisible character, no code block, quote or
strike. Two things survive, each on one line: bold, written as `*bold*` (what the prompt asks for, and how tool
findings label their parts) or as Markdown's `**bold**` and headings, and `_italics_` (how a tool-findings answer
says it is not an AI answer). They cannot pass for one of the bot's own sections here: the whole answer is under a
context line that says who answered, and an answer message has no sections of the bot's own. Only ASCII `*` and
`_` in the answer format; fullwidth ones stay text.
"""

from __future__ import annotations

import re
from typing import Any

from functions.shared.chat_models import AgentAnswer
from functions.shared.models import SlackMessage
from functions.shared.slack_text import clip, defang, escape
from functions.shared.untrusted_text import clean_text

MAX_SECTION_CHARS = 3_000
MAX_ANSWER_SECTIONS = 20  # far below Slack's 50 blocks; an answer longer than that is cut
MAX_FALLBACK_CHARS = 3_000
MAX_CONTEXT_CHARS = 300

_DOUBLE_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)
# `*bold*` or `_italics_` on one line, not inside a word, and not glued to a dot and a word (`evil.*com*` must stay
# unlinkable).
_EMPHASIS = re.compile(
    r"(?<![\w*])(?<!\w[.])"
    r"(?:\*(?=\S)(?P<bold>[^\n]{1,300}?)(?<=\S)\*|_(?=\S)(?P<italic>[^\n]{1,300}?)(?<=\S)_)"
    r"(?![\w*])(?![.]\w)"
)
# The end of a dotted name: a hard cut there could leave a shorter name that ends in a TLD.
_DOTTED_TAIL = re.compile(r"[.\u3002\uff0e\uff61][^\s.\u3002\uff0e\uff61]*$")

_METHOD_LABEL = {
    "claude": "answered by Claude",
    "tool_findings": "tool findings, not an AI answer",
    "canned": "built-in help",
}


def to_slack_mrkdwn(text: str) -> str:
    """Markdown habits a model falls into, as Slack mrkdwn: **bold** → *bold*, headings → bold lines."""
    return _HEADING.sub(r"*\1*", _DOUBLE_BOLD.sub(r"*\1*", text))


def answer_mrkdwn(text: str) -> str:
    """Answer text as safe mrkdwn: everything escaped (`functions.shared.slack_text.escape`) except one-line bold
    and italics."""
    # Links are defanged over the whole text first, so that no emphasis marker can split a name Slack would link.
    text = defang(clean_text(to_slack_mrkdwn(text)))
    parts: list[str] = []
    position = 0
    for match in _EMPHASIS.finditer(text):
        parts.append(escape(text[position : match.start()]))
        bold = match.group("bold")
        parts.append(f"*{escape(bold)}*" if bold is not None else f"_{escape(match.group('italic'))}_")
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


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
            tail = _DOTTED_TAIL.search(rest[:cut])
            if tail is not None and tail.start() > 0 and not rest[cut].isspace():
                cut = tail.start()
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
    body = answer_mrkdwn(answer.answer)
    sections = split_sections(body)
    if len(sections) > MAX_ANSWER_SECTIONS:
        sections = [*sections[: MAX_ANSWER_SECTIONS - 1], "_…answer cut: too long for one Slack message._"]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(piece, MAX_SECTION_CHARS)}} for piece in sections
    ]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context_line(answer)}]})
    fallback = clip(body, MAX_FALLBACK_CHARS) or "(empty answer)"
    return SlackMessage(text=fallback, blocks=blocks)
