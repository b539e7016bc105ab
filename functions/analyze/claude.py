"""The Claude path of the Analyze stage: one forced tool call, at most one repair round trip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from functions.analyze.prompt import MAX_OUTPUT_TOKENS, TOOL_NAME, ClaudeAnalysis, RenderedPrompt
from functions.shared.adapters.bedrock import BedrockCallError, estimate_cost_usd
from functions.shared.errors import AlertIntelError
from functions.shared.models import AnalysisBody, TokenUsage

if TYPE_CHECKING:
    from anthropic.types import Message


class MessagesModel(Protocol):
    """What the Claude path needs from a model: `functions.shared.adapters.bedrock.BedrockModel` provides it."""

    model_id: str

    def create_message(
        self,
        *,
        system: str,
        messages: list[dict[str, Any]],
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: dict[str, Any] | None = None,
    ) -> Message: ...


class ClaudeUnavailableError(AlertIntelError):
    """The AI analysis cannot be used for this alert; `reason` says why (shown in Slack), `usage` what it cost."""

    def __init__(self, reason: str, usage: TokenUsage | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage


@dataclass
class ClaudeResult:
    body: AnalysisBody
    usage: TokenUsage
    repaired: bool


def analyze_with_claude(prompt: RenderedPrompt, model: MessagesModel) -> ClaudeResult:
    """Ask Claude for the analysis through the forced `record_analysis` tool call.

    Raises:
        BedrockThrottledError: Bedrock throttled a call (left to the state machine's Retry, then its Catch).
        ClaudeUnavailableError: a timeout, a 5xx, a rejected request, or an answer that was still invalid after
            one repair round trip; the stage answers with the rule-based analysis instead.
    """
    messages: list[dict[str, Any]] = prompt.messages()
    usage = TokenUsage()
    problem = ""
    for attempt in (1, 2):
        reply = _call(model, prompt, messages, usage)
        tool_use = next((b for b in reply.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if tool_use is None:
            raise ClaudeUnavailableError(
                f"Claude's answer did not contain an analysis (stop reason: {reply.stop_reason})",
                usage,
            )
        try:
            parsed = ClaudeAnalysis.model_validate(tool_use.input)
        except ValidationError as exc:
            problem = _describe_validation_errors(exc)
            if attempt == 2:
                break
            messages = [
                *messages,
                {"role": "assistant", "content": [_echo_block(b) for b in reply.content]},
                {"role": "user", "content": _repair_request(reply, tool_use.id, problem)},
            ]
            continue
        body = AnalysisBody.model_validate(parsed.model_dump())
        return ClaudeResult(body=body, usage=usage, repaired=attempt == 2)
    raise ClaudeUnavailableError(
        f"Claude's answer was not a valid analysis even after one repair attempt ({problem})",
        usage,
    )


def _call(model: MessagesModel, prompt: RenderedPrompt, messages: list[dict[str, Any]], usage: TokenUsage) -> Message:
    try:
        reply = model.create_message(
            system=prompt.system,
            messages=messages,
            max_tokens=MAX_OUTPUT_TOKENS,
            tools=[prompt.tool],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
    except BedrockCallError as exc:
        raise ClaudeUnavailableError(exc.reason, usage) from exc
    usage.input_tokens += reply.usage.input_tokens
    usage.output_tokens += reply.usage.output_tokens
    usage.estimated_cost_usd = estimate_cost_usd(model.model_id, usage.input_tokens, usage.output_tokens)
    return reply


def _repair_request(reply: Message, invalid_id: str, problem: str) -> list[dict[str, Any]]:
    """Tool results for every tool call in `reply` (the API requires one each): the invalid one gets the errors."""
    results = []
    for block in reply.content:
        if block.type != "tool_use":
            continue
        if block.id == invalid_id:
            text = f"The {TOOL_NAME} input was invalid: {problem}. Call {TOOL_NAME} again with every field corrected."
        else:
            text = f"Ignored: call {TOOL_NAME} exactly once."
        results.append({"type": "tool_result", "tool_use_id": block.id, "is_error": True, "content": text})
    return results


def _echo_block(block: Any) -> dict[str, Any]:
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if block.type == "text":
        return {"type": "text", "text": block.text}
    return {"type": "text", "text": f"[{block.type} block]"}


def _describe_validation_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "input"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
