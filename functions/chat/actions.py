"""The chat worker's side of a button click (`functions.shared.slack_actions`): Acknowledge, Mute 1 h, Analyze with AI.

* **Acknowledge**: the incident record remembers who took it (`acknowledged_by`, `acknowledged_at`) and the main
  message shows "👀 Acknowledged by <@U…> at 06:41 UTC" in its footer (`chat.update`).
* **Mute 1 h**: the record carries `muted_until`; Post keeps re-fires of a muted incident in its thread without
  editing the message (`functions.post.logic`), and the footer says until when.
* **Analyze with AI** (heartbeat messages): the heartbeat run's input is read back from Step Functions and the
  critical pipeline is started with it, named after the clicked message so its answer lands in that thread.

A click only acts on the message it was made on: Acknowledge and Mute need the incident record's channel and
message ts to be the clicked message's; Analyze needs the heartbeat channel. The one name a reply mentions is the
clicking user's id from Slack's signed payload; nothing of the alert's text is written by this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from functions.shared.adapters.conversations import IncidentRecordConflictError
from functions.shared.models import PipelineInput
from functions.shared.observability import logger
from functions.shared.slack_actions import (
    DEDUP_KEY,
    MUTE_SECONDS,
    SlackActionRequest,
    displayed_blocks,
    heartbeat_execution_name,
    on_demand_execution_name,
)

ActionOutcome = Literal["acknowledged", "muted", "analysis_started", "analysis_already_requested", "ignored"]


class IncidentRecords(Protocol):
    """Open incidents (`functions.shared.adapters.incident_actions.IncidentActionsTable`)."""

    def incident(self, key: str) -> dict[str, Any] | None: ...

    def update_incident(self, key: str, fields: dict[str, Any], *, message_ts: str) -> dict[str, Any]: ...


class SlackEditor(Protocol):
    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str: ...

    def update_message(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None: ...


class PipelineRuns(Protocol):
    """The alert pipeline's executions (`functions.shared.adapters.incident_actions.PipelineRuns`)."""

    def execution_input(self, name: str) -> str | None: ...

    def start(self, name: str, input_json: str) -> Literal["started", "duplicate"]: ...


@dataclass
class ActionDeps:
    incidents: IncidentRecords
    slack: SlackEditor
    # Without the pipeline (STATE_MACHINE_ARN unset) Analyze with AI says so in the thread and starts nothing.
    runs: PipelineRuns | None = None
    # Route -> channel, as Post posts (SLACK_ALERT_CHANNELS).
    alert_channels: dict[str, str] = field(default_factory=dict)


class ActionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    outcome: ActionOutcome
    reason: str = ""
    execution_name: str | None = None


