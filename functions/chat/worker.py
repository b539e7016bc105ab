"""The chat worker: load the thread's conversation, ask the supervisor, post the answer, save.

Conversation lifecycle: a thread's first question starts a conversation (with the alert's context when the
thread is under an alert); follow-ups continue it; "done" (or "thanks", "resolved", "close") marks it completed,
which archives it; a later question in the same thread starts a new conversation item in the same partition.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from functions.chat.blocks import answer_message
from functions.chat.graph import SupervisorDeps, ask
from functions.chat.store import ConversationStore
from functions.shared.adapters.conversations import ConversationConflictError
from functions.shared.chat_models import (
    AgentAnswer,
    AlertContext,
    ChatMessage,
    ChatRequest,
    ChatResult,
    Conversation,
    utc_now,
)
from functions.shared.observability import logger

CLOSING_PHRASES = {"done", "thanks", "thank you", "thx", "resolved", "close", "that's all", "all good"}
ALERT_BLOCK_ID_PREFIX = "alert-intel-dedup:"
# The alert message's footer says "dedup `<key>`" (functions.format.logic).
_FOOTER_DEDUP = re.compile(r"dedup `([^`]{1,300})`")


class SlackPoster(Protocol):
    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str: ...


ThreadParentReader = Callable[[str, str], dict[str, Any] | None]


@dataclass
class WorkerDeps:
    store: ConversationStore
    slack: SlackPoster
    supervisor: SupervisorDeps
    # Reads the first message of a thread, to find the alert a question was asked under.
    thread_parent: ThreadParentReader | None = None


def is_closing(text: str) -> bool:
    return text.strip().lower().rstrip("!. ") in CLOSING_PHRASES


def dedup_key_in_message(message: dict[str, Any]) -> str | None:
    """The alert dedup key an alert-intel Slack message carries (a block id, or the footer's "dedup `…`")."""
    for block in message.get("blocks") or []:
        block_id = str(block.get("block_id") or "")
        if block_id.startswith(ALERT_BLOCK_ID_PREFIX):
            return block_id[len(ALERT_BLOCK_ID_PREFIX) :]
    texts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), str):
                texts.append(element["text"])
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            texts.append(text["text"])
    for text in texts:
        match = _FOOTER_DEDUP.search(text)
        if match:
            return html.unescape(match.group(1))
    return None


def find_alert_context(request: ChatRequest, deps: WorkerDeps) -> AlertContext | None:
    """The context of the alert a threaded question was asked under, or None. Never raises."""
    if not request.in_thread or deps.thread_parent is None:
        return None
    try:
        parent = deps.thread_parent(request.channel, request.thread_ts)
        dedup_key = dedup_key_in_message(parent) if parent else None
        return deps.store.alert_context(dedup_key) if dedup_key else None
    except Exception:
        logger.exception("could not look up the alert behind the thread", extra={"channel": request.channel})
        return None


def _current_conversation(request: ChatRequest, deps: WorkerDeps, now: datetime) -> Conversation:
    latest = deps.store.latest(request.conversation_id)
    if latest is not None and latest.status == "active" and latest.ttl > now.timestamp():
        return latest
    alert_context = latest.alert_context if latest is not None else None
    if alert_context is None:
        alert_context = find_alert_context(request, deps)
    return Conversation.start(request.conversation_id, request.channel, request.thread_ts, alert_context, now)


def _ask_or_apologise(request: ChatRequest, conversation: Conversation, deps: WorkerDeps) -> AgentAnswer:
    """The supervisor's answer; an unexpected failure (a bug, not a model or tool failure, which the graph
    handles) becomes an apology in the thread instead of silence."""
    try:
        return ask(deps.supervisor, request.text, conversation.messages, conversation.alert_context)
    except Exception:
        logger.exception("the supervisor failed", extra={"event_id": request.event_id})
        return AgentAnswer(
            agent="General",
            answer="Sorry, something went wrong while I was answering. The details are in the chat worker's logs.",
            method="canned",
            notes=["internal error"],
        )


def answer_chat_request(request: ChatRequest, deps: WorkerDeps, now: datetime | None = None) -> ChatResult:
    """Answer one question in its Slack thread and record both turns.

    Raises:
        SlackRateLimitedError, SlackPostError: the answer could not be posted (nothing is saved then, so the
            Lambda's async retry answers again).
        ConversationStoreError: the conversation could not be read or saved.
    """
    moment = now or utc_now()
    conversation = _current_conversation(request, deps, moment)
    question = ChatMessage(role="user", content=request.text, timestamp=moment, slack_ts=request.message_ts)
    if is_closing(request.text):
        answer = AgentAnswer(
            agent="General",
            answer="Glad to help. I've closed this conversation and archived it; mention me again to start a new one.",
            method="canned",
        )
        status = "completed"
    else:
        answer = _ask_or_apologise(request, conversation, deps)
        status = "active"
    message = answer_message(answer)
    posted_ts = deps.slack.post_message(request.channel, message.text, message.blocks, thread_ts=request.thread_ts)
    reply = ChatMessage(
        role="assistant",
        content=answer.answer,
        timestamp=utc_now() if now is None else moment,
        tools_used=answer.tools_used,
        agent=answer.agent,
        slack_ts=posted_ts,
    )
    saved = _save_turns(deps.store, conversation, question, reply, status)
    logger.info(
        "chat question answered",
        extra={
            "agent": answer.agent,
            "method": answer.method,
            "tools": answer.tools_used,
            "route": answer.route_reason,
        },
    )
    return ChatResult(
        conversation_id=saved.conversation_id,
        agent=answer.agent,
        tools_used=answer.tools_used,
        method=answer.method,
        answer=answer.answer,
        posted_ts=posted_ts,
        status=saved.status,
        new_conversation=sum(1 for m in saved.messages if m.role == "user") == 1,
        model_id=answer.model_id,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
    )


def _save_turns(
    store: ConversationStore, conversation: Conversation, question: ChatMessage, reply: ChatMessage, status: str
) -> Conversation:
    """Append both turns and save; on a concurrent save (two quick questions), reload once and append again."""
    for attempt in range(2):
        conversation.append(question)
        conversation.append(reply)
        if status == "completed":
            conversation.status = "completed"
        try:
            return store.save(conversation)
        except ConversationConflictError:
            if attempt == 1:
                raise
            reloaded = store.latest(conversation.conversation_id)
            if reloaded is None or reloaded.timestamp != conversation.timestamp:
                raise
            conversation = reloaded
    raise AssertionError("unreachable")
