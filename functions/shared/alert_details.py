"""What each alert source knows beyond the common `Alert` fields: one pydantic model per source.

`Alert.details` is a discriminated union of these models on `source` (the pattern of Powertools' parser examples,
`multiple_model_parsing.py`), so the keys a parser in `functions.shared.sources` writes and the keys a gather stage
or a rule reads are the same attribute names, checked by mypy: rename one and every reader fails the type check.
Read them through `Alert.details_of(CloudWatchAlarmDetails)`, which is None for an alert of another source.

The JSON shape is the one the Step Functions console has always shown: a flat object of the fields that are set
(None is left out; undeclared keys are kept after the declared ones), without the discriminator (the alert's own
`source` says which model it is, and `Alert` puts it back when it parses a state payload). Every field is optional,
because a bounded alert may keep only some of them (`functions.classify.logic.bound_alert`), and parsing never loses
an alert: a value of the wrong type is dropped with its key rather than failing the stage (`details_for`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidationError, model_serializer
from pydantic.functional_validators import BeforeValidator


def _only_mappings(value: Any) -> Any:
    """A list of sub-records keeps its records: `shrink_json` may append a "…N more items cut" string."""
    return [item for item in value if isinstance(item, dict | BaseModel)] if isinstance(value, list) else value


def _only_scalars(value: Any) -> Any:
    return [item for item in value if isinstance(item, str | int | float)] if isinstance(value, list) else value


class _Record(BaseModel):
    """A flat record whose JSON leaves out what is not set, as the parsers' dicts always did."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True, defer_build=True)

    @model_serializer(mode="wrap")
    def _set_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None and k != "source"}


class SourceDetails(_Record):
    """What every source's details have in common; each source subclasses it with a `source` literal.

    Keys a model does not declare are kept as extras (a hand-started execution's own keys, shown as fields by
    Format); the type checker sees only the declared ones, which are all the parsers write.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    # Set by Classify when the alert arrived cut to the payload limit.
    payload_truncated: bool | None = None

    def as_fields(self) -> dict[str, Any]:
        """The details as the flat JSON object the state payload holds: what Format and the prompt render."""
        fields = self.model_dump(mode="json")
        if "payload_truncated" in fields:  # it was always appended last
            fields["payload_truncated"] = fields.pop("payload_truncated")
        return fields


class BudgetDetails(SourceDetails):
    """An AWS Budgets notification (`sources.budget`)."""

    source: Literal["budget"] = "budget"
    budget_name: str | None = None
    budget_type: str | None = None
    notification_type: str | None = None  # "ACTUAL" or "FORECASTED"
    budgeted_amount: float | None = None
    threshold_amount: float | None = None
    threshold_text: str | None = None  # as AWS wrote it, e.g. "> $800.00"
    actual_amount: float | None = None
    forecasted_amount: float | None = None
    percent_of_budget: float | None = None
    currency: str | None = None
    notification_date: str | None = None  # YYYY-MM-DD
    threshold_period: str | None = None  # day, month, quarter, year


class AlarmMetricQuery(_Record):
    """One metric (or expression) of a metric-math or anomaly-detection alarm."""

    id: str | None = None
    expression: str | None = None
    label: str | None = None
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: dict[str, str] | None = None
    stat: str | None = None
    period: float | None = None
    return_data: bool | None = None

    @model_serializer(mode="wrap")
    def _set_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v not in (None, {}, "")}


class CloudWatchAlarmDetails(SourceDetails):
    """A CloudWatch alarm state or configuration change (`sources.cloudwatch`), in any of its three shapes."""

    source: Literal["cloudwatch_alarm"] = "cloudwatch_alarm"
    alarm_name: str | None = None
    alarm_arn: str | None = None
    alarm_description: str | None = None
    alarm_kind: str | None = None  # "metric", "metric_math", "anomaly_detection", "composite"
    state: str | None = None  # "ALARM", "OK", "INSUFFICIENT_DATA", ...
    previous_state: str | None = None
    state_reason: str | None = None
    state_changed_at: str | None = None
    namespace: str | None = None  # of the alarm's (first) metric
    metric_name: str | None = None
    dimensions: dict[str, str] | None = None
    statistic: str | None = None
    period_seconds: float | None = None
    threshold: float | None = None
    comparison_operator: str | None = None
    evaluation_periods: float | None = None
    datapoints_to_alarm: float | None = None
    threshold_metric_id: str | None = None
    alarm_rule: str | None = None  # composite alarms
    triggering_alarms: Annotated[list[str] | None, BeforeValidator(_only_scalars)] = None
    configuration_change: str | None = None
    configuration_updated_at: str | None = None  # AlarmConfigurationUpdatedTimestamp (SNS deliveries carry it)
    metrics: Annotated[list[AlarmMetricQuery] | None, BeforeValidator(_only_mappings)] = None


class AnomalyRootCause(_Record):
    service: str | None = None
    region: str | None = None
    usage_type: str | None = None
    linked_account: str | None = None
    linked_account_name: str | None = None
    impact_contribution: float | None = None


class CostAnomalyDetails(SourceDetails):
    """A Cost Anomaly Detection alert (`sources.cost_anomaly`)."""

    source: Literal["cost_anomaly"] = "cost_anomaly"
    anomaly_id: str | None = None
    monitor_arn: str | None = None
    anomaly_start: str | None = None
    anomaly_end: str | None = None
    total_impact: float | None = None
    total_impact_percentage: float | None = None
    max_impact: float | None = None
    total_actual_spend: float | None = None
    total_expected_spend: float | None = None
    anomaly_score: dict[str, Any] | None = None
    dimensional_value: str | None = None
    root_causes: Annotated[list[AnomalyRootCause] | None, BeforeValidator(_only_mappings)] = None
    anomaly_details_link: str | None = None
    subscription_name: str | None = None


class HealthDetails(SourceDetails):
    """An AWS Health event (`sources.health`)."""

    source: Literal["health"] = "health"
    event_arn: str | None = None
    event_type_code: str | None = None
    event_type_category: str | None = None
    service: str | None = None
    status_code: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    last_updated_time: str | None = None
    event_scope_code: str | None = None
    affected_entities: Annotated[list[str] | None, BeforeValidator(_only_scalars)] = None
    affected_entity_count: int | None = None


class SecurityHubDetails(SourceDetails):
    """A Security Hub finding (`sources.security`); `finding_count` says how many one event carried."""

    source: Literal["security_hub"] = "security_hub"
    finding_id: str | None = None
    severity_label: str | None = None
    severity_normalized: float | None = None
    types: Annotated[list[str] | None, BeforeValidator(_only_scalars)] = None
    product: str | None = None
    generator_id: str | None = None
    security_control_id: str | None = None
    compliance_status: str | None = None
    workflow_status: str | None = None
    record_state: str | None = None
    resource_type: str | None = None
    resource_ids: Annotated[list[str] | None, BeforeValidator(_only_scalars)] = None
    remediation: str | None = None
    remediation_url: str | None = None
    first_observed_at: str | None = None
    updated_at: str | None = None
    finding_count: int | None = None


class GuardDutyDetails(SourceDetails):
    """A GuardDuty finding (`sources.security`)."""

    source: Literal["guardduty"] = "guardduty"
    finding_id: str | None = None
    finding_arn: str | None = None
    finding_type: str | None = None
    severity_score: float | None = None
    resource_type: str | None = None
    action_type: str | None = None
    remote_ip: str | None = None
    detector_id: str | None = None
    count: float | None = None
    event_first_seen: str | None = None
    event_last_seen: str | None = None
    archived: bool | None = None
    updated_at: str | None = None


class CustomErrorDetails(SourceDetails):
    """An application's own error event (`sources.custom`); `fields` keeps its other short scalar fields."""

    source: Literal["custom"] = "custom"
    service: str | None = None
    environment: str | None = None
    given_severity: str | None = None
    error_type: str | None = None
    event_id: str | None = None
    message: str | None = None
    fields: dict[str, Any] | None = None