def act_on_click(request: SlackActionRequest, deps: ActionDeps, now: datetime | None = None) -> ActionResult:
    """Do what the button says, for the message it was clicked on.

    Raises:
        ConversationStoreError: the incident record could not be read or written.
        SlackPostError, SlackRateLimitedError: the message could not be edited or the reply posted.
        botocore ClientError: Step Functions refused to read or start a run (other than a name already used).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    if request.channel not in set(deps.alert_channels.values()):
        return _ignored(request, "channel not configured")
    if request.kind == "analyze":
        return _analyze(request, deps)
    return _incident_action(request, deps, moment)


def _ignored(request: SlackActionRequest, reason: str) -> ActionResult:
    logger.info("click ignored", extra={"action": request.kind, "reason": reason})
    return ActionResult(kind=request.kind, outcome="ignored", reason=reason)


def _incident_action(request: SlackActionRequest, deps: ActionDeps, now: datetime) -> ActionResult:
    record = deps.incidents.incident(request.value)
    if record is None:
        return _ignored(request, "no such incident")
    if str(record.get("channel")) != request.channel or str(record.get("ts")) != request.message_ts:
        return _ignored(request, "the incident's message is another one")
    mention = f"<@{request.user}>"
    if request.kind == "acknowledge":
        fields: dict[str, Any] = {"acknowledged_by": request.user, "acknowledged_at": now.isoformat()}
        outcome: ActionOutcome = "acknowledged"
        note = None
    else:
        until = now + timedelta(seconds=MUTE_SECONDS)
        fields = {"muted_until": until.isoformat(), "muted_by": request.user}
        outcome = "muted"
        note = (
            f"🔕 {mention} muted this incident until {until:%H:%M} UTC: re-fires until then are noted in this "
            "thread without updating the message."
        )
    # Only the click's own fields, and only while the record is still the clicked message's (UpdateItem): Post's
    # counts, status and blocks written meanwhile stay. The message is drawn from the record as stored after it.
    try:
        stored = deps.incidents.update_incident(request.value, fields, message_ts=request.message_ts)
    except IncidentRecordConflictError:  # expired, or another message of the incident since the read
        return _ignored(request, "the incident's message is another one")
    blocks = displayed_blocks(stored or {**record, **fields})
    text = str(record.get("text") or record.get("header") or "Alert")
    deps.slack.update_message(request.channel, request.message_ts, text, blocks)
    if note:
        deps.slack.post_message(request.channel, note, _note_blocks(note), thread_ts=request.message_ts)
    logger.info("incident action done", extra={"action": request.kind})
    return ActionResult(kind=request.kind, outcome=outcome)


def _analyze(request: SlackActionRequest, deps: ActionDeps) -> ActionResult:
    heartbeat_channel = deps.alert_channels.get("heartbeat")
    if request.channel != heartbeat_channel:
        return _ignored(request, "not the heartbeat channel")
    if not DEDUP_KEY.fullmatch(request.value):
        return _ignored(request, "not a dedup key")
    mention = f"<@{request.user}>"
    if deps.runs is None:
        _reply(deps, request, f"{mention} asked for an AI analysis, but this deployment has no pipeline configured.")
        return _ignored(request, "no pipeline configured")
    raw = deps.runs.execution_input(heartbeat_execution_name(request.value))
    pipeline_input = _heartbeat_input(raw)
    if pipeline_input is None:
        _reply(
            deps,
            request,
            f"{mention} asked for an AI analysis, but the alert's heartbeat run could not be read back "
            "(Step Functions keeps runs for 90 days); nothing was started.",
        )
        return _ignored(request, "heartbeat run not readable")
    name = on_demand_execution_name(request.channel, request.message_ts, request.value)
    critical = pipeline_input.model_copy(update={"route": "critical"})
    # A run of that name means this message's analysis was asked for already (Step Functions answers a second
    # StartExecution of a running execution with the same input as if it had started it).
    already = deps.runs.execution_input(name) is not None
    status = "duplicate" if already else deps.runs.start(name, critical.model_dump_json())
    if status == "duplicate":
        _reply(deps, request, f"{mention}: an AI analysis of this alert was already requested; it answers here.")
        return ActionResult(kind=request.kind, outcome="analysis_already_requested", execution_name=name)
    _reply(deps, request, f"🤖 {mention} asked for an AI analysis: the critical pipeline is running, it answers here.")
    logger.info("on-demand analysis started", extra={"execution_name": name})
    return ActionResult(kind=request.kind, outcome="analysis_started", execution_name=name)


def _heartbeat_input(raw: str | None) -> PipelineInput | None:
    """The heartbeat run's input, or None when it is missing, unreadable or not a heartbeat's."""
    if raw is None:
        return None
    try:
        pipeline_input = PipelineInput.model_validate_json(raw)
    except ValidationError:
        return None
    return pipeline_input if pipeline_input.route == "heartbeat" else None


def _note_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]


def _reply(deps: ActionDeps, request: SlackActionRequest, text: str) -> None:
    deps.slack.post_message(request.channel, text, _note_blocks(text), thread_ts=request.message_ts)
