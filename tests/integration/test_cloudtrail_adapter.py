"""The CloudTrail adapter against the loopback CloudTrail (LookupEvents over the real JSON 1.1 wire format)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.request import Request, urlopen

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.local_runner.cloudtrail_server import CONTENT_TYPE, TARGET, LocalCloudTrail, TrailStore
from functions.local_runner.seed_cloudtrail import CloudTrailEventSeed, seed_cloudtrail
from functions.shared.adapters.cloudtrail import CloudTrailReader
from functions.shared.cache import clear_cache

REGION = "us-east-1"


@pytest.fixture
def trail() -> Iterator[tuple[LocalCloudTrail, datetime]]:
    clear_cache()
    now = datetime.now(UTC).replace(microsecond=0)
    store = TrailStore()
    seed_cloudtrail(
        [
            CloudTrailEventSeed(
                event_name="UpdateFunctionConfiguration20150331v2",
                event_source="lambda.amazonaws.com",
                username="alice",
                resource_names=["CheckoutService"],
                minutes_ago=12,
                request_parameters={"functionName": "CheckoutService", "timeout": 3, "environment": {"x": "y"}},
            ),
            CloudTrailEventSeed(
                event_name="GetFunction20150331v2",
                event_source="lambda.amazonaws.com",
                username="alice",
                resource_names=["CheckoutService"],
                minutes_ago=11,
                read_only=True,
            ),
            CloudTrailEventSeed(
                event_name="UpdateFunctionCode20150331v2",
                event_source="lambda.amazonaws.com",
                username="deploy-bot",
                resource_names=["CheckoutService"],
                minutes_ago=50,
                error_code="InvalidParameterValueException",
            ),
            CloudTrailEventSeed(
                event_name="TagResource20170331v2",
                event_source="lambda.amazonaws.com",
                username="bob",
                resource_names=["OtherFunction"],
                minutes_ago=5,
            ),
            CloudTrailEventSeed(
                event_name="PublishVersion20150331",
                event_source="lambda.amazonaws.com",
                username="deploy-bot",
                resource_names=["CheckoutService"],
                minutes_ago=60 * 30,  # outside any recent window
            ),
        ],
        account_id="123456789012",
        region=REGION,
        now=now,
        store=store,
    )
    with LocalCloudTrail(store) as server:
        yield server, now
    clear_cache()


def _client(server: LocalCloudTrail):  # type: ignore[no-untyped-def]
    return boto3.client("cloudtrail", region_name=REGION, endpoint_url=server.url)


def test_write_events_are_the_successful_writes_on_the_resource_in_the_window(trail):
    server, now = trail
    reader = CloudTrailReader(client=_client(server), region=REGION)

    events = reader.write_events("CheckoutService", start=now - timedelta(hours=6), end=now)

    # Only the configuration update: the read, the failed call, another resource's event and the old one are out
    assert [e.event_name for e in events] == ["UpdateFunctionConfiguration20150331v2"]
    event = events[0]
    assert event.username == "alice"
    assert event.event_source == "lambda.amazonaws.com"
    assert event.event_time == now - timedelta(minutes=12)
    assert event.user_agent == "console.amazonaws.com"
    assert [(r.resource_type, r.resource_name) for r in event.resources] == [
        ("AWS::Lambda::Function", "CheckoutService")
    ]
    # Scalar request parameters are kept, nested ones left out
    assert event.request_parameters == {"functionName": "CheckoutService", "timeout": 3}
    # One lookup attribute per call, as the API requires, with the window and a page size it accepts
    (request,) = server.store.requests
    assert request["LookupAttributes"] == [{"AttributeKey": "ResourceName", "AttributeValue": "CheckoutService"}]
    assert request["MaxResults"] == 50
    assert request["EndTime"] - request["StartTime"] == 6 * 3600


def test_pages_are_followed_up_to_the_bound_newest_first(trail):
    server, now = trail
    server.store.events.clear()
    seed_cloudtrail(
        [
            CloudTrailEventSeed(
                event_name="UpdateFunctionConfiguration20150331v2",
                event_source="lambda.amazonaws.com",
                resource_names=["Busy"],
                minutes_ago=m,
            )
            for m in range(1, 121)
        ],
        account_id="123456789012",
        region=REGION,
        now=now,
        store=server.store,
    )
    reader = CloudTrailReader(client=_client(server), region=REGION)

    events = reader.write_events("Busy", start=now - timedelta(hours=6), end=now, max_pages=2)

    # Two pages of 50, newest first; the third page is never requested
    assert len(events) == 100
    assert events[0].event_time == now - timedelta(minutes=1)
    assert events == sorted(events, key=lambda e: e.event_time, reverse=True)
    assert len(server.store.requests) == 2
    assert "NextToken" in server.store.requests[1]


def test_the_server_rejects_what_cloudtrail_rejects(trail):
    server, now = trail
    client = _client(server)
    with pytest.raises(ClientError) as two_attributes:
        client.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "ResourceName", "AttributeValue": "CheckoutService"},
                {"AttributeKey": "ReadOnly", "AttributeValue": "false"},
            ]
        )
    assert two_attributes.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    with pytest.raises(ClientError) as backwards:
        client.lookup_events(StartTime=now, EndTime=now - timedelta(hours=1))
    assert backwards.value.response["Error"]["Code"] == "InvalidTimeRangeException"


def test_the_wire_format_is_json_1_1_with_epoch_times_and_the_record_as_a_string(trail):
    server, now = trail
    # An unsigned request is refused, as AWS does
    body = json.dumps({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "TagResource20170331v2"}]})
    headers = {"X-Amz-Target": TARGET, "Content-Type": CONTENT_TYPE}
    with pytest.raises(Exception, match="400"):
        urlopen(Request(server.url + "/", data=body.encode(), headers=headers, method="POST"))

    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=testing/20261118/us-east-1/cloudtrail/aws4_request"
    with urlopen(Request(server.url + "/", data=body.encode(), headers=headers, method="POST")) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE
        answer = json.loads(response.read())
    (event,) = answer["Events"]
    assert event["EventName"] == "TagResource20170331v2" and event["ReadOnly"] == "false"
    assert event["EventTime"] == (now - timedelta(minutes=5)).timestamp()
    record = json.loads(event["CloudTrailEvent"])
    assert record["userIdentity"]["userName"] == "bob"
    assert record["eventID"] == event["EventId"]
    assert "NextToken" not in answer


def test_events_are_looked_up_by_their_api_name_too(trail):
    server, now = trail
    reader = CloudTrailReader(client=_client(server), region=REGION)

    events = reader.events_named("TagResource20170331v2", start=now - timedelta(hours=6), end=now)

    assert [(e.event_name, e.username) for e in events] == [("TagResource20170331v2", "bob")]
    assert server.store.requests[-1]["LookupAttributes"] == [
        {"AttributeKey": "EventName", "AttributeValue": "TagResource20170331v2"}
    ]


def test_local_iam_enforcement_authorises_lookup_events_on_every_resource_as_iam_does():
    from functions.local_runner.iam_enforcement import Request, requests_for

    # LookupEvents has no resource type in the Service Authorization Reference: IAM evaluates it against `*`
    assert requests_for(
        "cloudtrail",
        "LookupEvents",
        {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": "CheckoutService"}]},
        region=REGION,
        account="123456789012",
    ) == [Request("cloudtrail:LookupEvents", "*")]


def test_a_trail_is_regional_the_lookup_sees_the_signed_regions_events_only(trail):
    server, now = trail
    # Given the same function name changed in another region too
    seed_cloudtrail(
        [
            CloudTrailEventSeed(
                event_name="UpdateFunctionCode20150331v2",
                event_source="lambda.amazonaws.com",
                username="carol",
                resource_names=["CheckoutService"],
                minutes_ago=3,
            )
        ],
        account_id="123456789012",
        region="eu-west-1",
        now=now,
        store=server.store,
    )
    window = {"start": now - timedelta(hours=6), "end": now}

    # When each region's client looks the function up
    here = CloudTrailReader(client=_client(server), region=REGION).write_events("CheckoutService", **window)
    there_client = boto3.client("cloudtrail", region_name="eu-west-1", endpoint_url=server.url)
    there = CloudTrailReader(client=there_client, region="eu-west-1").write_events("CheckoutService", **window)

    # Then each sees its own region's change only, as CloudTrail's regional event history does
    assert [e.username for e in here] == ["alice"]
    assert [e.username for e in there] == ["carol"]
