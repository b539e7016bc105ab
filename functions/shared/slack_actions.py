"""Acting on an alert from Slack (issue 14): the buttons, what a click hands to the chat worker, and where an
on-demand analysis answers.

Three buttons, each an `action_id` with a bounded `value` the system wrote itself (never alert text):

* *Acknowledge* and *Mute 1 h* on an incident's main message carry the incident key (`functions.shared.incidents`);
  the worker only acts when the incident record's channel and message ts are the clicked message's, so a value
  forged to name another incident does nothing.
* *Analyze with AI* on a heartbeat (pass-through) message carries the alert's dedup key (its alert context key,
  `alert#<dedup key>`, and the name of its heartbeat run `heartbeat-<dedup key>`): the worker reads that run's input
  from Step Functions and starts the critical pipeline with it. The run is named after the clicked message
  (`on_demand_execution_name`), so Post knows to answer in that message's thread, and a second click on the same
  message starts nothing.

Everything here is plain data shared by the format stage (which draws the buttons), the chat endpoint and worker
(which read the clicks) and the post stage (which threads the answer).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ACKNOWLEDGE_ACTION_ID = "incident_acknowledge"
MUTE_ACTION_ID = "incident_mute_1h"
ANALYZE_ACTION_ID = "heartbeat_analyze_with_ai"
ActionKind = Literal["acknowledge", "mute", "analyze"]
ACTION_KINDS: dict[str, ActionKind] = {
    ACKNOWLEDGE_ACTION_ID: "acknowledge",
    MUTE_ACTION_ID: "mute",
    ANALYZE_ACTION_ID: "analyze",
}
MUTE_SECONDS = 3_600

# Slack's limit on a button's value.
MAX_BUTTON_VALUE_CHARS = 2_000
# Identifiers as Slack sends them: channel C…/G…/D…, user U…/W…, message ts "1732560000.000100".
SLACK_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
SLACK_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
# An incident key is ours (`alarm#arn:…`, `budget#…`): printable ASCII without backquotes (names may hold spaces).
INCIDENT_KEY = re.compile(r"[a-z]{3,10}#[ -_a-~]{1,1900}")
# The dedup keys Classify keeps (functions.classify.logic._VALID_KEY), which are also execution-name safe.
DEDUP_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")

ON_DEMAND_PREFIX = "ai-"
_ON_DEMAND_NAME = re.compile(r"ai-([CGD][A-Z0-9]{2,30})-([0-9]{1,12})_([0-9]{1,9})(?:-[A-Za-z0-9_-]*)?")
MAX_EXECUTION_NAME_CHARS = 80

ACKNOWLEDGED_PREFIX = "👀 Acknowledged by"
MUTED_PREFIX = "🔕 Muted until"
_MAX_CONTEXT_ELEMENTS = 10


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class SlackActionRequest(_Model):
    """One verified button click, as the events endpoint hands it to the chat worker (the async invoke payload).

    Every field is validated against the shape Slack (or this system, for `value`) writes; the user id is the one
    in Slack's signed payload, the only name a reply ever mentions.
    """

    interaction: Literal["block_actions"] = "block_actions"
    kind: ActionKind
    value: str = Field(min_length=1, max_length=MAX_BUTTON_VALUE_CHARS)
    user: str = Field(pattern=SLACK_USER_ID.pattern)
    channel: str = Field(pattern=SLACK_CHANNEL_ID.pattern)
    message_ts: str = Field(pattern=SLACK_TS.pattern)
    action_ts: str = Field(default="", max_length=40)
    team_id: str | None = Field(default=None, max_length=40)


class OnDemandTarget(_Model):
    """Where an on-demand analysis answers: the thread of the heartbeat message whose button started it."""

    channel: str
    thread_ts: str


def incident_button_value(incident_key: str) -> str | None:
    """The value of the Acknowledge / Mute buttons for `incident_key`; None when the key cannot be one."""
    return incident_key if INCIDENT_KEY.fullmatch(incident_key) else None


def analyze_button_value(dedup_key: str) -> str | None:
    """The value of the Analyze with AI button for an alert; None when its dedup key is not one Classify keeps."""
    return dedup_key if DEDUP_KEY.fullmatch(dedup_key) else None


def action_button(action_id: str, label: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def incident_buttons(incident_key: str) -> list[dict[str, Any]]:
    """Acknowledge and Mute 1 h for an incident's main message (none when the key is not a valid value)."""
    value = incident_button_value(incident_key)
    if value is None:
        return []
    return [
        action_button(ACKNOWLEDGE_ACTION_ID, "Acknowledge", value),
        action_button(MUTE_ACTION_ID, "Mute 1 h", value),
    ]


