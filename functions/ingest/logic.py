"""Ingest: turn whatever arrived (SNS batch, SNS HTTPS body, EventBridge event, raw file) into pipeline inputs,
and start one Step Functions execution per alert, named after its dedup key so a redelivery starts nothing.

Nothing here raises for bad content: an unreadable payload still becomes an input (classify keeps it raw).
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from functions.ingest.models import IngestedEvent, StartResult
from functions.shared.classification import alert_dedup_key, parse_json_text
from functions.shared.models import PipelineInput, Route
from functions.shared.payload_bounds import MAX_PIPELINE_PAYLOAD_BYTES, fits, shrink_json
from functions.shared.sources.common import canonical_json, dedup_key
from functions.shared.sources.security import securityhub_findings
from functions.shared.untrusted_text import clean_json, clean_text

Delivery = Literal["sns", "sns_https", "eventbridge", "direct"]

MAX_EXECUTION_NAME_CHARS = 80
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_SNS_CONTROL_TYPES = {"SubscriptionConfirmation", "UnsubscribeConfirmation"}


class ExecutionStarter(Protocol):
    def start(self, name: str, input_json: str) -> Literal["started", "duplicate"]: ...


def pipeline_inputs_from_event(event: Any, *, now: datetime | None = None) -> list[PipelineInput]:
    """One PipelineInput per alert in a Lambda event (SNS batch, SNS HTTPS body, EventBridge event, or anything
    else as a direct payload). Never raises."""
    return read_event(event, now=now).inputs


def pipeline_inputs_from_raw(
    data: bytes | str, *, default_route: Route = "critical", now: datetime | None = None
) -> list[PipelineInput]:
    """One PipelineInput per alert in a file's content (any shape `pipeline_inputs_from_event` reads, plain text,
    or undecodable bytes). Never raises."""
    return read_raw(data, default_route=default_route, now=now).inputs


def read_raw(data: bytes | str, *, default_route: Route = "critical", now: datetime | None = None) -> IngestedEvent:
    """Like `pipeline_inputs_from_raw`, keeping the notices (e.g. "this is an SNS subscription confirmation")."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes | bytearray) else str(data)
    parsed = parse_json_text(text)
    event = parsed if isinstance(parsed, dict) else text
    return read_event(event, now=now, default_route=default_route)


def read_event(event: Any, *, now: datetime | None = None, default_route: Route = "critical") -> IngestedEvent:
    """The alerts in one incoming event plus notices about parts that are not alerts. Never raises."""
    received_at = now or datetime.now(UTC)
    result = IngestedEvent()
    try:
        _read_into(result, event, received_at, default_route)
    except Exception as exc:  # a reader bug must not lose the delivery: pass it on whole
        result.notices.append(f"Event could not be split ({type(exc).__name__}); passed on as one direct payload")
        result.inputs = [_make_input(event, "direct", default_route, None, None, received_at)]
    return result


def _read_into(result: IngestedEvent, event: Any, received_at: datetime, default_route: Route) -> None:
    if isinstance(event, dict) and _is_sns_lambda_event(event):
        for record in event["Records"]:
            sns = record.get("Sns") if isinstance(record, dict) else None
            if not isinstance(sns, dict):
                result.notices.append("Skipped an SNS record without an Sns body")
                continue
            _read_sns_message(result, sns, "sns", received_at)
        return
    if isinstance(event, dict) and _is_http_request(event):
        body = _http_body(event)
        parsed = parse_json_text(body)
        event = parsed if isinstance(parsed, dict) else body
    if isinstance(event, dict) and isinstance(event.get("Type"), str) and "TopicArn" in event:
        _read_sns_message(result, event, "sns_https", received_at)
        return
    if isinstance(event, dict) and "detail-type" in event and "source" in event:
        for payload in _split_findings(event):
            result.inputs.append(_make_input(payload, "eventbridge", default_route, None, None, received_at))
        return
    if isinstance(event, str) and isinstance(parsed_text := parse_json_text(event), dict):
        event = parsed_text
    for part in _split_findings(event):
        result.inputs.append(_make_input(part, "direct", default_route, None, None, received_at))


def _read_sns_message(result: IngestedEvent, sns: dict[str, Any], delivery: Delivery, received_at: datetime) -> None:
    kind = sns.get("Type")
    topic_arn = sns.get("TopicArn") if isinstance(sns.get("TopicArn"), str) else None
    if kind in _SNS_CONTROL_TYPES:
        url = sns.get("SubscribeURL") or sns.get("SubscribeUrl") or "(no SubscribeURL)"
        result.notices.append(
            f"SNS {kind} for topic {topic_arn}: not an alert. To confirm the subscription, open {url}"
        )
        return
    subject = sns.get("Subject") if isinstance(sns.get("Subject"), str) else None
    message = sns.get("Message")
    if isinstance(message, str):
        parsed = parse_json_text(message)
        payload: Any = parsed if isinstance(parsed, dict) else message
    else:
        payload = message
    route = route_for_topic(topic_arn)
    for part in _split_findings(payload):
        result.inputs.append(_make_input(part, delivery, route, subject, topic_arn, received_at))


