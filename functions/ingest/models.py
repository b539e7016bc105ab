"""What the ingest stage reports about one delivery."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.models import PipelineInput, Route


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class IngestedEvent(_Model):
    """The alerts found in one incoming event, plus anything worth saying that is not an alert."""

    inputs: list[PipelineInput] = Field(default_factory=list)
    # e.g. an SNS subscription waiting for confirmation: reported, never turned into an alert.
    notices: list[str] = Field(default_factory=list)


class StartResult(_Model):
    execution_name: str
    status: Literal["started", "duplicate"]
    route: Route
    dedup_key: str


class IngestSummary(_Model):
    started: int
    duplicates: int
    executions: list[StartResult] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
