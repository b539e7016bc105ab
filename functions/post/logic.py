"""Posting a formatted message: to the Slack webhook of its route, or with the bot token as one message per incident.

Webhook-only (no channel for the route): one POST, the thread's content below a divider (`webhook_body`). With the
bot token (`post_incident`): a new incident's main message and its evidence in the thread, its record written with
a conditional PutItem; a duplicate or re-fire replies in the open incident's thread and edits its header; a
resolution edits the header. Post updates only its own fields of the record (decision 0020); a muted incident's
re-fire stays in the thread (`_edit_header`, decision 0017). Decisions 0013 and 0014.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.adapters.conversations import IncidentRecordConflictError
from functions.shared.adapters.slack_webhook import SlackRejectedError, WebhookDelivery
from functions.shared.chat_models import AlertContext
from functions.shared.errors import SlackPostError, SlackRateLimitedError
from functions.shared.incidents import find_open_incident
from functions.shared.models import PostInput, PostResult, Route, SlackMessage
from functions.shared.observability import logger, metrics
from functions.shared.slack_actions import displayed_blocks, is_muted

FALLBACK_TEXT_CHARS = 3000
MAX_BLOCKS = 50


class WebhookSender(Protocol):
    def send(self, route: Route, body: dict[str, Any]) -> WebhookDelivery: ...


class AlertMemory(Protocol):
    def put_alert_context(self, context: AlertContext) -> None: ...


class WebApiPoster(Protocol):
    """Slack's Web API with the bot token (`functions.shared.adapters.slack_api.SlackApi`)."""

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str: ...


