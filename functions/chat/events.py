"""The Slack events endpoint: verify, de-duplicate, hand over, answer within Slack's three seconds.

Plain logic shared by the Lambda behind API Gateway (`events_handler`) and `alert-intel slack-server`.
Which events become questions: `app_mention` anywhere, and `message` events in direct messages
(`channel_type = "im"`). Everything else that verifies is acknowledged with 200 and dropped: bot messages,
the bot's own posts, edits and other subtypes. A retried delivery (Slack sends `X-Slack-Retry-Num`) of an event
already handed over is acknowledged and dropped; so is a second event for the same message (Slack sends both
`app_mention` and `message.im` events when subscribed to both).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.signature import SignatureVerifier

from functions.chat.models import ChatRequest
from functions.shared.observability import logger

# Subtypes that are still a person asking something; every other subtype (bot_message, message_changed,
# message_deleted, channel_join, ...) is not a question.
_QUESTION_SUBTYPES = {None, "", "thread_broadcast", "file_share"}
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


class ClaimStore(Protocol):
    def claim(self, key: str) -> bool: ...

    def release(self, key: str) -> None: ...


class WorkerDispatcher(Protocol):
    def __call__(self, request: ChatRequest) -> None: ...


@dataclass
class HttpResponse:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain; charset=utf-8"})
    outcome: str = ""  # why, for logs and tests: "challenge", "dispatched", "duplicate", "ignored:<reason>", ...


def _text(status: int, body: str, outcome: str) -> HttpResponse:
    return HttpResponse(status=status, body=body, outcome=outcome)


def handle_slack_request(
    body: str,
    headers: Mapping[str, str],
    verifier: SignatureVerifier,
    claims: ClaimStore,
    dispatch: WorkerDispatcher,
) -> HttpResponse:
    """Answer one POST to /slack/events.

    `body` is the raw request body exactly as received (the signature covers it byte for byte). Returns 401 when
    the signature or timestamp does not verify, 400 for a body that is not an event, 500 when the worker could not
    be reached (the claim is released so Slack's retry gets processed), otherwise 200.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-slack-request-timestamp", "")
    signature = lowered.get("x-slack-signature", "")
    if not timestamp or not signature or not verifier.is_valid(body, timestamp, signature):
        return _text(401, "invalid signature", "rejected")
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError:
        return _text(400, "not a JSON event", "bad_request")
    if not isinstance(envelope, dict):
        return _text(400, "not a JSON event", "bad_request")

    if envelope.get("type") == "url_verification":
        return HttpResponse(
            status=200,
            body=json.dumps({"challenge": str(envelope.get("challenge", ""))}),
            headers={"Content-Type": "application/json"},
            outcome="challenge",
        )
    if envelope.get("type") != "event_callback" or not isinstance(envelope.get("event"), dict):
        return _text(200, "", f"ignored:{envelope.get('type')}")

    request, reason = question_from_envelope(envelope)
    if request is None:
        return _text(200, "", f"ignored:{reason}")

    retry = lowered.get("x-slack-retry-num")
    event_key = f"event#{request.event_id}"
    if not claims.claim(event_key):
        logger.info("duplicate Slack event dropped", extra={"event_id": request.event_id, "retry_num": retry})
        return _text(200, "", "duplicate")
    message_key = f"message#{request.channel}-{request.message_ts}"
    if not claims.claim(message_key):
        return _text(200, "", "duplicate")
    try:
        dispatch(request)
    except Exception:
        logger.exception("could not hand the question to the chat worker", extra={"event_id": request.event_id})
        claims.release(event_key)
        claims.release(message_key)
        return _text(500, "worker unavailable", "dispatch_failed")
    logger.info("question handed to the chat worker", extra={"event_id": request.event_id, "retry_num": retry})
    return _text(200, "", "dispatched")


def bot_user_ids(envelope: dict[str, Any]) -> set[str]:
    """The bot's own user ids, from the envelope's `authorizations`.

    The deprecated `authed_users` is not used: it can list people who installed the app, whose questions count.
    """
    ids = {a.get("user_id", "") for a in envelope.get("authorizations") or [] if a.get("is_bot")}
    return {i for i in ids if i}


def question_from_envelope(envelope: dict[str, Any]) -> tuple[ChatRequest | None, str]:
    """The question in an `event_callback`, or None and the reason it is not one."""
    event: dict[str, Any] = envelope["event"]
    kind = event.get("type")
    if kind not in {"app_mention", "message"}:
        return None, f"event {kind}"
    if kind == "message" and event.get("channel_type") != "im":
        return None, "channel message without mention"
    if event.get("bot_id") or event.get("bot_profile"):
        return None, "bot message"
    if event.get("subtype") not in _QUESTION_SUBTYPES:
        return None, f"subtype {event.get('subtype')}"
    own_ids = bot_user_ids(envelope)
    user = str(event.get("user") or "")
    if not user or user in own_ids:
        return None, "own post"
    channel = str(event.get("channel") or "")
    message_ts = str(event.get("ts") or "")
    if not channel or not message_ts:
        return None, "no channel or ts"
    mentioned_bot = next(iter(own_ids), None)
    text = strip_bot_mentions(str(event.get("text") or ""), own_ids)
    thread_ts = str(event.get("thread_ts") or message_ts)
    request = ChatRequest(
        event_id=str(envelope.get("event_id") or f"{channel}-{message_ts}"),
        channel=channel,
        thread_ts=thread_ts,
        message_ts=message_ts,
        user=user,
        text=text,
        team_id=envelope.get("team_id"),
        bot_user_id=mentioned_bot,
        in_thread=thread_ts != message_ts,
    )
    return request, ""


def strip_bot_mentions(text: str, bot_ids: set[str]) -> str:
    """The question without the `<@BOT>` mention(s); with no known bot id, the leading mention goes."""

    def replace(match: re.Match[str]) -> str:
        return "" if not bot_ids or match.group(1) in bot_ids else match.group(0)

    stripped = _MENTION.sub(replace, text) if bot_ids else _LEADING_MENTION.sub("", text)
    return " ".join(stripped.split())
