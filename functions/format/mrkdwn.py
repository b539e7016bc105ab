"""Making untrusted text safe and short for Slack.

Alert payloads, tool output and model output are attacker-influenced: an alarm description or a log line can say
`<!channel>` or `<https://evil.example|Reset your password>`. Everything that did not come from our own code goes
through `escape` before it reaches a message, so it shows as text and never notifies or links. Links that our
code builds (console deep links) are added with `link`, which accepts only AWS console URLs.
"""

from __future__ import annotations

import re

from functions.shared.console_links import is_console_url

ELLIPSIS = "…"
_ZWSP = "\u200b"
# Slack turns these into notifications even without the `<!...>` syntax in some clients and integrations.
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_FENCE = re.compile(r"`{3,}")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: object) -> str:
    """Escape `&`, `<`, `>` (Slack's control characters) and defuse bare @channel/@here/@everyone.

    After this, `<!channel>`, `<@U123>` and `<https://x|y>` arrive as visible, inert text.
    """
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _ZWSP, value)


def slack_length(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts twice): the conservative reading of Slack's
    character limits, which never undercounts."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    """Cut already-escaped `text` to at most `limit` characters (counted by `slack_length`), ending with "…" and
    never mid-entity."""
    if len(text) <= limit and slack_length(text) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - 1  # room for the ellipsis
    end = 0
    for ch in text:
        budget -= 2 if ord(ch) > 0xFFFF else 1
        if budget < 0:
            break
        end += 1
    return _PARTIAL_ENTITY.sub("", text[:end]) + ELLIPSIS


def safe(text: object, limit: int) -> str:
    """`escape` then `clip`: the one call for alert-, tool- or model-supplied text in mrkdwn."""
    raw = str(text)
    # Clip the raw text first so a huge input is not escaped in full just to be thrown away.
    return clip(escape(raw[: limit + 1] if len(raw) > limit else raw), limit)


def one_line(text: object) -> str:
    """Collapse whitespace (newlines included) so a value fits on one bullet line."""
    return " ".join(str(text).split())


def code_block(text: object, limit: int) -> str:
    """A ``` block of escaped text whose own backtick fences are broken, so it cannot end the block early."""
    body = _FENCE.sub(lambda m: _ZWSP.join(m.group()), str(text)).strip("\n")
    # The fences take 8 characters ("```\n" + "\n```"); the newline keeps a trailing backtick off the fence.
    return "```\n" + safe(body, max(limit - 8, 1)) + "\n```"


def link(url: str | None, label: str) -> str:
    """`<url|label>` when `url` is an AWS console link, else just `label` (already escaped by the caller).

    Characters that would end the link early are percent-encoded in the URL.
    """
    if url is None or not is_console_url(url):
        return label
    target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{target}|{label}>"
