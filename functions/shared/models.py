"""Payloads that cross a state boundary of the alert pipeline.

Every stage parses its input into one of these models and returns one of them dumped to JSON, so the shapes an
operator reads in the Step Functions console are exactly the shapes defined here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from functions.shared.alert_details import DETAILS_MODELS, AlertDetails, UnknownDetails, details_for

Route = Literal["critical", "heartbeat"]
Severity = Literal["critical", "warning", "info"]
AlertSource = Literal[
    "budget",
    "cost_anomaly",
    "cloudwatch_alarm",
    "health",
    "security_hub",
    "guardduty",
    "custom",
    "unknown",
]
SectionName = Literal["cost", "compute", "logs"]
SectionStatus = Literal["ok", "error", "skipped"]
AnalysisMethod = Literal["claude", "rule_based", "passthrough"]
Confidence = Literal["high", "medium", "low"]
# What the analysis concludes about the alert: something is wrong ("problem"), the alarm fired without a problem
# behind it ("false_alarm"), the evidence shows nothing wrong ("no_problem"), or it cannot tell ("unknown").
Verdict = Literal["problem", "false_alarm", "no_problem", "unknown"]

_D = TypeVar("_D", bound=BaseModel)

# Bounds that keep every state's output far below Step Functions' 256 KB payload limit.
MAX_RAW_PAYLOAD_CHARS = 60_000
MAX_RAW_EXCERPT_CHARS = 2_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class PipelineInput(_Model):
    """One alert as the ingest stage hands it to the state machine (the execution input)."""

    route: Route = "critical"
    dedup_key: str = ""
    delivery: Literal["sns", "sns_https", "eventbridge", "direct"] = "direct"
    received_at: datetime | None = None
    subject: str | None = None
    topic_arn: str | None = None
    # The alert exactly as it arrived: a JSON object when it parsed as one, otherwise its text.
    payload: Any = None
    payload_truncated: bool = False


class ResourceRef(_Model):
    """The AWS resource an alert is about, as precisely as the alert names it."""

    type: str = ""  # e.g. "AWS::Lambda::Function", "AWS::EC2::Instance", "AWS::Budgets::Budget"
    name: str = ""
    arn: str | None = None
    region: str | None = None


class Alert(_Model):
    """The one normalised shape every alert source becomes."""

    source: AlertSource
    alert_type: str
    severity: Severity
    title: str
    summary: str = ""
    account_id: str | None = None
    region: str | None = None
    occurred_at: datetime | None = None
    resource: ResourceRef | None = None
    # What this source knows beyond the fields above: one model per source (`functions.shared.alert_details`).
    details: AlertDetails = Field(default_factory=UnknownDetails)
    dedup_key: str
    # Kept for alerts we could not fully understand, so nothing that arrived is lost.
    raw_excerpt: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _details_follow_source(cls, data: Any) -> Any:
        """The details are parsed as the model of the alert's own source (state payloads carry no discriminator)."""
        if isinstance(data, dict) and data.get("source") in DETAILS_MODELS:
            return {**data, "details": details_for(data["source"], data.get("details"))}
        return data

    def details_of(self, kind: type[_D]) -> _D | None:
        """The details as `kind` (e.g. `CloudWatchAlarmDetails`) when the alert is of that source, else None."""
        matches = isinstance(self.details, kind) and DETAILS_MODELS.get(self.source) is kind
        return self.details if matches else None  # type: ignore[return-value]


class StageInput(_Model):
    """What the gather and analyse stages receive: the route and the classified alert."""

    route: Route = "critical"
    alert: Alert


