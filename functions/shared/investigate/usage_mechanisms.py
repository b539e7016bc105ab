"""Which billing mechanism a Cost Explorer usage type belongs to: the table the cost drill and the rules share.

One row per mechanism, matched on the usage type's own structure (`USE1-NatGateway-Bytes`,
`USE1-DataProcessing-Bytes`, `BoxUsage:c6i.xlarge`) and, where that is ambiguous, its service; never on an alert's
wording. Kept apart from the drills (no adapter imports) so the analysis stage can read it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from functions.shared.alert_details import CostAnomalyDetails
from functions.shared.models import Alert

Mechanism = Literal["nat_gateway", "log_ingestion", "ec2_instances", "lambda", "s3_bucket"]


class UsageMechanism(BaseModel):
    """One billing mechanism: the usage types (and services) it bills under, and whether a budget probes it."""

    mechanism: Mechanism
    usage_type: str  # a regex over the usage type, region prefix included ("USE1-NatGateway-Bytes")
    service: str | None = None  # a regex over the service, when the usage type alone is ambiguous
    probe: bool = False  # tried for an alert that names no usage type (a budget): cheap reads, growth only


USAGE_MECHANISMS: tuple[UsageMechanism, ...] = (
    UsageMechanism(mechanism="nat_gateway", usage_type=r"NatGateway-(Bytes|Hours)$", probe=True),
    UsageMechanism(
        mechanism="log_ingestion",
        usage_type=r"(^|-)(DataProcessing(IA)?-Bytes|VendedLog-Bytes)$",
        service=r"CloudWatch",
        probe=True,
    ),
    UsageMechanism(mechanism="ec2_instances", usage_type=r"(^|-)BoxUsage(:|$)", service=r"Elastic Compute Cloud"),
    UsageMechanism(
        mechanism="s3_bucket",
        usage_type=r"(DataTransfer-Out-Bytes|Requests-Tier[12]|TimedStorage)",
        service=r"Simple Storage Service|^S3$",
    ),
    UsageMechanism(mechanism="lambda", usage_type=r".", service=r"Lambda", probe=True),
)


def mechanisms_for(causes: list[tuple[str | None, str | None]]) -> list[Mechanism]:
    """The mechanisms billing these (service, usage type) pairs, in the pairs' order, each once."""
    found: list[Mechanism] = []
    for service, usage_type in causes:
        for row in USAGE_MECHANISMS:
            if usage_type is None or not re.search(row.usage_type, usage_type):
                continue
            if row.service is not None and not re.search(row.service, service or "", re.IGNORECASE):
                continue
            if row.mechanism not in found:
                found.append(row.mechanism)
            break
    return found


def probe_mechanisms() -> list[Mechanism]:
    return [row.mechanism for row in USAGE_MECHANISMS if row.probe]


def anomaly_usage(alert: Alert) -> list[tuple[str | None, str | None]]:
    """The (service, usage type) pairs a cost anomaly names as its root causes."""
    anomaly = alert.details_of(CostAnomalyDetails)
    return [(c.service, c.usage_type) for c in (anomaly.root_causes or [])] if anomaly else []
