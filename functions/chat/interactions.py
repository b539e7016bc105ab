"""Slack interactivity on the events endpoint: a verified `block_actions` click becomes a `SlackActionRequest`.

Slack posts a click as `application/x-www-form-urlencoded` with one `payload` field holding JSON (type
`block_actions`, `user`, `channel`, `container`, `message`, `actions[]` with `action_id` and `value`), signed like
every Events API request; `functions.chat.events` verifies the signature before anything here runs. Only the three
buttons of `functions.shared.slack_actions` count, only on messages in the bot's configured alert channels; every
other click, shape or field is acknowledged (200) with no effect. None of this raises.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from functions.shared.slack_actions import ACTION_KINDS, SlackActionRequest
from functions.shared.untrusted_text import clean_json

FORM_PAYLOAD_PREFIX = "payload="
# A block_actions payload carries the whole message it was clicked on: tens of kilobytes at most.
_MAX_FORM_FIELDS = 4


class NotAnInteractionError(ValueError):
    """The verified form body holds no single JSON object in `payload`: answered 400."""


def is_interaction_body(text: str) -> bool:
    """Whether a verified body is Slack's form-encoded interactivity payload (an event is a JSON object)."""
    return text.startswith(FORM_PAYLOAD_PREFIX)


def interaction_payload(text: str) -> dict[str, Any]:
    """The JSON object in the form's one `payload` field, cleaned like every untrusted string.

    Raises:
        NotAnInteractionError: not a form, no or several `payload` fields, not JSON, not an object.
    """
    try:
        fields = parse_qsl(text, keep_blank_values=True, strict_parsing=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError as exc:  # a malformed pair, too many fields
        raise NotAnInteractionError("not a form") from exc
    payloads = [value for name, value in fields if name == "payload"]
    if len(payloads) != 1:
        raise NotAnInteractionError("no single payload field")
    try:
        parsed = clean_json(json.loads(payloads[0]))
    except (ValueError, RecursionError) as exc:
        raise NotAnInteractionError("payload is not JSON") from exc
    if not isinstance(parsed, dict):
        raise NotAnInteractionError("payload is not an object")
    return parsed


def _field(container: object, *path: str) -> object:
    value = container
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def action_from_payload(
    payload: dict[str, Any], allowed_channels: Collection[str]
) -> tuple[SlackActionRequest | None, str]:
    """The click to act on, or None and why it has no effect. Never raises.

    The channel is the one Slack reports for the message (`channel.id`, else `container.channel_id`), and must be
    one of `allowed_channels` (the bot's alert channels): a click anywhere else does nothing.
    """
    kind = payload.get("type")
    if kind != "block_actions":
        return None, f"interaction {kind if isinstance(kind, str) else 'without type'}"[:100]
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None, "no action"
    action = actions[0]
    action_kind = ACTION_KINDS.get(str(action.get("action_id")))
    if action_kind is None:
        return None, "unknown action"
    channel = _field(payload, "channel", "id") or _field(payload, "container", "channel_id")
    if not isinstance(channel, str) or channel not in allowed_channels:
        return None, "channel not configured"
    message_ts = _field(payload, "container", "message_ts") or _field(payload, "message", "ts")
    try:
        request = SlackActionRequest.model_validate(
            {
                "kind": action_kind,
                "value": action.get("value"),
                "user": _field(payload, "user", "id"),
                "channel": channel,
                "message_ts": message_ts,
                "action_ts": action.get("action_ts") if isinstance(action.get("action_ts"), str) else "",
                "team_id": _field(payload, "team", "id") if isinstance(_field(payload, "team", "id"), str) else None,
            }
        )
    except ValidationError:
        return None, "malformed action"
    return request, ""


def action_claim_key(request: SlackActionRequest) -> str:
    """One claim per click (Slack does not retry interactivity, but a proxy or a double delivery might)."""
    return f"action#{request.channel}-{request.message_ts}-{request.kind}-{request.user}-{request.action_ts}"[:1000]
