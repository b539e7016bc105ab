"""Payloads of the Slack chat bot: the worker's request, conversations as stored, and the supervisor's answer.

Conversation storage layout (DynamoDB table CONVERSATIONS_TABLE, both keys strings):

* one item per conversation, ``kind = "conversation"``:
  ``conversation_id`` = ``<channel>-<thread ts>`` (e.g. ``C0123ABCD-1732560000.000100``),
  ``timestamp`` = when the conversation started, ISO 8601 basic UTC (``20261125T191414.123456Z``), so a thread
  that had a completed conversation starts a new item under the same partition key and the latest item is found
  with one descending query. The item holds ``messages`` (role, content, timestamp, tools_used, agent),
  ``created_at``, ``updated_at``, ``ttl`` (epoch seconds, seven days after ``created_at``), ``status``
  (``active`` | ``completed``), ``version`` (optimistic locking) and an optional ``alert_context``.
* alert context records, ``kind = "alert_context"``: ``conversation_id`` = ``alert#<dedup_key>``,
  ``timestamp`` = ``context``: what the alert pipeline knew when it posted the alert (see `AlertContext`).
* dedup claims, ``kind = "event_claim"``: ``conversation_id`` = ``event#<event_id>`` or
  ``message#<channel>-<ts>``, ``timestamp`` = ``claim``, ``ttl`` one hour later.
* incident records, ``kind = "incident"``: ``conversation_id`` = ``incident#<incident key>``, ``timestamp`` =
  ``incident``, the ``record`` map Post and the Slack buttons update field by field (decision 0020); and the claims
  of new incidents, ``kind = "incident_claim"``: ``incident-claim#<incident key>``, ``timestamp`` = ``claim``.

Only ``kind = "conversation"`` items are archived to S3.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.models import Alert, AnalysisBody, GatheredContext

AgentName = Literal["CostAnalyst", "InfraExpert", "LogsAnalyst", "General"]
ConversationStatus = Literal["active", "completed"]
Role = Literal["user", "assistant"]
AnswerMethod = Literal["claude", "tool_findings", "canned"]

CONVERSATION_TTL_DAYS = 7
# Bounds that keep one conversation item far below DynamoDB's 400 KB item limit.
MAX_STORED_MESSAGES = 40
MAX_STORED_MESSAGE_CHARS = 6_000

SORT_KEY_FORMAT = "%Y%m%dT%H%M%S.%fZ"


def utc_now() -> datetime:
    return datetime.now(UTC)


def sort_key_for(moment: datetime) -> str:
    """The ``timestamp`` sort key for a conversation started at ``moment`` (S3-key safe: no colons)."""
    return moment.astimezone(UTC).strftime(SORT_KEY_FORMAT)


def parse_sort_key(value: str) -> datetime:
    return datetime.strptime(value, SORT_KEY_FORMAT).replace(tzinfo=UTC)


def conversation_id_for(channel: str, thread_ts: str) -> str:
    return f"{channel}-{thread_ts}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class ChatRequest(_Model):
    """One question for the chat worker, as the events endpoint hands it over (the async invoke payload)."""

    event_id: str
    channel: str
    # The thread the answer goes to: the mention's own ts when it was not in a thread.
    thread_ts: str
    message_ts: str
    user: str = ""
    text: str
    team_id: str | None = None
    bot_user_id: str | None = None
    # True when the mention was posted inside an existing thread (e.g. under an alert).
    in_thread: bool = False

    @property
    def conversation_id(self) -> str:
        return conversation_id_for(self.channel, self.thread_ts)


class ChatMessage(_Model):
    role: Role
    content: str
    timestamp: datetime = Field(default_factory=utc_now)
    tools_used: list[str] = Field(default_factory=list)
    agent: AgentName | None = None
    slack_ts: str | None = None


class AlertContext(_Model):
    """What the alert pipeline knew about an alert when it posted it: the start of a thread's conversation.

    The pipeline stores it with `ConversationTable.put_alert_context` (keyed by the alert's dedup key, and
    optionally by the Slack thread it posted to) so that a question asked under the alert starts from it.
    """

    dedup_key: str
    title: str
    severity: str = ""
    source: str = ""
    summary: str = ""
    resource: str = ""
    account_id: str | None = None
    region: str | None = None
    # The analysis' root cause and recommendations, and the gathered facts, one line each.
    root_cause: str = ""
    recommendations: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    posted_at: datetime | None = None

    def as_prompt_text(self) -> str:
        lines = [f"Alert: {self.title} (severity {self.severity or 'unknown'}, source {self.source or 'unknown'})"]
        if self.resource:
            lines.append(f"Resource: {self.resource}")
        if self.account_id or self.region:
            lines.append(f"Account/region: {self.account_id or '?'} / {self.region or '?'}")
        if self.summary:
            lines.append(f"Summary: {self.summary}")
        if self.root_cause:
            lines.append(f"Analysis root cause: {self.root_cause}")
        lines.extend(f"Recommendation: {r}" for r in self.recommendations[:5])
        lines.extend(f"Fact: {f}" for f in self.facts[:15])
        return "\n".join(lines)


class Conversation(_Model):
    conversation_id: str
    timestamp: str  # the sort key: `sort_key_for(created_at)`
    channel: str = ""
    thread_ts: str = ""
    status: ConversationStatus = "active"
    created_at: datetime
    updated_at: datetime
    ttl: int
    messages: list[ChatMessage] = Field(default_factory=list)
    alert_context: AlertContext | None = None
    version: int = 0

    @classmethod
    def start(
        cls,
        conversation_id: str,
        channel: str = "",
        thread_ts: str = "",
        alert_context: AlertContext | None = None,
        now: datetime | None = None,
    ) -> Conversation:
        moment = now or utc_now()
        return cls(
            conversation_id=conversation_id,
            timestamp=sort_key_for(moment),
            channel=channel,
            thread_ts=thread_ts,
            created_at=moment,
            updated_at=moment,
            ttl=int(moment.timestamp()) + CONVERSATION_TTL_DAYS * 86_400,
            alert_context=alert_context,
        )

    def append(self, message: ChatMessage) -> None:
        """Add a message, keeping the item bounded: long contents are cut, the oldest messages dropped."""
        if len(message.content) > MAX_STORED_MESSAGE_CHARS:
            message = message.model_copy(
                update={"content": message.content[: MAX_STORED_MESSAGE_CHARS - 15] + " …[truncated]"}
            )
        self.messages.append(message)
        if len(self.messages) > MAX_STORED_MESSAGES:
            del self.messages[: len(self.messages) - MAX_STORED_MESSAGES]
        self.updated_at = message.timestamp


class AgentAnswer(_Model):
    """What the supervisor graph produced for one question."""

    agent: AgentName
    answer: str
    tools_used: list[str] = Field(default_factory=list)
    method: AnswerMethod = "tool_findings"
    route_reason: str = ""
    model_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    steps: int = 0
    notes: list[str] = Field(default_factory=list)

    def cli_view(self) -> dict[str, Any]:
        return {"agent": self.agent, "tools_used": self.tools_used, "answer": self.answer}


class ChatResult(_Model):
    """What the worker returns: the answer and where it went."""

    conversation_id: str
    agent: AgentName
    tools_used: list[str] = Field(default_factory=list)
    method: AnswerMethod
    answer: str = ""
    posted_ts: str | None = None
    status: ConversationStatus = "active"
    new_conversation: bool = False
    model_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


def alert_context_from_pipeline(
    alert: Alert, analysis: AnalysisBody | None = None, context: GatheredContext | None = None
) -> AlertContext:
    """The context record the alert pipeline stores for a posted alert (see `ConversationTable.put_alert_context`)."""
    resource = ""
    if alert.resource is not None:
        resource = alert.resource.arn or alert.resource.name
    facts = [
        f"{section.name}: {fact.text}" for section in (context.sections() if context else []) for fact in section.facts
    ]
    return AlertContext(
        dedup_key=alert.dedup_key,
        title=alert.title,
        severity=alert.severity,
        source=alert.source,
        summary=alert.summary[:1000],
        resource=resource,
        account_id=alert.account_id,
        region=alert.region,
        root_cause=analysis.root_cause[:1000] if analysis else "",
        recommendations=[r[:300] for r in (analysis.recommendations if analysis else [])[:5]],
        facts=[f[:300] for f in facts[:15]],
        posted_at=utc_now(),
    )
