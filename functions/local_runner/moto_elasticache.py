"""The two ElastiCache reads moto lacks, answered from the seeded account: DescribeCacheParameters and
DescribeEvents.

moto (pinned) describes cache clusters and replication groups but raises NotImplementedError for a parameter
group's parameters and for the event log. `cache_reads()` adds both actions to moto's ElastiCache responder for the
duration of a run, answering from `LOCAL_CACHE_EXTRAS` (the seeder writes it, `seed_caches`), so the request goes
through botocore, the IAM enforcement and moto's serializer in the real wire format. An unseeded parameter group
is CacheParameterGroupNotFound, as on AWS. `tests/integration/test_cache_adapters.py` fails loudly if a moto upgrade
moves the responder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from unittest import mock

from moto.core.responses import ActionResult
from moto.elasticache.exceptions import ElastiCacheException
from moto.elasticache.responses import ElastiCacheResponse


class CacheParameterGroupNotFound(ElastiCacheException):
    code = "CacheParameterGroupNotFound"


@dataclass
class SeededEvent:
    source: str
    source_type: str
    message: str
    at: datetime


@dataclass
class CacheExtras:
    """The parameter groups (region, name) -> {parameter: value} and the events of the simulated account."""

    parameters: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    events: dict[str, list[SeededEvent]] = field(default_factory=dict)  # by region

    def reset(self) -> None:
        self.parameters.clear()
        self.events.clear()


LOCAL_CACHE_EXTRAS = CacheExtras()


def _describe_cache_parameters(self: ElastiCacheResponse) -> ActionResult:
    name = str(self._get_param("CacheParameterGroupName"))
    parameters = LOCAL_CACHE_EXTRAS.parameters.get((self.region, name))
    if parameters is None:
        raise CacheParameterGroupNotFound(f"CacheParameterGroup {name} not found.")
    return ActionResult(
        {
            "Parameters": [
                {"ParameterName": key, "ParameterValue": value, "Source": "user", "IsModifiable": True}
                for key, value in sorted(parameters.items())
            ]
        }
    )


def _describe_events(self: ElastiCacheResponse) -> ActionResult:
    source = self._get_param("SourceIdentifier")
    source_type = self._get_param("SourceType")
    start, end = self._get_param("StartTime"), self._get_param("EndTime")
    events = [
        event
        for event in LOCAL_CACHE_EXTRAS.events.get(self.region, [])
        if (source is None or event.source == source)
        and (source_type is None or event.source_type == source_type)
        and (start is None or event.at >= _time(start))
        and (end is None or event.at <= _time(end))
    ]
    return ActionResult(
        {
            "Events": [
                {"SourceIdentifier": e.source, "SourceType": e.source_type, "Message": e.message, "Date": e.at}
                for e in sorted(events, key=lambda e: e.at, reverse=True)
            ]
        }
    )


def _time(value: object) -> datetime:
    """A request's StartTime / EndTime, as moto parsed it (a datetime, naive when it meant UTC) or as text."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@contextmanager
def cache_reads() -> Iterator[None]:
    """Add DescribeCacheParameters and DescribeEvents to moto's ElastiCache for the duration of the context."""
    with (
        mock.patch.object(ElastiCacheResponse, "describe_cache_parameters", _describe_cache_parameters, create=True),
        mock.patch.object(ElastiCacheResponse, "describe_events", _describe_events, create=True),
    ):
        yield
