"""Slack Block Kit limits as a test assertion: any test that produces a Slack message can check it."""

from __future__ import annotations

import json
from typing import Any

LIMITS = {
    "blocks": 50,
    "header_text": 150,
    "section_text": 3000,
    "fields": 10,
    "field_text": 2000,
    "button_text": 75,
    "button_url": 3000,
    "context_elements": 10,
    "fallback_text": 3000,
}


def slack_limit_violations(message: dict[str, Any]) -> list[str]:
    """Every way `message` ({"text", "blocks"}) breaks a documented Block Kit limit; empty when it fits."""
    problems: list[str] = []
    text = message.get("text") or ""
    if not text.strip():
        problems.append("top-level text (notification fallback) is empty")
    problems += _too_long("top-level text", text, LIMITS["fallback_text"])
    blocks = message.get("blocks") or []
    if len(blocks) > LIMITS["blocks"]:
        problems.append(f"{len(blocks)} blocks")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        where = f"block {i} ({kind})"
        if kind == "header":
            problems += _too_long(where, block["text"]["text"], LIMITS["header_text"])
            if block["text"]["type"] != "plain_text":
                problems.append(f"{where} header text must be plain_text")
        elif kind == "section":
            if "text" in block:
                problems += _too_long(where, block["text"]["text"], LIMITS["section_text"])
            fields = block.get("fields") or []
            if len(fields) > LIMITS["fields"]:
                problems.append(f"{where} has {len(fields)} fields")
            for field in fields:
                problems += _too_long(f"{where} field", field["text"], LIMITS["field_text"])
            if "text" not in block and not fields:
                problems.append(f"{where} has neither text nor fields")
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > LIMITS["context_elements"]:
                problems.append(f"{where} has {len(elements)} elements")
            for element in elements:
                problems += _too_long(f"{where} element", element.get("text", ""), LIMITS["section_text"])
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > 25:
                problems.append(f"{where} has {len(elements)} elements")
            for element in elements:
                problems += _too_long(f"{where} button text", element["text"]["text"], LIMITS["button_text"])
                problems += _too_long(f"{where} button url", element.get("url", ""), LIMITS["button_url"])
        elif kind != "divider":
            problems.append(f"{where}: unexpected block type")
    return problems


def message_bytes(message: dict[str, Any]) -> int:
    return len(json.dumps(message, ensure_ascii=False).encode())


def _too_long(where: str, text: str, limit: int) -> list[str]:
    # Counted in UTF-16 code units (an emoji outside the BMP counts twice): never undercounts Slack's limits.
    length = len(text.encode("utf-16-le")) // 2
    return [f"{where}: {length} chars > {limit}"] if length > limit else []
