"""The Slack events endpoint: verify, de-duplicate, hand over, answer within Slack's three seconds.

Plain logic shared by the Lambda behind API Gateway (`events_handler`) and `alert-intel slack-server`.
Which events become questions: `app_mention` anywhere, and `message` events in direct messages
(`channel_type = "im"`). Everything else that verifies is acknowledged with 200 and dropped: bot messages,
the bot's own posts, edits and other subtypes. A retried delivery (Slack sends `X-Slack-Retry-Num`) of an event
already handed over is acknowledged and dropped; so is a second event for the same message (Slack sends both
`app_mention` and `message.im` events when subscribed to both).

Anyone who knows the URL can send anything, so the order is fixed: first the signature is checked over the raw
bytes (401 for whatever does not verify, malformed headers and bodies that are not UTF-8 included), and only a
verified body is parsed. A verified body that is not an event is 400 (not JSON, not an object, too deep, too big:
413) or an acknowledged 200 "ignored" (an event whose fields have the wrong types). None of this raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.signature import SignatureVerifier

from functions.chat.interactions import (
    NotAnInteractionError,
    action_claim_key,
    action_from_payload,
    interaction_payload,
    is_interaction_body,
)
from functions.shared.chat_models import ChatRequest
from functions.shared.observability import logger
from functions.shared.slack_actions import SlackActionRequest
from functions.shared.untrusted_text import clean_json

# Subtypes that are still a person asking something; every other subtype (bot_message, message_changed,
# message_deleted, channel_join, ...) is not a question.
_QUESTION_SUBTYPES = {"", "thread_broadcast", "file_share"}
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
# What Slack sends: epoch seconds, and `v0=` + a lowercase hex HMAC-SHA256. Checked before slack_sdk sees them,
# because its verifier raises on a timestamp `int()` rejects and on a signature that is not ASCII.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Slack's event payloads are a few kilobytes; nothing bigger is parsed.
MAX_BODY_BYTES = 1024 * 1024
# Ids become DynamoDB keys (at most 2,048 bytes, two ids in a claim key); Slack's are a few dozen characters.
_MAX_ID_CHARS = 200

# Raw request headers as they come: a mapping (API Gateway's `headers`, `multiValueHeaders` with list values) or
# (name, value) pairs (http.server); values that are not strings are ignored.
HeaderSource = Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None


class ClaimStore(Protocol):
    def claim(self, key: str) -> bool: ...

    def release(self, key: str) -> None: ...


class WorkerDispatcher(Protocol):
    def __call__(self, request: ChatRequest) -> None: ...


class ActionDispatcher(Protocol):
    def __call__(self, request: SlackActionRequest) -> None: ...


@dataclass
class HttpResponse:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain; charset=utf-8"})
    outcome: str = ""  # why, for logs and tests: "challenge", "dispatched", "duplicate", "ignored:<reason>", ...


class _MalformedEventError(ValueError):
    """A field of a verified event has a type or size Slack never sends; the event is acknowledged and dropped."""


def _text(status: int, body: str, outcome: str) -> HttpResponse:
    return HttpResponse(status=status, body=body, outcome=outcome)


def rejected() -> HttpResponse:
    """The answer to a request whose signature does not verify."""
    return _text(401, "invalid signature", "rejected")


def request_headers(*sources: HeaderSource) -> dict[str, str]:
    """Header names (lower-cased) and values from any number of sources. Never raises.

    A list value (API Gateway's `multiValueHeaders`) counts each of its strings. A header that ends up with more
    than one distinct value across names, cases and sources is left out: an ambiguous `X-Slack-Signature` then
    fails verification instead of being chosen by order.
    """
    seen: dict[str, set[str]] = {}
    for source in sources:
        pairs: Iterable[Any]
        if isinstance(source, Mapping):
            pairs = source.items()
        elif isinstance(source, list | tuple):
            pairs = source
        else:
            continue
        for pair in pairs:
            if not isinstance(pair, tuple | list) or len(pair) != 2 or not isinstance(pair[0], str):
                continue
            name, value = pair
            values = value if isinstance(value, list | tuple) else [value]
            strings = {v for v in values if isinstance(v, str)}
            if strings:
                seen.setdefault(name.lower(), set()).update(strings)
    return {name: next(iter(values)) for name, values in seen.items() if len(values) == 1}


def verified_text(body: bytes | str | None, headers: Mapping[str, str], verifier: SignatureVerifier) -> str | None:
    """The body as text when Slack's signature over its raw bytes verifies, else None. Never raises.

    None also for a missing body, a timestamp that is not 1-12 ASCII digits or is more than five minutes off, a
    signature that is not `v0=` + 64 lowercase hex digits, and a body that is not UTF-8 (Slack only sends UTF-8).
    """
    if not isinstance(body, bytes | str):
        return None
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return None
    try:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        text = raw.decode("utf-8")
        valid = verifier.is_valid(raw, timestamp, signature)
    except Exception:  # a lone surrogate, invalid UTF-8, or whatever else slack_sdk cannot verify: not verified
        return None
    return text if valid else None


def handle_slack_request(
    body: bytes | str | None,
    headers: HeaderSource,
    verifier: SignatureVerifier,
    claims: ClaimStore,
    dispatch: WorkerDispatcher,
    *,
    act: ActionDispatcher | None = None,
    action_channels: Collection[str] = (),
) -> HttpResponse:
    """Answer one POST to /slack/events (Events API and interactivity). Never raises.

    `body` is the raw request body exactly as received (the signature covers it byte for byte); None when there
    is none or it could not be decoded. Returns 401 when the signature or timestamp does not verify (checked
    before anything is parsed), 413 for a verified body over `MAX_BODY_BYTES`, 400 for a verified body that is not
    a JSON object, 500 when the claims store or the worker could not be reached (claims taken are released so
    Slack's retry gets processed), otherwise 200.

    A verified form body (`payload=…`) is a button click (`functions.chat.interactions`): handed to `act` when it
    is one of ours on a message in `action_channels`, acknowledged with no effect otherwise (and always without
    `act`); 400 when the form holds no JSON object.
    """
    lowered = request_headers(headers)
    text = verified_text(body, lowered, verifier)
    if text is None:
        return rejected()
    if len(text.encode("utf-8")) > MAX_BODY_BYTES:
        return _text(413, "body too large", "too_large")
    if is_interaction_body(text):
        return _answer_interaction(text, claims, act, action_channels)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, an integer too long to convert, nesting too deep to parse
        return _text(400, "not a JSON event", "bad_request")
    # Lone surrogates become U+FFFD and nesting is bounded, so nothing downstream trips over either.
    envelope = clean_json(parsed)
    if not isinstance(envelope, dict):
        return _text(400, "not a JSON event", "bad_request")

    kind = envelope.get("type")
    if kind == "url_verification":
        challenge = envelope.get("challenge", "")
        if not isinstance(challenge, str):
            return _text(400, "challenge is not a string", "bad_request")
        return HttpResponse(
            status=200,
            body=json.dumps({"challenge": challenge}),
            headers={"Content-Type": "application/json"},
            outcome="challenge",
        )
    if kind != "event_callback" or not isinstance(envelope.get("event"), dict):
        return _text(200, "", f"ignored:{kind if isinstance(kind, str) else 'no type'}"[:100])

    request, reason = question_from_envelope(envelope)
    if request is None:
        return _text(200, "", f"ignored:{reason}"[:100])
    return _hand_over(request, lowered.get("x-slack-retry-num"), claims, dispatch)


def _hand_over(request: ChatRequest, retry: str | None, claims: ClaimStore, dispatch: WorkerDispatcher) -> HttpResponse:
    """Claim the event and its message, then dispatch; 500 (claims released) when the store or worker fails."""
    taken: list[str] = []
    try:
        for key in (f"event#{request.event_id}", f"message#{request.channel}-{request.message_ts}"):
            if not claims.claim(key):
                logger.info("duplicate Slack event dropped", extra={"event_id": request.event_id, "retry_num": retry})
                return _text(200, "", "duplicate")
            taken.append(key)
        dispatch(request)
    except Exception:
        logger.exception("could not hand the question to the chat worker", extra={"event_id": request.event_id})
        _release(claims, taken)
        return _text(500, "worker unavailable", "dispatch_failed")
    logger.info("question handed to the chat worker", extra={"event_id": request.event_id, "retry_num": retry})
    return _text(200, "", "dispatched")


def _answer_interaction(
    text: str, claims: ClaimStore, act: ActionDispatcher | None, action_channels: Collection[str]
) -> HttpResponse:
    """A verified click: hand ours over to the worker (200 at once, Slack's three seconds); ignore the rest."""
    try:
        payload = interaction_payload(text)
    except NotAnInteractionError:
        return _text(400, "not an interaction payload", "bad_request")
    request, reason = action_from_payload(payload, action_channels)
    if request is None or act is None:
        return _text(200, "", f"ignored:{reason or 'interactivity off'}"[:100])
    key = action_claim_key(request)
    try:
        if not claims.claim(key):
            return _text(200, "", "duplicate")
        act(request)
    except Exception:
        logger.exception("could not hand the click to the chat worker", extra={"action": request.kind})
        _release(claims, [key])
        return _text(500, "worker unavailable", "dispatch_failed")
    logger.info("click handed to the chat worker", extra={"action": request.kind})
    return _text(200, "", "action_dispatched")


def _release(claims: ClaimStore, keys: list[str]) -> None:
    for key in keys:
        try:
            claims.release(key)
        except Exception:  # the claim expires on its own (TTL); Slack's retry is then dropped as a duplicate
            logger.exception("could not release a claim", extra={"claim": key})


def bot_user_ids(envelope: dict[str, Any]) -> set[str]:
    """The bot's own user ids, from the envelope's `authorizations`; entries that are not objects are skipped.

    The deprecated `authed_users` is not used: it can list people who installed the app, whose questions count.
    """
    authorizations = envelope.get("authorizations")
    if not isinstance(authorizations, list):
        return set()
    ids = {a.get("user_id") for a in authorizations if isinstance(a, dict) and a.get("is_bot")}
    return {i for i in ids if isinstance(i, str) and i}


def _string(container: Mapping[str, Any], key: str, *, max_chars: int | None = _MAX_ID_CHARS) -> str:
    """`container[key]` as a string, "" when absent or null.

    Raises:
        _MalformedEventError: the value is not a string, or longer than `max_chars`.
    """
    value = container.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or (max_chars is not None and len(value) > max_chars):
        raise _MalformedEventError(key)
    return value


def _check_authorizations(envelope: dict[str, Any]) -> None:
    """Raises _MalformedEventError unless `authorizations` is absent or a list of objects with string user ids."""
    authorizations = envelope.get("authorizations")
    if authorizations is None:
        return
    if not isinstance(authorizations, list) or not all(isinstance(a, dict) for a in authorizations):
        raise _MalformedEventError("authorizations")
    for authorization in authorizations:
        _string(authorization, "user_id")


def question_from_envelope(envelope: dict[str, Any]) -> tuple[ChatRequest | None, str]:
    """The question in an `event_callback`, or None and the reason it is not one. Never raises."""
    try:
        return _question(envelope)
    except _MalformedEventError as exc:
        return None, f"malformed {exc}"


def _question(envelope: dict[str, Any]) -> tuple[ChatRequest | None, str]:
    """Raises _MalformedEventError for a field of the wrong type (see `_string`)."""
    event = envelope.get("event")
    if not isinstance(event, dict):
        raise _MalformedEventError("event")
    kind = _string(event, "type")
    if kind not in {"app_mention", "message"}:
        return None, f"event {kind}"
    if kind == "message" and _string(event, "channel_type") != "im":
        return None, "channel message without mention"
    if event.get("bot_id") or event.get("bot_profile"):
        return None, "bot message"
    subtype = _string(event, "subtype")
    if subtype not in _QUESTION_SUBTYPES:
        return None, f"subtype {subtype}"
    _check_authorizations(envelope)
    own_ids = bot_user_ids(envelope)
    user = _string(event, "user")
    if not user or user in own_ids:
        return None, "own post"
    channel = _string(event, "channel")
    message_ts = _string(event, "ts")
    if not channel or not message_ts:
        return None, "no channel or ts"
    mentioned_bot = next(iter(own_ids), None)
    text = strip_bot_mentions(_string(event, "text", max_chars=None), own_ids)
    thread_ts = _string(event, "thread_ts") or message_ts
    request = ChatRequest(
        event_id=_string(envelope, "event_id") or f"{channel}-{message_ts}",
        channel=channel,
        thread_ts=thread_ts,
        message_ts=message_ts,
        user=user,
        text=text,
        team_id=_string(envelope, "team_id") or None,
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