def route_for_topic(topic_arn: str | None) -> Route:
    """A topic whose name contains "heartbeat" feeds the heartbeat channel; every other topic is critical."""
    name = (topic_arn or "").rsplit(":", 1)[-1]
    return "heartbeat" if "heartbeat" in name.lower() else "critical"


def _split_findings(payload: Any) -> list[Any]:
    """One payload per Security Hub finding, so each finding is its own alert; other payloads unchanged."""
    findings = securityhub_findings(payload)
    if not findings or len(findings) < 2 or not isinstance(payload, dict):
        return [payload]
    parts = []
    for finding in findings:
        part = copy.copy(payload)
        if isinstance(payload.get("detail"), dict):
            part["detail"] = {**payload["detail"], "findings": [finding]}
        else:
            part["Findings"] = [finding]
        parts.append(part)
    return parts


def _make_input(
    payload: Any,
    delivery: Delivery,
    route: Route,
    subject: str | None,
    topic_arn: str | None,
    received_at: datetime,
) -> PipelineInput:
    """One execution input. Strings are cleaned here, once (lone surrogates, invisible controls: see
    `functions.shared.untrusted_text`), and the payload is bounded in bytes by shortening its longest strings,
    keeping its shape, so Classify still recognises a huge alert for what it is."""
    cleaned = clean_json(payload)
    bounded = shrink_json(cleaned, MAX_PIPELINE_PAYLOAD_BYTES)
    clean_subject = clean_text(subject)[:1_000] if subject is not None else None
    return PipelineInput(
        route=route,
        # The key comes from the whole alert, so two large alerts that differ only past the cut stay two alerts.
        dedup_key=alert_dedup_key(cleaned, clean_subject),
        delivery=delivery,
        received_at=received_at,
        subject=clean_subject,
        topic_arn=clean_text(topic_arn)[:1_000] if topic_arn is not None else None,
        payload=bounded,
        payload_truncated=not fits(cleaned, MAX_PIPELINE_PAYLOAD_BYTES),
    )


def _is_sns_lambda_event(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and ("Sns" in r or r.get("EventSource") == "aws:sns") for r in records)
    )


def _is_http_request(event: dict[str, Any]) -> bool:
    """A Lambda function URL / API Gateway request, the way an SNS HTTPS subscription reaches a Lambda."""
    return isinstance(event.get("body"), str) and ("requestContext" in event or "headers" in event)


def _http_body(event: dict[str, Any]) -> str:
    """The request body, base64-decoded when the function URL or API Gateway encoded it (Powertools'
    `decoded_body`); a body that does not decode is kept as it arrived, since an alert must not be lost to it."""
    # Imported here: Powertools' data_classes package loads every event class it has (a tenth of an `import boto3`),
    # and only the HTTPS deliveries need one; SNS and EventBridge deliveries, the usual ones, never do.
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    try:
        body = APIGatewayProxyEvent(event).decoded_body
    except UnicodeDecodeError:  # base64 of bytes that are not UTF-8: keep what can be read
        body = base64.b64decode(event["body"]).decode("utf-8", errors="replace")
    except (ValueError, TypeError):  # not base64 after all
        body = None
    if isinstance(body, str):
        return body
    raw: str = event["body"]
    return raw


def execution_name(pipeline_input: PipelineInput) -> str:
    """The Step Functions execution name for one input: `<route>-<dedup key>`, at most 80 chars of
    [A-Za-z0-9_-], so the same alert delivered twice maps to the same name."""
    key = _UNSAFE_NAME_CHARS.sub("-", pipeline_input.dedup_key).strip("-")
    if not key:
        key = dedup_key("alert", canonical_json(pipeline_input.payload))
    name = f"{pipeline_input.route}-{key}"
    return name[:MAX_EXECUTION_NAME_CHARS]


def start_pipeline(inputs: Iterable[PipelineInput], starter: ExecutionStarter) -> list[StartResult]:
    """Start one execution per input; an input whose execution name was already used (in this batch or
    before) is reported as a duplicate and starts nothing.

    Raises:
        Whatever `starter.start` raises for failures other than a duplicate (e.g. botocore ClientError).
    """
    results: list[StartResult] = []
    seen: set[str] = set()
    for pipeline_input in inputs:
        name = execution_name(pipeline_input)
        if name in seen:
            status: Literal["started", "duplicate"] = "duplicate"
        else:
            status = starter.start(name, pipeline_input.model_dump_json())
            seen.add(name)
        results.append(
            StartResult(
                execution_name=name, status=status, route=pipeline_input.route, dedup_key=pipeline_input.dedup_key
            )
        )
    return results