def analyze_buttons(dedup_key: str) -> list[dict[str, Any]]:
    """Analyze with AI for a heartbeat message (none when the dedup key is not a valid value)."""
    value = analyze_button_value(dedup_key)
    return [action_button(ANALYZE_ACTION_ID, "Analyze with AI", value, style="primary")] if value else []


def heartbeat_execution_name(dedup_key: str) -> str:
    """The name ingest gave the heartbeat run of this alert (`functions.ingest.logic.execution_name`: the key is
    already name-safe, and ingest strips its leading and trailing dashes)."""
    return f"heartbeat-{dedup_key.strip('-')}"


def on_demand_execution_name(channel: str, message_ts: str, dedup_key: str) -> str:
    """The on-demand run for a heartbeat message: `ai-<channel>-<ts with _>-<dedup key, cut to fit>`.

    Ingest names every run `<route>-…` (critical or heartbeat), so the prefix is the chat worker's alone. One
    message gives one name: Step Functions refuses a second execution of that name, so a double click runs once.
    """
    base = f"{ON_DEMAND_PREFIX}{channel}-{message_ts.replace('.', '_')}"
    return f"{base}-{dedup_key}"[:MAX_EXECUTION_NAME_CHARS].rstrip("-")


def on_demand_target(execution_name: object) -> OnDemandTarget | None:
    """The heartbeat thread an execution answers in, when it is an on-demand run; None for any other name."""
    if not isinstance(execution_name, str):
        return None
    match = _ON_DEMAND_NAME.fullmatch(execution_name)
    if match is None:
        return None
    return OnDemandTarget(channel=match.group(1), thread_ts=f"{match.group(2)}.{match.group(3)}")


def with_status_line(blocks: list[dict[str, Any]], prefix: str, text: str) -> list[dict[str, Any]]:
    """`blocks` with `text` as the first element of the last context block (the footer), replacing an earlier
    line that starts with `prefix`; a message without a context block gets one. Never adds a block otherwise, so
    the main message stays within its six."""
    copied = [dict(block) for block in blocks]
    index = next((i for i in range(len(copied) - 1, -1, -1) if copied[i].get("type") == "context"), None)
    element = {"type": "mrkdwn", "text": text}
    if index is None:
        return [*copied, {"type": "context", "elements": [element]}]
    kept = [
        e
        for e in copied[index].get("elements") or []
        if not (isinstance(e, dict) and str(e.get("text", "")).startswith(prefix))
    ]
    copied[index] = {**copied[index], "elements": [element, *kept][:_MAX_CONTEXT_ELEMENTS]}
    return copied


def acknowledged_line(user: str, at: datetime) -> str:
    return f"{ACKNOWLEDGED_PREFIX} <@{user}> at {at.astimezone(UTC):%H:%M} UTC"


def muted_line(user: str, until: datetime) -> str:
    return f"{MUTED_PREFIX} {until.astimezone(UTC):%H:%M} UTC by <@{user}>"


def displayed_blocks(record: dict[str, Any]) -> list[dict[str, Any]]:
    """What an incident's main message shows: the blocks Post keeps (header as last edited) with a footer line for
    each click the record holds (`acknowledged_by` / `acknowledged_at`, `muted_by` / `muted_until`). Post and the
    click handler both render the message from the record this way, and each writes only its own fields, so neither
    edit drops the other's (decision 0020). The only mentions are user ids Slack signed, re-checked here."""
    blocks = [dict(block) for block in record.get("blocks") or [] if isinstance(block, dict)]
    acknowledged_by, acknowledged_at = record.get("acknowledged_by"), _moment(record.get("acknowledged_at"))
    if isinstance(acknowledged_by, str) and SLACK_USER_ID.fullmatch(acknowledged_by) and acknowledged_at:
        blocks = with_status_line(blocks, ACKNOWLEDGED_PREFIX, acknowledged_line(acknowledged_by, acknowledged_at))
    muted_by, until = record.get("muted_by"), muted_until(record)
    if isinstance(muted_by, str) and SLACK_USER_ID.fullmatch(muted_by) and until:
        blocks = with_status_line(blocks, MUTED_PREFIX, muted_line(muted_by, until))
    return blocks


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def muted_until(record: dict[str, Any]) -> datetime | None:
    """When an incident record's mute ends (None when it was never muted or the value is unreadable)."""
    return _moment(record.get("muted_until"))


def is_muted(record: dict[str, Any], now: datetime) -> bool:
    """Whether the incident was muted from Slack and the hour is not over yet."""
    until = muted_until(record)
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    return until is not None and moment < until
