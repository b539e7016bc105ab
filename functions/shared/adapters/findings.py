"""Security Hub, GuardDuty and AWS Health reads: a finding's neighbours and an event's details."""

from __future__ import annotations

from typing import Any

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.cache import cache_key, cached


class SecurityHubReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("securityhub", region)
        self._region = region

    def findings(self, filters: dict[str, Any], max_findings: int = 100) -> list[dict[str, Any]]:
        """Active findings matching `filters` (ASFF filter syntax), at most `max_findings`.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("securityhub:GetFindings"), AwsReadUnavailableError
            (e.g. Security Hub is not enabled).
        """
        key = cache_key("securityhub.get_findings", self._region, filters, max_findings)
        return cached(key, lambda: self._fetch(filters, max_findings))

    def _fetch(self, filters: dict[str, Any], max_findings: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while len(found) < max_findings:
            params: dict[str, Any] = {"Filters": filters, "MaxResults": min(100, max_findings - len(found))}
            if token:
                params["NextToken"] = token
            response = aws_read("securityhub:GetFindings", self._client.get_findings, **params)
            found.extend(response.get("Findings", []))
            token = response.get("NextToken")
            if not token:
                break
        return found[:max_findings]


class GuardDutyReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("guardduty", region)

    def detector_id(self) -> str | None:
        """The region's GuardDuty detector, or None when GuardDuty is off.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("guardduty:ListDetectors"), AwsReadUnavailableError.
        """
        ids = aws_read("guardduty:ListDetectors", self._client.list_detectors).get("DetectorIds", [])
        return ids[0] if ids else None

    def count_findings(self, detector_id: str, finding_type: str) -> int:
        """How many current (not archived) findings of `finding_type` the detector holds (up to 50 counted).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("guardduty:ListFindings"), AwsReadUnavailableError.
        """
        criteria = {"Criterion": {"type": {"Eq": [finding_type]}, "service.archived": {"Eq": ["false"]}}}
        response = aws_read(
            "guardduty:ListFindings",
            self._client.list_findings,
            DetectorId=detector_id,
            FindingCriteria=criteria,
            MaxResults=50,
        )
        return len(response.get("FindingIds", []))


class HealthReader:
    def __init__(self, client: Any = None) -> None:
        # The AWS Health API's global endpoint is us-east-1.
        self._client = client or aws_client("health", "us-east-1")

    def event_details(self, event_arn: str) -> dict[str, Any] | None:
        """The event's description and metadata (DescribeEventDetails); None when unknown.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("health:DescribeEventDetails"), AwsReadUnavailableError
            (e.g. no Business/Enterprise support plan: SubscriptionRequiredException).
        """
        response = aws_read("health:DescribeEventDetails", self._client.describe_event_details, eventArns=[event_arn])
        items = response.get("successfulSet", [])
        return dict(items[0]) if items else None

    def affected_entities(self, event_arn: str, limit: int = 20) -> list[dict[str, Any]]:
        """Affected entities with their status codes (IMPAIRED, UNIMPAIRED, PENDING, RESOLVED).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("health:DescribeAffectedEntities"), AwsReadUnavailableError.
        """
        response = aws_read(
            "health:DescribeAffectedEntities",
            self._client.describe_affected_entities,
            filter={"eventArns": [event_arn]},
            maxResults=min(max(limit, 10), 100),
        )
        return list(response.get("entities", []))[:limit]
