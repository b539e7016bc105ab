"""DynamoDB evidence: the table's capacity mode, consumed vs provisioned capacity, throttling, and its indexes.

The interpreter (`throttling_verdict`) names the mechanism from numbers: throttles while consumption reaches the
provisioned units is **at capacity** (raise capacity, switch to on-demand, or let auto scaling catch up); throttles
while consumption stays well under them is a **hot key** (one partition takes the traffic); throttles on an
on-demand table is **on demand** (traffic beyond double the previous peak, or a hot key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.queues import DynamoDbReader, EventSourceMappingReader, TableDescription, TableScaling
from functions.shared.investigate.base import Evidence, Neighbour, number
from functions.shared.investigate.flow import FLOW_PERIOD_SECONDS, FlowWindow, read_flow
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

CONSUMED = {"read": "ConsumedReadCapacityUnits", "write": "ConsumedWriteCapacityUnits"}
THROTTLES = {"read": "ReadThrottleEvents", "write": "WriteThrottleEvents"}
FLOW_METRICS = [
    (CONSUMED["read"], "Sum"),
    (CONSUMED["write"], "Sum"),
    (THROTTLES["read"], "Sum"),
    (THROTTLES["write"], "Sum"),
    ("ThrottledRequests", "Sum"),
]
# Consumption at or above this share of the provisioned units is "at capacity"; below HOT_KEY_SHARE a hot key.
AT_CAPACITY_SHARE = 0.8
HOT_KEY_SHARE = 0.5

Side = Literal["read", "write"]


class ThrottlingVerdict(BaseModel):
    side: Side
    mechanism: Literal["at_capacity", "hot_key", "on_demand", "unknown"]
    throttle_events: float  # in the incident window (sum of the recent periods' peak, per 5 min)
    consumed_per_second: float | None = None  # the incident's peak
    provisioned: int | None = None


def _per_second(window: FlowWindow | None) -> float | None:
    if window is None or window.peak is None:
        return None
    return window.peak / FLOW_PERIOD_SECONDS


def throttling_verdict(table: TableDescription, flow: dict[str, FlowWindow]) -> ThrottlingVerdict | None:
    """The side that throttles most and why; None when the table did not throttle in the incident window."""
    candidates: list[ThrottlingVerdict] = []
    sides: tuple[Side, ...] = ("read", "write")
    for side in sides:
        throttles = flow.get(THROTTLES[side])
        if throttles is None or not throttles.peak:
            continue
        consumed = _per_second(flow.get(CONSUMED[side]))
        provisioned = table.read_units if side == "read" else table.write_units
        mechanism: Literal["at_capacity", "hot_key", "on_demand", "unknown"] = "unknown"
        if table.on_demand:
            mechanism = "on_demand"
        elif provisioned and consumed is not None:
            if consumed >= AT_CAPACITY_SHARE * provisioned:
                mechanism = "at_capacity"
            elif consumed < HOT_KEY_SHARE * provisioned:
                mechanism = "hot_key"
        candidates.append(
            ThrottlingVerdict(
                side=side,
                mechanism=mechanism,
                throttle_events=throttles.peak,
                consumed_per_second=consumed,
                provisioned=provisioned,
            )
        )
    return max(candidates, key=lambda v: v.throttle_events) if candidates else None


def _units(table: TableDescription) -> str:
    if table.on_demand:
        return "on-demand (PAY_PER_REQUEST)"
    return f"PROVISIONED {table.read_units if table.read_units is not None else '?'} RCU / " + (
        f"{table.write_units if table.write_units is not None else '?'} WCU"
    )


def _scaling_text(scaling: TableScaling | None) -> str:
    if scaling is None:
        return "no auto scaling"
    sides = []
    if scaling.read_max is not None:
        sides.append(f"reads {scaling.read_min}-{scaling.read_max} RCU")
    if scaling.write_max is not None:
        sides.append(f"writes {scaling.write_min}-{scaling.write_max} WCU")
    return "auto scaling " + ", ".join(sides)


def _config_text(table: TableDescription, scaling: TableScaling | None = None, read_scaling: bool = False) -> str:
    parts = [_units(table)]
    if read_scaling:
        parts.append(_scaling_text(scaling))
    if table.status and table.status != "ACTIVE":
        parts.append(f"status {table.status}")
    if table.indexes:
        parts.append(
            f"{len(table.indexes)} GSI(s): "
            + ", ".join(
                index.name
                + ("" if table.on_demand else f" ({index.read_units or '?'} RCU / {index.write_units or '?'} WCU)")
                for index in table.indexes[:3]
            )
        )
    if table.item_count:
        parts.append(f"{number(table.item_count)} items")
    return f"DynamoDB {table.name}: " + ", ".join(parts)


def _verdict_text(table: TableDescription, verdict: ThrottlingVerdict) -> str:
    unit = "RCU" if verdict.side == "read" else "WCU"
    events = f"{number(round(verdict.throttle_events))} {verdict.side} throttle events per 5 min at the peak"
    consumed = (
        f"consumed {number(round(verdict.consumed_per_second, 1))} {unit}/s"
        if verdict.consumed_per_second is not None
        else "consumption unknown"
    )
    if verdict.mechanism == "at_capacity":
        return (
            f"{table.name} throttles {verdict.side}s at its provisioned capacity: {consumed} of "
            f"{verdict.provisioned} {unit} provisioned; {events}"
        )
    if verdict.mechanism == "hot_key":
        return (
            f"{table.name} throttles {verdict.side}s below its provisioned capacity ({consumed} of "
            f"{verdict.provisioned} {unit}): a hot partition key; {events}"
        )
    if verdict.mechanism == "on_demand":
        return f"{table.name} (on-demand) throttles {verdict.side}s: {consumed}; {events}"
    return f"{table.name} throttles {verdict.side}s ({consumed}); {events}"


def dynamodb_table_evidence(
    dynamodb: DynamoDbReader,
    mappings: EventSourceMappingReader,
    cloudwatch: CloudWatchReader,
    target: Target,
    *,
    now: datetime,
) -> Evidence:
    """The table's capacity mode and units, its throttling verdict, and the consumers of its stream."""
    evidence = Evidence()
    name = target.name
    evidence.looked_at.append(f"DynamoDB {name} table description")
    table = evidence.read_resource(
        f"DynamoDB table {name}", lambda: dynamodb.table(name), missing=f"No DynamoDB table named {name}"
    )
    if table is None:
        return evidence
    link = console_links.dynamodb_table_url(table.name, target.region)
    scaling = None
    if not table.on_demand:
        scaling = evidence.read(f"auto scaling of {name}", lambda: dynamodb.scaling(name))
    evidence.facts.append(
        Fact(
            key="compute.table_config",
            text=_config_text(table, scaling, read_scaling=not table.on_demand),
            value=table.billing_mode,
            link=link,
            subject=name,
            numbers=Measurement(value=float(table.write_units), unit="WCU") if table.write_units is not None else None,
        )
    )
    evidence.looked_at.append(f"CloudWatch AWS/DynamoDB consumed capacity and throttles of {name}, last 3 h")
    flow = evidence.read(
        f"AWS/DynamoDB capacity metrics of {name}",
        lambda: read_flow(
            cloudwatch,
            "AWS/DynamoDB",
            {"TableName": name},
            FLOW_METRICS,
            now=now,
            count_metrics=frozenset(name for name, _ in FLOW_METRICS),
        ),
    )
    verdict = throttling_verdict(table, flow) if flow is not None else None
    if verdict is not None:
        unit = "RCU/s" if verdict.side == "read" else "WCU/s"
        evidence.facts.insert(
            0,
            Fact(
                key="compute.dynamodb_throttling",
                text=_verdict_text(table, verdict),
                value=verdict.mechanism,
                link=link,
                subject=name,
                numbers=Measurement(
                    value=verdict.consumed_per_second,
                    threshold=float(verdict.provisioned) if verdict.provisioned is not None else None,
                    unit=unit,
                    window="5m",
                    crossed=(verdict.mechanism == "at_capacity") if verdict.provisioned else None,
                ),
            ),
        )
    elif flow is not None:
        evidence.notes.append(f"{name} did not throttle in the last 3 hours.")
    if table.stream_arn:
        stream = table.stream_arn
        consumers = evidence.read(f"stream consumers of {name}", lambda: mappings.mappings(source_arn=stream)) or []
        for mapping in consumers[:2]:
            evidence.neighbours.append(
                Neighbour(
                    target=Target.of("lambda", mapping.function_name, target.region),
                    edge=f"consumer of DynamoDB table {name}'s stream (event source mapping)",
                )
            )
    return evidence
