"""Read-only tools the chat specialists call: the same investigation code the gather stages use, wrapped.

A `ChatTool` has a name, a description and a pydantic input model (its JSON schema is what Claude sees), and a
function that returns a `ToolFinding`: a few lines a human reads plus compact data. A tool never raises: a
failure becomes a finding with `ok=False`, so one broken API never ends a conversation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.shared.observability import logger


class ToolFinding(BaseModel):
    tool: str
    ok: bool = True
    title: str = ""
    lines: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    def as_model_text(self, limit: int) -> str:
        """What goes back to Claude as the tool result: the lines, then the data as JSON, cut to `limit`."""
        if not self.ok:
            return f"Tool {self.tool} failed: {self.error}"[:limit]
        text = "\n".join(self.lines)
        if self.data:
            text += "\n" + json.dumps(self.data, default=str, separators=(",", ":"))
        return text if len(text) <= limit else text[: limit - 14] + " …[truncated]"


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ChatTool:
    name: str
    description: str
    input_model: type[ToolInput]
    run: Callable[[Any], ToolFinding]

    def schema(self) -> dict[str, Any]:
        """The Anthropic Messages `tools` entry."""
        input_schema = self.input_model.model_json_schema()
        input_schema.pop("title", None)
        return {"name": self.name, "description": self.description, "input_schema": input_schema}

    def call(self, raw_input: dict[str, Any] | None) -> ToolFinding:
        """Validate the input and run the tool; every failure comes back as a finding, never an exception."""
        try:
            parsed = self.input_model.model_validate(raw_input or {})
        except ValidationError as exc:
            return ToolFinding(tool=self.name, ok=False, error=f"invalid input: {exc.errors()[0]['msg']}")
        try:
            finding = self.run(parsed)
        except Exception as exc:  # a tool is read-only and optional: report, never crash the conversation
            logger.warning("chat tool failed", extra={"tool": self.name, "error": repr(exc)})
            return ToolFinding(tool=self.name, ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        return finding.model_copy(update={"tool": self.name})


@dataclass(frozen=True)
class PlannedCall:
    """A tool call a specialist makes on its own when no model is configured."""

    tool: str
    args: dict[str, Any]


class ToolBox:
    """The tools available to the specialists, by name."""

    def __init__(self, tools: Sequence[ChatTool]) -> None:
        self.by_name = {t.name: t for t in tools}

    def get(self, name: str) -> ChatTool | None:
        return self.by_name.get(name)

    def subset(self, names: Sequence[str]) -> list[ChatTool]:
        return [self.by_name[n] for n in names if n in self.by_name]
