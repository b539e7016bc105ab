"""The incident records and claims in memory, with the Conversations table's semantics
(`functions.shared.adapters.conversations.ConversationTable`): a JSON round trip like DynamoDB's, the conditional
writes of Post's new records and updates, and the claims of new incidents (decision 0020). For the storm benchmark
and tests that need no moto account."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from functions.shared.adapters.conversations import IncidentRecordConflictError
from functions.shared.incidents import IncidentClaim


class InMemoryIncidents:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, tuple[str, datetime]] = {}  # incident key -> (execution name, claimed at)

    def incident(self, key: str) -> dict[str, Any] | None:
        record = self.items.get(key)
        return _copy(record) if record is not None else None

    def put_incident(self, key: str, record: dict[str, Any], *, replacing_ts: str | None = None) -> None:
        stored = self.items.get(key)
        if replacing_ts is not None and stored is not None and str(stored.get("ts")) != replacing_ts:
            raise IncidentRecordConflictError(f"incident {key}: another record was written meanwhile")
        self.items[key] = _copy(record)

    def update_incident(
        self,
        key: str,
        fields: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        expect: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        stored = self.items.get(key)
        if stored is None or any(stored.get(name) != value for name, value in (expect or {}).items()):
            raise IncidentRecordConflictError(f"incident {key}: no such record (expired or replaced)")
        for name in remove:
            stored.pop(name, None)
        stored.update(_copy(fields))
        return _copy(stored)

    def claim_incident(self, key: str, execution_name: str, now: datetime, stale_after: timedelta) -> IncidentClaim:
        held = self.claims.get(key)
        if held is None or held[0] == execution_name or held[1] < now - stale_after:
            self.claims[key] = (execution_name, now)
            return IncidentClaim(won=True, holder=execution_name, claimed_at=now)
        return IncidentClaim(won=False, holder=held[0], claimed_at=held[1])


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))