class Measurement(_Model):
    """The numbers behind a fact, so the rules compare numbers instead of reading the fact's sentence.

    E.g. an alarm metric: value = its peak, baseline = its median before the breach, change_pct, latest, threshold
    and whether the peak crossed it; a cost mover: value = yesterday's cost, baseline = the day before, unit "USD".
    Only what is known is set (and serialised).
    """

    value: float | None = None  # what was observed: a peak, yesterday's cost, a count, a configured limit
    baseline: float | None = None  # what it is compared with: the usual level, the day before, the expected spend
    unit: str | None = None  # "USD", "count", "ms", "percent", "seconds", "invocations", ...
    window: str | None = None  # the period one value covers, e.g. "1h", "5m", "24h", "1d"
    change_pct: float | None = None  # value vs baseline in percent; None without a baseline or from zero
    latest: float | None = None  # the newest datapoint, when it is not the peak
    threshold: float | None = None
    crossed: bool | None = None  # whether value crossed threshold (None: not known)

    @model_serializer(mode="wrap")
    def _set_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class Fact(_Model):
    """One piece of evidence found while gathering context."""

    key: str  # stable machine name, e.g. "cost.top_service"
    text: str  # one line a human reads, e.g. "AWS Lambda: $412.30 in 7 days, +300% day over day"
    value: float | int | str | None = None
    link: str | None = None  # console deep link to the evidence
    subject: str | None = None  # what the fact is about: a function, an instance, a service, a usage type
    numbers: Measurement | None = None
    # For a fact about a neighbour of the implicated resource: the edge the investigation followed to get there,
    # e.g. "consumer of SQS queue orders (event source mapping)", so a reader sees why it is in the picture.
    via: str | None = None
    # The resource the fact is about when it is not the alert's own: a composite alarm's firing child's resource.
    resource: ResourceRef | None = None

    @model_serializer(mode="wrap")
    def _without_unset_extras(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in ("subject", "numbers", "via", "resource"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class ContextSection(_Model):
    """The compact result of one gather branch."""

    name: SectionName
    status: SectionStatus
    looked_at: list[str] = Field(default_factory=list)  # what was queried, e.g. "Cost Explorer 2026-11-18..25"
    facts: list[Fact] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # truncation, missing permission, missing data, ...
    error: str | None = None
    cause: str | None = None  # filled by the state machine's Catch when the branch itself failed
    duration_ms: int | None = None

    def fact(self, key: str) -> Fact | None:
        return next((f for f in self.facts if f.key == key), None)


class GatheredContext(_Model):
    cost: ContextSection | None = None
    compute: ContextSection | None = None
    logs: ContextSection | None = None

    def sections(self) -> list[ContextSection]:
        return [s for s in (self.cost, self.compute, self.logs) if s is not None]


class AnalyzeInput(StageInput):
    context: GatheredContext = Field(default_factory=GatheredContext)
    mode: Literal["auto", "rules"] = "auto"
    # Set by the state machine when the AI analysis failed after its retries.
    ai_failure: dict[str, Any] | None = None


class EvidenceClaim(_Model):
    claim: str
    section: SectionName | Literal["alert"] = "alert"
    link: str | None = None


class AnalysisBody(_Model):
    """What an analysis says, whoever wrote it (Claude or the rules)."""

    root_cause: str
    confidence: Confidence = "low"
    verdict: Verdict = "unknown"
    evidence: list[EvidenceClaim] = Field(default_factory=list)
    diagnostics: list[str] = Field(default_factory=list)  # read-only `aws` CLI commands
    recommendations: list[str] = Field(default_factory=list)
    unknowns: list[str] = Field(default_factory=list)


class TokenUsage(_Model):
    input_tokens: int = 0
    output_tokens: int = 0
    estimated_cost_usd: float = 0.0


class Analysis(AnalysisBody):
    """An analysis plus how it was produced: what the Format stage renders."""

    method: AnalysisMethod
    model_id: str | None = None
    usage: TokenUsage | None = None
    latency_ms: int | None = None
    # Why the AI analysis was not used, in words an on-call engineer understands.
    fallback_reason: str | None = None
    dropped_commands: list[str] = Field(default_factory=list)


class FormatInput(_Model):
    route: Route = "critical"
    alert: Alert
    context: GatheredContext = Field(default_factory=GatheredContext)
    analysis: Analysis | None = None
    analysis_failure: dict[str, Any] | None = None
    execution_id: str | None = None
    started_at: datetime | None = None
    # The deployment's environment ("prod", "dev", ...), shown on the message's context line.
    environment: str | None = None
    # What "Check Incident" decided (absent when it failed): why this alert was investigated.
    incident_check: IncidentCheck | None = None


class IncidentSignal(_Model):
    """What a re-fire is compared with to tell whether its evidence changed materially (decision 0014): the alert's
    severity and its one headline number (an alarm's breaching datapoint, a budget's spend, an anomaly's impact, a
    finding's severity score) with the threshold it was measured against."""

    severity: Severity
    value: float | None = None
    threshold: float | None = None


class IncidentRef(_Model):
    """Which incident an alert belongs to (`functions.shared.incidents`): what Post needs to thread and edit."""

    key: str
    resource_key: str | None = None
    resolved: bool = False  # the alert says the incident is over (alarm OK, finding archived, event closed)
    evidence_digest: str | None = None  # changes when the evidence behind the message changes materially
    occurred_at: datetime | None = None  # when the alert happened: the incident's clock (first fired, resolved)
    signal: IncidentSignal | None = None
    # False when "Check Incident" routed the alert past the investigation (a re-fire, a duplicate, a resolution):
    # Post then only replies in the thread and edits the header.
    investigated: bool = True
    # Why a re-fire of an open incident was investigated again ("severity rose from warning to critical").
    change: str | None = None


# "wait": another execution claimed this new incident seconds ago and is investigating it (decision 0020): wait
# for its message, then reply in its thread.
IncidentAction = Literal["investigate", "update", "wait"]


class IncidentCheck(_Model):
    """The "Check Incident" state's output (`$.incident_check`): investigate the alert, or only update the open
    incident's Slack message (decision 0014). `message` is what Post posts on the "update" path: the compact
    resolution line, or the compact "fired again" line."""

    action: IncidentAction
    reason: str
    incident: IncidentRef
    message: SlackMessage | None = None
    # How many times this execution has waited for another one's claim, and (action "wait") how long the
    # "Wait For The First Alert's Message" state waits before "Check Incident Again" (decision 0020).
    waits: int = Field(default=0, ge=0)
    wait_seconds: int | None = Field(default=None, ge=1, le=300)


class SlackMessage(_Model):
    text: str
    blocks: list[dict[str, Any]] = Field(default_factory=list)


class FormatOutput(_Model):
    route: Route
    dedup_key: str
    title: str
    message: SlackMessage
    # The first reply under the message: evidence, what was checked, diagnostics, unknowns, model and cost.
    thread: SlackMessage | None = None
    incident: IncidentRef | None = None
    # What the chat bot needs to answer questions asked under this alert (functions.shared.chat_models.AlertContext).
    alert_context: dict[str, Any] | None = None


class PostInput(_Model):
    route: Route = "critical"
    dedup_key: str = ""
    message: SlackMessage
    thread: SlackMessage | None = None
    incident: IncidentRef | None = None
    alert_context: dict[str, Any] | None = None


class PostResult(_Model):
    posted: bool
    route: Route
    status_code: int
    attempts: int = 1
    remembered_for_chat: bool = False
    # With the bot token: where the main message went, and the thread its evidence was posted in.
    channel: str | None = None
    ts: str | None = None
    thread_ts: str | None = None

    @model_serializer(mode="wrap")
    def _bot_fields_when_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in ("channel", "ts", "thread_ts"):
            if data.get(key) is None:
                data.pop(key, None)
        return data
