"""The Format stage's event, as the state machine sends it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class FormatEvent(BaseModel):
    """`{"state": <the whole pipeline state>, "execution_id": ..., "started_at": ...}` (see the ASL).

    For hand-made invocations (CLI, tests) a bare FormatInput-shaped event is accepted too: with no `state` key,
    the event itself is the state.
    """

    model_config = ConfigDict(extra="allow")

    state: dict[str, Any] | None = None
    execution_id: str | None = None
    started_at: datetime | None = None

    def merged_state(self) -> dict[str, Any]:
        """The state with the execution's ID and start time merged in: a FormatInput-shaped dict."""
        state = dict(self.state) if self.state is not None else dict(self.model_extra or {})
        if self.execution_id is not None:
            state["execution_id"] = self.execution_id
        if self.started_at is not None:
            state["started_at"] = self.started_at
        return state
