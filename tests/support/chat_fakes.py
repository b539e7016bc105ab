"""In-memory stand-ins for the chat bot's unit tests: tools, a scripted Claude, a Slack poster."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from anthropic.types import Message

from functions.chat.agents import roster
from functions.chat.tools import ChatTool, ToolBox, ToolFinding, ToolInput
from functions.shared.adapters.bedrock import BedrockUnavailableError

ALL_TOOL_NAMES = (
    roster.COST_BY_SERVICE,
    roster.BUDGETS_STATUS,
    roster.COST_FORECAST,
    roster.LIST_LAMBDA_FUNCTIONS,
    roster.LAMBDA_METRICS,
    roster.EC2_INSTANCE,
    roster.LOG_ERRORS,
    roster.LOG_PATTERN_SEARCH,
)


class AnyInput(ToolInput):
    function_name: str | None = None
    instance_id: str | None = None
    pattern: str | None = None


@dataclass
class FakeTools:
    """Every roster tool, answering one canned line and recording its calls."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def toolbox(self) -> ToolBox:
        return ToolBox([self._tool(name) for name in ALL_TOOL_NAMES])

    def _tool(self, name: str) -> ChatTool:
        def run(args: AnyInput) -> ToolFinding:
            self.calls.append((name, args.model_dump(exclude_none=True)))
            return ToolFinding(tool=name, title=name, lines=self.lines.get(name, [f"{name} found something"]))

        return ChatTool(name=name, description=f"fake {name}", input_model=AnyInput, run=run)


def message(content: list[dict[str, Any]], stop_reason: str, input_tokens: int = 100, output_tokens: int = 20):
    return Message.model_validate(
        {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": "fake",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
    )


class ScriptedModel:
    """A MessagesModel answering from a script; `fail=True` raises like Bedrock being down."""

    model_id = "fake-claude"

    def __init__(self, *answers: Message, fail: bool = False) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        self.fail = fail
        self._ids = itertools.count(1)

    def create_message(self, **request: Any) -> Message:
        self.requests.append(request)
        if self.fail:
            raise BedrockUnavailableError("Bedrock returned a server error (HTTP 500)")
        if not self.answers:
            raise AssertionError("ScriptedModel: no answer left")
        return self.answers.pop(0)

    def tool_call(self, name: str, tool_input: dict[str, Any], **usage: int) -> Message:
        block = {"type": "tool_use", "id": f"toolu_{next(self._ids):03d}", "name": name, "input": tool_input}
        return message([block], "tool_use", **usage)


def route(agent: str) -> Message:
    block = {
        "type": "tool_use",
        "id": "toolu_route",
        "name": "route_question",
        "input": {"agent": agent, "reason": "r"},
    }
    return message([block], "tool_use", 50, 10)


def text(answer: str, **usage: int) -> Message:
    return message([{"type": "text", "text": answer}], "end_turn", **usage)


@dataclass
class FakeSlackPoster:
    posts: list[dict[str, Any]] = field(default_factory=list)

    def post_message(self, channel: str, text: str, blocks=None, thread_ts=None) -> str:
        ts = f"1732570000.{len(self.posts) + 1:06d}"
        self.posts.append({"channel": channel, "text": text, "blocks": blocks, "thread_ts": thread_ts, "ts": ts})
        return ts
