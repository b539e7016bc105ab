"""Plain-text rendering for the terminal: the console-like state table and a Slack message preview."""

from __future__ import annotations

import re
from typing import Any

from functions.local_runner.runner import RunResult

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


def _unslack(text: str) -> str:
    """Show Slack mrkdwn as a terminal would: links as `label (url)`, entities decoded."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def state_table(result: RunResult) -> str:
    rows = [("State", "Status", "Duration", "Output", "Attempts")]
    for state in result.states:
        status = state.status if not state.error else f"{state.status} ({state.error})"
        rows.append((state.name, status, f"{state.duration_ms} ms", f"{state.output_bytes:,} B", str(state.attempts)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"Execution {result.status} in {result.seconds:.2f} s")
    if result.error:
        lines.append(f"Error: {result.error}: {(result.cause or '')[:500]}")
    return "\n".join(lines)


def _element_text(element: dict[str, Any]) -> str:
    text = element.get("text")
    if isinstance(text, dict):
        return str(text.get("text", ""))
    return str(text or "")


def message_preview(message: dict[str, Any]) -> str:
    """A readable approximation of how Slack shows the message."""
    lines: list[str] = []
    for block in message.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            title = _unslack(_element_text(block))
            lines += [title, "=" * min(len(title), 100)]
        elif kind == "section":
            if block.get("text"):
                lines.append(_unslack(_element_text(block)))
            for field in block.get("fields", []):
                lines.append("  " + _unslack(str(field.get("text", ""))).replace("\n", " "))
        elif kind == "context":
            lines.append(" | ".join(_unslack(_element_text(e) or str(e.get("text", ""))) for e in block["elements"]))
        elif kind == "actions":
            buttons = [f"[{_element_text(e)}] {e.get('url', '')}" for e in block.get("elements", [])]
            lines.extend(buttons)
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "rich_text" or kind is not None:
            lines.append(f"({kind} block)")
        lines.append("")
    if not lines:
        lines.append(_unslack(str(message.get("text", ""))))
    return "\n".join(lines).rstrip()
