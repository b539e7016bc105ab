"""A CloudTrail endpoint on 127.0.0.1 that answers `LookupEvents` from seeded events (moto has no LookupEvents).

It speaks the real wire format (JSON 1.1): `POST /` with `X-Amz-Target:
com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents` and `Content-Type:
application/x-amz-json-1.1`, a SigV4 `Authorization` header, a body with LookupAttributes (at most one), StartTime
and EndTime (epoch seconds), MaxResults (1-50) and NextToken; the answer is `{"Events": [...], "NextToken": ...}`,
newest first, each event with EventId, EventName, ReadOnly ("true"/"false"), AccessKeyId, EventTime (epoch
seconds), EventSource, Username, Resources[{ResourceType, ResourceName}] and CloudTrailEvent (the record as a JSON
string). Errors come back as AWS sends them: status 400 and `{"__type": "<Code>", "message": ...}`.

The events live in `LOCAL_TRAIL`, a store like moto's backends: the seeder writes it, the runner serves it (the
CloudTrail client reaches the server through `AWS_ENDPOINT_URL_CLOUDTRAIL`, for that client only). As on AWS, a
lookup sees only the events of the region its request was signed for (`signed_region`).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from functions.local_runner.loopback import LoopbackServer, json_body, send_json, sigv4_signed

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
CONTENT_TYPE = "application/x-amz-json-1.1"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_CLOUDTRAIL"
_LOOKUP_KEYS = {
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
}


@dataclass
class RecordedEvent:
    """One management event as CloudTrail recorded it."""

    event_name: str
    event_source: str
    username: str
    event_time: datetime
    resources: list[tuple[str, str]] = field(default_factory=list)  # (ResourceType, ResourceName)
    read_only: bool = False
    request_parameters: dict[str, Any] = field(default_factory=dict)
    user_agent: str = "console.amazonaws.com"
    account_id: str = "123456789012"
    region: str = "us-east-1"
    access_key_id: str = "ASIAY34FZKBOKMUTVV7A"
    error_code: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def record(self) -> dict[str, Any]:
        """The CloudTrail record (what `CloudTrailEvent` holds as a string)."""
        record: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAY34FZKBOKMUTVV7A2",
                "arn": f"arn:aws:iam::{self.account_id}:user/{self.username}",
                "accountId": self.account_id,
                "accessKeyId": self.access_key_id,
                "userName": self.username,
            },
            "eventTime": self.event_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.region,
            "sourceIPAddress": "203.0.113.24",
            "userAgent": self.user_agent,
            "requestParameters": self.request_parameters or None,
            "responseElements": None,
            "requestID": str(uuid.uuid5(uuid.NAMESPACE_URL, self.event_id)),
            "eventID": self.event_id,
            "readOnly": self.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": self.account_id,
            "eventCategory": "Management",
        }
        if self.error_code:
            record["errorCode"] = self.error_code
            record["errorMessage"] = "The request failed."
        return record

    def matches(self, key: str, value: str) -> bool:
        if key == "ResourceName":
            return any(name == value for _, name in self.resources)
        if key == "ResourceType":
            return any(kind == value for kind, _ in self.resources)
        actual = {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": str(self.read_only).lower(),
            "Username": self.username,
            "EventSource": self.event_source,
            "AccessKeyId": self.access_key_id,
        }[key]
        return actual == value

    def wire(self) -> dict[str, Any]:
        return {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": str(self.read_only).lower(),
            "AccessKeyId": self.access_key_id,
            "EventTime": self.event_time.timestamp(),
            "EventSource": self.event_source,
            "Username": self.username,
            "Resources": [{"ResourceType": kind, "ResourceName": name} for kind, name in self.resources],
            "CloudTrailEvent": json.dumps(self.record(), separators=(",", ":")),
        }


@dataclass
class TrailStore:
    """The simulated account's trail: what LookupEvents answers from, and every request it received."""

    events: list[RecordedEvent] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.events.clear()
        self.requests.clear()


LOCAL_TRAIL = TrailStore()


class LookupRejectedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _epoch(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise LookupRejectedError("InvalidTimeRangeException", f"{name} must be a timestamp")


def signed_region(authorization: str) -> str | None:
    """The region a SigV4 `Authorization` header signed for (`Credential=<key>/<date>/<region>/<service>/...`)."""
    credential = authorization.partition("Credential=")[2].split(",", 1)[0]
    parts = credential.split("/")
    return parts[2] if len(parts) >= 5 else None


def lookup(store: TrailStore, body: dict[str, Any], region: str | None = None) -> dict[str, Any]:
    """LookupEvents over `store.events`, as CloudTrail answers it: a trail's events are regional, so only the
    events of the region the request was signed for (`region`; None: every region) are seen.

    Raises:
        LookupRejectedError: a request CloudTrail rejects (two lookup attributes, an unknown key, MaxResults out of
            range, StartTime after EndTime, a NextToken it did not issue).
    """
    attributes = body.get("LookupAttributes") or []
    if not isinstance(attributes, list) or len(attributes) > 1:
        raise LookupRejectedError("InvalidLookupAttributesException", "You can only specify one lookup attribute.")
    for attribute in attributes:
        if not isinstance(attribute, dict) or attribute.get("AttributeKey") not in _LOOKUP_KEYS:
            raise LookupRejectedError("InvalidLookupAttributesException", "The lookup attribute key is not valid.")
    max_results = body.get("MaxResults", 50)
    if not isinstance(max_results, int) or not 1 <= max_results <= 50:
        raise LookupRejectedError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    start, end = _epoch(body.get("StartTime"), "StartTime"), _epoch(body.get("EndTime"), "EndTime")
    if start is not None and end is not None and start > end:
        raise LookupRejectedError("InvalidTimeRangeException", "StartTime must be before EndTime.")
    offset = 0
    if body.get("NextToken"):
        try:
            offset = int(base64.urlsafe_b64decode(str(body["NextToken"]).encode()).decode().removeprefix("offset:"))
        except ValueError as exc:
            raise LookupRejectedError("InvalidNextTokenException", "The NextToken is not valid.") from exc
    chosen = [
        e
        for e in store.events
        if all(e.matches(a["AttributeKey"], str(a.get("AttributeValue", ""))) for a in attributes)
        and (region is None or e.region == region)
        and (start is None or e.event_time.timestamp() >= start)
        and (end is None or e.event_time.timestamp() <= end)
    ]
    chosen.sort(key=lambda e: e.event_time, reverse=True)
    page = chosen[offset : offset + max_results]
    answer: dict[str, Any] = {"Events": [e.wire() for e in page]}
    if offset + max_results < len(chosen):
        answer["NextToken"] = base64.urlsafe_b64encode(f"offset:{offset + max_results}".encode()).decode()
    return answer


class LocalCloudTrail(LoopbackServer):
    """The HTTP server in front of a `TrailStore` (by default `LOCAL_TRAIL`)."""

    def __init__(self, store: TrailStore = LOCAL_TRAIL) -> None:
        super().__init__()
        self.store = store

    def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        if not sigv4_signed(http.headers):
            self._answer(http, 400, {"__type": "MissingAuthenticationTokenException", "message": "Missing token"})
            return
        if http.path != "/" or http.headers.get("X-Amz-Target") != TARGET:
            target = http.headers.get("X-Amz-Target")
            self._answer(http, 400, {"__type": "UnknownOperationException", "message": f"{target} is not served"})
            return
        try:
            request = json_body(body)
        except ValueError:
            self._answer(http, 400, {"__type": "SerializationException", "message": "The body is not JSON."})
            return
        self.store.requests.append(request)
        region = signed_region(http.headers.get("Authorization") or "")
        try:
            self._answer(http, 200, lookup(self.store, request if isinstance(request, dict) else {}, region))
        except LookupRejectedError as exc:
            self._answer(http, 400, {"__type": exc.code, "message": str(exc)})

    @staticmethod
    def _answer(http: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        send_json(http, status, payload, content_type=CONTENT_TYPE, headers={"x-amzn-RequestId": str(uuid.uuid4())})