@runtime_checkable
class WebApiEditor(WebApiPoster, Protocol):
    def update_message(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None: ...


class IncidentStore(Protocol):
    """Open incidents' messages (`functions.shared.adapters.conversations.ConversationTable`)."""

    def incident(self, key: str) -> dict[str, Any] | None: ...

    def put_incident(self, key: str, record: dict[str, Any], *, replacing_ts: str | None = None) -> None: ...

    def update_incident(
        self,
        key: str,
        fields: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        expect: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...


# Post writes only its own fields of an incident record (status, counts, times, signal, blocks); a click owns
# acknowledged_* and muted_* (functions/chat/actions.py). Each uses UpdateItem, so neither erases the other
# (decision 0020). Two re-fires updating one record at once: each re-reads and recounts on a conflict, this many
# times at most.
MAX_RECORD_UPDATE_ATTEMPTS = 3


_MARKER = re.compile(r"^(?:✅ Resolved [^:]*: |🔁 \d+x )?(?:\S+ (?:CRITICAL|WARNING|INFO) |🟢 Likely false alarm: )?")


def webhook_body(post_input: PostInput) -> dict[str, Any]:
    """What one incoming webhook receives: the main message, and the thread's content appended below a divider
    (webhooks cannot thread; docs/decisions/0013-main-message-and-thread.md). Slack's 50-block limit holds."""
    body = post_input.message.model_dump(mode="json")
    thread = post_input.thread
    if thread is not None and thread.blocks:
        room = MAX_BLOCKS - len(body["blocks"]) - 1
        if room > 0:
            body["blocks"] = [*body["blocks"], {"type": "divider"}, *thread.blocks[:room]]
    return body


def post_message(
    post_input: PostInput,
    sender: WebhookSender,
    memory: AlertMemory | None = None,
    *,
    web: WebApiPoster | None = None,
    channel: str | None = None,
    incidents: IncidentStore | None = None,
) -> PostResult:
    """Post the message: with the bot token (`web` and the route's `channel`), `chat.postMessage` of the main
    message, then its thread reply; otherwise one webhook POST (`webhook_body`).

    Webhook mode: send the message to the route's webhook and count the outcome (metrics `SlackPosts`,
    `SlackPostFailures`, `SlackRateLimited`, `SlackPostRetries`; the route as metadata).

    The body sent is exactly the message: `{"text": ..., "blocks": [...]}`. When Slack refuses the blocks
    themselves (HTTP 400 invalid_blocks, msg_too_long, ...), the plain-text fallback is posted so the alert still
    reaches the channel, and the stage still fails: a message Slack refuses is a bug to fix, not to hide.

    Raises:
        ConfigurationError: no webhook configured for the route.
        SlackRateLimitedError: Slack kept answering 429 (the state machine retries with backoff).
        SlackPostError: Slack rejected the message or could not be reached (the run fails loudly).
    """
    # Metadata, not a dimension: a dimension would outlive an invocation whose metrics are never flushed.
    metrics.add_metadata(key="route", value=post_input.route)
    if web is not None and channel:
        if post_input.incident is not None and incidents is not None and isinstance(web, WebApiEditor):
            return post_incident(post_input, web, channel, incidents, memory)
        return _post_with_bot(post_input, web, channel, memory)
    body = webhook_body(post_input)
    try:
        delivery = sender.send(post_input.route, body)
    except SlackRateLimitedError:
        metrics.add_metric(name="SlackRateLimited", unit=MetricUnit.Count, value=1)
        raise
    except SlackRejectedError as exc:
        metrics.add_metric(name="SlackPostFailures", unit=MetricUnit.Count, value=1)
        if exc.payload_rejected:
            raise SlackPostError(f"{exc}; {_post_text_fallback(post_input, sender, exc)}") from exc
        raise SlackPostError(str(exc)) from exc
    except Exception:
        metrics.add_metric(name="SlackPostFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="SlackPosts", unit=MetricUnit.Count, value=1)
    if delivery.attempts > 1:
        metrics.add_metric(name="SlackPostRetries", unit=MetricUnit.Count, value=delivery.attempts - 1)
    logger.info(
        "Posted to Slack",
        extra={"route": post_input.route, "dedup_key": post_input.dedup_key, "attempts": delivery.attempts},
    )
    return PostResult(
        posted=True,
        route=post_input.route,
        status_code=delivery.status_code,
        attempts=delivery.attempts,
        remembered_for_chat=remember_alert_for_chat(post_input, memory),
    )


def post_incident(
    post_input: PostInput,
    web: WebApiEditor,
    channel: str,
    store: IncidentStore,
    memory: AlertMemory | None = None,
    *,
    now: datetime | None = None,
) -> PostResult:
    """One Slack message per incident (issue 14), with the bot token:

    * a new incident: the main message, its thread reply, and a record (channel, ts, header, first and last
      fired, count) under its key, plus a pointer from its resource, so alarms on the same resource within
      `incidents.RESOURCE_GROUPING_WINDOW` join its thread;
    * a duplicate or a re-fire within `incidents.INCIDENT_WINDOW`: a thread reply ("🔁 3rd alert: fired again at
      06:41 UTC (3 in 26 min)", with the new analysis when "Check Incident" had it investigated again) and
      `chat.update` of the header ("🔁 3x ...");
    * a resolution: `chat.update` of the header ("✅ Resolved 06:41 UTC after 26 min: ...") and the compact
      resolution line in the thread; with no open incident, the line is posted on its own.

    The record is written with UpdateItem of Post's own fields only, after the thread reply and before the header
    edit (drawn from the record as stored, so a click made meanwhile stays on screen): decision 0020.

    Raises:
        SlackRateLimitedError, SlackPostError: the first post of a new incident, or the thread reply, failed (the
            state retries; the record does not count the alert yet).
    """
    ref = post_input.incident
    assert ref is not None
    now = now or ref.occurred_at or datetime.now(UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    reads = _FirstReads(store)
    posted = post_input
    try:
        key, record = find_open_incident(reads, ref.key, ref.resource_key, now)
    except Exception as exc:  # any failure: botocore's own retries are spent, and the analysis is ready to post
        posted, record = _incident_memory_unread(post_input, exc), None
    if record is None:
        if ref.resolved:  # nothing open to close: the compact line on its own
            return _post_with_bot(posted.model_copy(update={"thread": None}), web, channel, memory)
        # The key's own record as read before the post (absent, or out of its window): the new record may replace
        # only that one, not one another message of this incident wrote while this one was being posted. After a
        # failed lookup that is "none": a record that does exist keeps its message.
        earlier = reads.seen.get(ref.key)
        result = _post_with_bot(posted, web, channel, memory)
        _remember(store, ref.key, ref.resource_key, result, post_input, now, replacing_ts=_ts_of(earlier))
        return result
    ts, message_channel = str(record["ts"]), str(record["channel"])
    update = _record_update(key, record, post_input, now, store)
    # The reply first: when Slack refuses it the state retries Post, and the record has not counted the alert.
    web.post_message(message_channel, update.reply.text, update.reply.blocks, thread_ts=ts)
    stored = update.write()
    _edit_header(web, stored, _clip(update.header_of(stored), 3000), resolved=ref.resolved, now=now)
    metrics.add_metric(name="IncidentThreadReplies", unit=MetricUnit.Count, value=1)
    return PostResult(
        posted=True, route=post_input.route, status_code=200, channel=message_channel, ts=ts, thread_ts=ts
    )


# Appended to a message posted while the incident memory could not be read. Our words, not the alert's.
INCIDENT_MEMORY_UNREAD_NOTE = (
    "⚠️ Incident memory could not be read: posted as a new message. An earlier message of this incident may be"
    " in the channel."
)


def _incident_memory_unread(post_input: PostInput, error: Exception) -> PostInput:
    """The incident lookup failed: the analysed message is posted as a new one with a note saying so, rather than
    failing the state, whose Catch could then only post the raw alert (a resolution: its compact line)."""
    metrics.add_metric(name="IncidentLookupFailures", unit=MetricUnit.Count, value=1)
    logger.warning(
        "Could not read the incident memory; posting a new message",
        extra={"dedup_key": post_input.dedup_key, "error": f"{type(error).__name__}: {error}"[:300]},
    )
    message = post_input.message
    if len(message.blocks) >= MAX_BLOCKS:
        return post_input
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": INCIDENT_MEMORY_UNREAD_NOTE}]}
    return post_input.model_copy(update={"message": message.model_copy(update={"blocks": [*message.blocks, note]})})


class _FirstReads:
    """The store's reads, remembered: what the incident lookup saw is what the new record's condition expects."""

    def __init__(self, store: IncidentStore) -> None:
        self._store = store
        self.seen: dict[str, dict[str, Any] | None] = {}

    def incident(self, key: str) -> dict[str, Any] | None:
        if key not in self.seen:
            self.seen[key] = self._store.incident(key)
        record = self.seen[key]
        return dict(record) if record is not None else None


@dataclass
class _RecordUpdate:
    """What one alert changes in its open incident: the thread reply, the header for a record, and the write of
    Post's own fields (`write`: UpdateItem, re-read and recounted on a conflict; returns the record as stored,
    best effort)."""

    reply: SlackMessage
    header_of: Callable[[dict[str, Any]], str]
    write: Callable[[], dict[str, Any]]


def _record_update(
    key: str, record: dict[str, Any], post_input: PostInput, now: datetime, store: IncidentStore
) -> _RecordUpdate:
    ref = post_input.incident
    assert ref is not None
    opened = datetime.fromisoformat(record["opened_at"])
    minutes = max(int((now - opened).total_seconds() // 60), 0)
    header = str(record.get("header") or "")
    base = _MARKER.sub("", header, count=1) or header
    resolved_header = ""
    if ref.resolved:
        resolved_header = f"✅ Resolved {now:%H:%M} UTC after {minutes} min: {base}"
        fields: dict[str, Any] = {"status": "resolved", "resolved_at": now.isoformat()}
        reply = post_input.message
    else:
        count = int(record.get("fire_count", 1)) + 1
        again = "fired again" if record.get("status") == "open" else "fired again after it resolved"
        note = f"🔁 {_ordinal(count)} alert: {again} at {now:%H:%M} UTC ({count} in {minutes} min)"
        # Investigated again ("Check Incident" found the evidence changed materially, or could not decide): the
        # new analysis goes in the thread. Routed past the investigation: the note is all there is to say.
        changed = ref.investigated and (ref.change is not None or ref.evidence_digest != record.get("evidence_digest"))
        fields = {"status": "open", "fire_count": count, "last_fired_at": now.isoformat()}
        if changed:
            note += (
                f"; the evidence changed ({ref.change}), the new analysis follows"
                if ref.change
                else ("; the evidence changed, the new analysis follows")
            )
            if ref.signal is not None:
                fields["signal"] = ref.signal.model_dump_json()
            fields["evidence_digest"] = ref.evidence_digest
        else:
            note += "; same evidence, no new analysis"
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
        if changed:
            blocks += post_input.message.blocks[: MAX_BLOCKS - 1]
        reply = SlackMessage(text=note, blocks=blocks)

    def write() -> dict[str, Any]:
        read, attempt_fields = record, dict(fields)
        for _ in range(MAX_RECORD_UPDATE_ATTEMPTS):
            attempt_fields["blocks"] = _with_header(read.get("blocks"), header_of(attempt_fields))
            # Conditional where it matters: still this message, and (a re-fire) still the count it was read at, so
            # two re-fires at once count 2 and 3, not 2 twice.
            expect: dict[str, Any] = {"ts": str(record["ts"])}
            if not ref.resolved:
                expect["fire_count"] = read.get("fire_count")
            try:
                return store.update_incident(
                    key, attempt_fields, remove=() if ref.resolved else ("resolved_at",), expect=expect
                )
            except IncidentRecordConflictError:
                fresh = store.incident(key)
                if fresh is None or str(fresh.get("ts")) != str(record["ts"]):
                    break  # expired or replaced: nothing of this message to update
                read = fresh
                if not ref.resolved:
                    attempt_fields["fire_count"] = int(fresh.get("fire_count", 1)) + 1
            except Exception as exc:  # the reply is posted: a lost count must not fail the run
                logger.warning("Could not update the incident", extra={"error": f"{type(exc).__name__}: {exc}"})
                break
        metrics.add_metric(name="IncidentStoreFailures", unit=MetricUnit.Count, value=1)
        return {**read, **attempt_fields}

    def header_of(stored: dict[str, Any]) -> str:
        """The header for the record as written: a re-fire's count is the one stored, which another re-fire
        written meanwhile may have raised."""
        return resolved_header if ref.resolved else f"🔁 {int(stored.get('fire_count', 1))}x {header}"

    return _RecordUpdate(reply=reply, header_of=header_of, write=write)


def _with_header(blocks: Any, header: str) -> list[dict[str, Any]]:
    """The message's blocks with its header block's text replaced (Slack's 150 characters)."""
    stored = [dict(block) for block in blocks or [] if isinstance(block, dict)]
    if stored and stored[0].get("type") == "header":
        stored[0] = {**stored[0], "text": {**stored[0]["text"], "text": _clip(header, 150)}}
    return stored


def _edit_header(web: WebApiEditor, record: dict[str, Any], text: str, *, resolved: bool, now: datetime) -> None:
    """`chat.update` of the incident's message, unless someone muted it from Slack (`muted_until`, issue 14): then
    a re-fire only replies in the thread, which notifies nobody. A resolution is news and edits it anyway. The
    blocks shown are the record's as stored after Post's update, with the footer lines of any click
    (`displayed_blocks`), so an Acknowledge made a moment ago stays on screen."""
    if not resolved and is_muted(record, now):
        metrics.add_metric(name="IncidentMutedRefires", unit=MetricUnit.Count, value=1)
        return
    try:
        web.update_message(str(record["channel"]), str(record["ts"]), text, displayed_blocks(record) or None)
    except Exception as exc:  # the thread reply still tells the story
        metrics.add_metric(name="SlackUpdateFailures", unit=MetricUnit.Count, value=1)
        logger.warning("Could not update the incident's message", extra={"error": f"{type(exc).__name__}: {exc}"})


def _remember(
    store: IncidentStore,
    key: str,
    resource_key: str | None,
    result: PostResult,
    post_input: PostInput,
    now: datetime,
    *,
    replacing_ts: str,
) -> None:
    """Best effort: without the record the next alert of this incident posts a new message, nothing is lost.
    Conditional (`replacing_ts`: the message of the record read before posting, "" for none): another message of
    this incident remembered meanwhile (two alerts past their wait, decision 0020) keeps its record, and any click
    on it."""
    header = next((b["text"]["text"] for b in post_input.message.blocks if b.get("type") == "header"), "")
    record = {
        "channel": result.channel,
        "ts": result.ts,
        "header": header,
        "text": post_input.message.text,
        "blocks": post_input.message.blocks,
        "opened_at": now.isoformat(),
        "last_fired_at": now.isoformat(),
        "fire_count": 1,
        "status": "open",
        "evidence_digest": post_input.incident.evidence_digest if post_input.incident else None,
        # What the posted analysis rests on: "Check Incident" compares a re-fire's signal with it (JSON text: the
        # table's serializer takes no floats).
        "signal": post_input.incident.signal.model_dump_json()
        if post_input.incident and post_input.incident.signal
        else None,
    }
    try:
        store.put_incident(key, record, replacing_ts=replacing_ts)
        if resource_key:
            store.put_incident(f"resource#{resource_key}", {"key": key, "opened_at": now.isoformat()})
    except IncidentRecordConflictError:
        metrics.add_metric(name="IncidentRecordConflicts", unit=MetricUnit.Count, value=1)
        logger.warning("Another message of this incident was remembered meanwhile; keeping its record")
    except Exception as exc:
        metrics.add_metric(name="IncidentStoreFailures", unit=MetricUnit.Count, value=1)
        logger.warning("Could not remember the incident", extra={"error": f"{type(exc).__name__}: {exc}"})


def _ts_of(record: dict[str, Any] | None) -> str:
    return str(record.get("ts") or "") if record else ""


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _post_with_bot(post_input: PostInput, web: WebApiPoster, channel: str, memory: AlertMemory | None) -> PostResult:
    """The main message, then the thread reply under it. A failed thread reply is logged and counted
    (metric `SlackThreadFailures`), never raised: the alert is in the channel, and a retry of the state would post
    it twice.

    Raises:
        SlackRateLimitedError, SlackPostError: the main message could not be posted (see `SlackApi.post_message`).
    """
    message = post_input.message
    try:
        ts = web.post_message(channel, message.text, message.blocks)
    except Exception:
        metrics.add_metric(name="SlackPostFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="SlackPosts", unit=MetricUnit.Count, value=1)
    thread_ts = None
    if post_input.thread is not None and post_input.thread.blocks:
        try:
            web.post_message(channel, post_input.thread.text, post_input.thread.blocks, thread_ts=ts)
            thread_ts = ts
        except Exception as exc:  # the main message is posted; the evidence stays in the run
            metrics.add_metric(name="SlackThreadFailures", unit=MetricUnit.Count, value=1)
            logger.warning("Could not post the thread reply", extra={"error": f"{type(exc).__name__}: {exc}"})
    logger.info("Posted to Slack", extra={"route": post_input.route, "dedup_key": post_input.dedup_key, "ts": ts})
    return PostResult(
        posted=True,
        route=post_input.route,
        status_code=200,
        channel=channel,
        ts=ts,
        thread_ts=thread_ts,
        remembered_for_chat=remember_alert_for_chat(post_input, memory),
    )


def remember_alert_for_chat(post_input: PostInput, memory: AlertMemory | None) -> bool:
    """Store the posted alert's context so a question asked under it starts from what the pipeline knew.

    Best effort: the alert is already in Slack, so a failed write is logged and counted
    (metric `AlertContextStoreFailures`), never raised.
    """
    if memory is None or not post_input.alert_context:
        return False
    try:
        memory.put_alert_context(AlertContext.model_validate(post_input.alert_context))
    except Exception as exc:  # the post succeeded; losing the chat context must not fail the run
        metrics.add_metric(name="AlertContextStoreFailures", unit=MetricUnit.Count, value=1)
        logger.warning("Could not remember the alert for chat", extra={"error": f"{type(exc).__name__}: {exc}"})
        return False
    return True


def _post_text_fallback(post_input: PostInput, sender: WebhookSender, rejection: SlackRejectedError) -> str:
    """Post the message's plain text alone; returns what happened, for the error message."""
    note = f"\n_(Slack refused the full message: {rejection.slack_error.strip()}. Details are in the run.)_"
    text = (post_input.message.text or f"Alert {post_input.dedup_key}")[: FALLBACK_TEXT_CHARS - len(note)] + note
    try:
        sender.send(post_input.route, {"text": text})
    except Exception as exc:  # the original rejection is the error to report; this only adds context
        logger.warning("Plain-text fallback post failed too", extra={"error": str(exc)})
        return f"the plain-text fallback failed too ({type(exc).__name__})"
    logger.warning("Slack refused the blocks; posted the plain-text fallback", extra={"route": post_input.route})
    return "the plain-text fallback was posted instead"
