"""The supervisor's own answers: greetings, what the bot can do, general AWS questions."""

from __future__ import annotations

from collections.abc import Sequence

from functions.chat.agents.routing import MessagesModel
from functions.chat.agents.specialist import SLACK_STYLE, UNTRUSTED_DATA_RULES, Limits, conversation_for_model
from functions.shared.adapters.bedrock import BedrockCallError
from functions.shared.chat_models import AgentAnswer, AlertContext, ChatMessage
from functions.shared.errors import BedrockThrottledError

CAPABILITIES = (
    "I answer questions about this AWS account from read-only tools:\n"
    "• *Costs* (CostAnalyst): spend by service from Cost Explorer, day-over-day changes, budgets and forecasts. "
    "Try: _why did Lambda costs spike?_\n"
    "• *Infrastructure* (InfraExpert): Lambda functions and EC2 instances with their CloudWatch metrics. "
    "Try: _how many invocations did ImageProcessor have today?_\n"
    "• *Logs* (LogsAnalyst): CloudWatch Logs Insights queries and error patterns. "
    "Try: _what errors are in the ImageProcessor logs?_\n"
    "Ask in an alert's thread and I start from that alert's analysis. Say *done* to close a conversation."
)

GENERAL_SYSTEM = (
    "You are the supervisor of an AWS operations assistant in Slack. Specialists handle costs, infrastructure "
    "metrics and logs; you answer everything else yourself: greetings, what the assistant can do, and general AWS "
    "questions. If the question needs account data, say which kind of question to ask instead.\n\n"
    f"What the assistant can do:\n{CAPABILITIES}\n\n{UNTRUSTED_DATA_RULES}\n\n{SLACK_STYLE}"
)


def answer_general(
    question: str,
    history: Sequence[ChatMessage],
    alert_context: AlertContext | None,
    model: MessagesModel | None,
    limits: Limits,
) -> AgentAnswer:
    """Claude's answer when a model is configured, else the capabilities (plus the alert's analysis in a thread).

    Never raises for model failures.
    """
    note = "no AI model configured"
    if model is not None:
        try:
            message = model.create_message(
                system=GENERAL_SYSTEM,
                messages=conversation_for_model(question, history, alert_context),
                max_tokens=limits.max_output_tokens,
            )
            text = "\n".join(b.text for b in message.content if b.type == "text").strip()
            if text:
                return AgentAnswer(
                    agent="General",
                    answer=text,
                    method="claude",
                    model_id=model.model_id,
                    input_tokens=message.usage.input_tokens,
                    output_tokens=message.usage.output_tokens,
                    steps=1,
                )
            note = "the model gave an empty answer"
        except (BedrockCallError, BedrockThrottledError) as exc:
            note = f"AI unavailable: {exc}"
    parts = []
    if alert_context is not None:
        parts.append("*The alert this thread is about*\n" + alert_context.as_prompt_text())
    parts.append(CAPABILITIES)
    return AgentAnswer(agent="General", answer="\n\n".join(parts), method="canned", notes=[note])
