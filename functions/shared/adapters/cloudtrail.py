"""CloudTrail reads: the write events recorded on one resource in a recent window (`LookupEvents`).

LookupEvents takes ONE lookup attribute per call (AWS rejects more with InvalidLookupAttributesException), so the
events are looked up by `ResourceName` (or `EventName`) and the read-only ones (Get*, Describe*, List*) dropped
here: what changed is what someone wrote. The API allows 2 requests per second per account and region, so a
lookup reads at most `max_pages` pages of 50 events and is cached like every other read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.cache import cache_key, cached

MAX_RESULTS_PER_PAGE = 50  # LookupEvents' own maximum
DEFAULT_MAX_PAGES = 2

# A request parameter the investigation may quote: scalars only (a nested structure is left out).
ParameterValue = str | float | int | bool | None


class TrailResource(BaseModel):
    resource_type: str | None = None  # "AWS::Lambda::Function"
    resource_name: str | None = None


class TrailEvent(BaseModel):
    """One CloudTrail management event, with the parts of its record an investigation reads."""

    event_id: str
    event_name: str  # "UpdateFunctionConfiguration20150331v2"
    event_source: str | None = None  # "lambda.amazonaws.com"
    event_time: datetime
    username: str | None = None
    read_only: bool | None = None
    resources: list[TrailResource] = Field(default_factory=list)
    # Top-level scalar request parameters from the record ("threshold": 5, "functionName": "..."), as logged.
    request_parameters: dict[str, ParameterValue] = Field(default_factory=dict)
    # "console.amazonaws.com", "aws-cli/2.15 ...", "AWS Internal": how the change was made.
    user_agent: str | None = None
    error_code: str | None = None  # the call failed: nothing changed

    @property
    def changed_something(self) -> bool:
        return self.read_only is not True and not self.error_code


def _read_only(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _record(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str):
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _scalars(value: Any) -> dict[str, ParameterValue]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if v is None or isinstance(v, str | int | float | bool)}


def trail_event(item: dict[str, Any]) -> TrailEvent | None:
    """One `Events[]` entry of a LookupEvents response; None when it lacks a name or a time."""
    name, at = item.get("EventName"), item.get("EventTime")
    if not isinstance(name, str) or not isinstance(at, datetime):
        return None
    record = _record(item.get("CloudTrailEvent"))
    read_only = _read_only(item.get("ReadOnly"))
    if read_only is None:
        read_only = _read_only(record.get("readOnly"))
    return TrailEvent(
        event_id=str(item.get("EventId") or record.get("eventID") or ""),
        event_name=name,
        event_source=item.get("EventSource") or record.get("eventSource"),
        event_time=at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC),
        username=item.get("Username") or (record.get("userIdentity") or {}).get("userName"),
        read_only=read_only,
        resources=[
            TrailResource(resource_type=r.get("ResourceType"), resource_name=r.get("ResourceName"))
            for r in item.get("Resources") or []
            if isinstance(r, dict)
        ],
        request_parameters=_scalars(record.get("requestParameters")),
        user_agent=record.get("userAgent") if isinstance(record.get("userAgent"), str) else None,
        error_code=record.get("errorCode") if isinstance(record.get("errorCode"), str) else None,
    )


class CloudTrailReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("cloudtrail", region)
        self._region = region

    def write_events(
        self, resource_name: str, *, start: datetime, end: datetime, max_pages: int = DEFAULT_MAX_PAGES
    ) -> list[TrailEvent]:
        """Events that wrote to `resource_name` in [start, end] and succeeded, newest first.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("cloudtrail:LookupEvents"), AwsReadUnavailableError.
        """
        return self._writes("ResourceName", resource_name, start, end, max_pages)

    def events_named(
        self, event_name: str, *, start: datetime, end: datetime, max_pages: int = DEFAULT_MAX_PAGES
    ) -> list[TrailEvent]:
        """Successful calls of one write API (e.g. "PutMetricAlarm") in [start, end], newest first: for a resource
        whose events CloudTrail may not index by name, the caller filters them by their request parameters.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("cloudtrail:LookupEvents"), AwsReadUnavailableError.
        """
        return self._writes("EventName", event_name, start, end, max_pages)

    def _writes(self, key: str, value: str, start: datetime, end: datetime, max_pages: int) -> list[TrailEvent]:
        cache = cache_key("cloudtrail.lookup_events", self._region, key, value, start, end, max_pages)
        return cached(cache, lambda: self._lookup(key, value, start, end, max_pages))

    def _lookup(self, key: str, value: str, start: datetime, end: datetime, max_pages: int) -> list[TrailEvent]:
        found: list[TrailEvent] = []
        token: str | None = None
        for _ in range(max_pages):
            params: dict[str, Any] = {
                "LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}],
                "StartTime": start,
                "EndTime": end,
                "MaxResults": MAX_RESULTS_PER_PAGE,
            }
            if token:
                params["NextToken"] = token
            response = aws_read("cloudtrail:LookupEvents", self._client.lookup_events, **params)
            for item in response.get("Events", []):
                event = trail_event(item)
                if event is not None and event.changed_something:
                    found.append(event)
            token = response.get("NextToken")
            if not token:
                break
        return sorted(found, key=lambda e: e.event_time, reverse=True)