class UnknownDetails(SourceDetails):
    """An alert no parser recognised (`sources.unknown`): its size and whatever names its origin."""

    source: Literal["unknown"] = "unknown"
    raw_chars: int | None = None
    event_source: str | None = None
    detail_type: str | None = None


AnyDetails = (
    BudgetDetails
    | CloudWatchAlarmDetails
    | CostAnomalyDetails
    | HealthDetails
    | SecurityHubDetails
    | GuardDutyDetails
    | CustomErrorDetails
    | UnknownDetails
)
AlertDetails = Annotated[AnyDetails, Field(discriminator="source")]

DETAILS_MODELS: dict[str, type[SourceDetails]] = {
    model.model_fields["source"].default: model
    for model in (
        BudgetDetails,
        CloudWatchAlarmDetails,
        CostAnomalyDetails,
        HealthDetails,
        SecurityHubDetails,
        GuardDutyDetails,
        CustomErrorDetails,
        UnknownDetails,
    )
}


def details_for(source: str, raw: Any) -> AnyDetails:
    """`raw` (a details object, a dict from a state payload, or None) as the details model of `source`.

    Never raises for a source in DETAILS_MODELS (KeyError for any other): keys whose values do not fit the model are
    dropped, one by one, so a hand-made or bounded payload still parses.
    """
    return cast(AnyDetails, _details_of_model(DETAILS_MODELS[source], raw))


def _details_of_model(model: type[SourceDetails], raw: Any) -> SourceDetails:
    if isinstance(raw, SourceDetails):
        return raw if isinstance(raw, model) else model.model_validate(raw.as_fields())
    data = {k: v for k, v in raw.items() if k != "source"} if isinstance(raw, dict) else {}
    for _ in range(len(data) + 1):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            if not bad & data.keys():
                break
            data = {k: v for k, v in data.items() if k not in bad}
    return model()
