"""Posting a formatted message to the Slack webhook of its route."""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.adapters.slack_webhook import SlackRejectedError, WebhookDelivery
from functions.shared.chat_models import AlertContext
from functions.shared.errors import SlackPostError, SlackRateLimitedError
from functions.shared.models import PostInput, PostResult, Route
from functions.shared.observability import logger, metrics

FALLBACK_TEXT_CHARS = 3000
MAX_BLOCKS = 50


class WebhookSender(Protocol):
    def send(self, route: Route, body: dict[str, Any]) -> WebhookDelivery: ...


class AlertMemory(Protocol):
    def put_alert_context(self, context: AlertContext) -> None: ...


class WebApiPoster(Protocol):
    """Slack's Web API with the bot token (`functions.shared.adapters.slack_api.SlackApi`)."""

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str: ...


def webhook_body(post_input: PostInput) -> dict[str, Any]:
    """What one incoming webhook receives: the main message, and the thread's content appended below a divider
    (webhooks cannot thread; docs/decisions/0012-main-message-and-thread.md). Slack's 50-block limit holds."""
    body = post_input.message.model_dump(mode="json")
    thread = post_input.thread
    if thread is not None and thread.blocks:
        room = MAX_BLOCKS - len(body["blocks"]) - 1
        if room > 0:
            body["blocks"] = [*body["blocks"], {"type": "divider"}, *thread.blocks[:room]]
    return body


def post_message(
    post_input: PostInput,
    sender: WebhookSender,
    memory: AlertMemory | None = None,
    *,
    web: WebApiPoster | None = None,
    channel: str | None = None,
) -> PostResult:
    """Post the message: with the bot token (`web` and the route's `channel`), `chat.postMessage` of the main
    message, then its thread reply; otherwise one webhook POST (`webhook_body`).

    Webhook mode: send the message to the route's webhook and count the outcome (metrics `SlackPosts`,
    `SlackPostFailures`, `SlackRateLimited`, `SlackPostRetries`; the route as metadata).

    The body sent is exactly the message: `{"text": ..., "blocks": [...]}`. When Slack refuses the blocks
    themselves (HTTP 400 invalid_blocks, msg_too_long, ...), the plain-text fallback is posted so the alert still
    reaches the channel, and the stage still fails: a message Slack refuses is a bug to fix, not to hide.

    Raises:
        ConfigurationError: no webhook configured for the route.
        SlackRateLimitedError: Slack kept answering 429 (the state machine retries with backoff).
        SlackPostError: Slack rejected the message or could not be reached (the run fails loudly).
    """
    # Metadata, not a dimension: a dimension would outlive an invocation whose metrics are never flushed.
    metrics.add_metadata(key="route", value=post_input.route)
    if web is not None and channel:
        return _post_with_bot(post_input, web, channel, memory)
    body = webhook_body(post_input)
    try:
        delivery = sender.send(post_input.route, body)
    except SlackRateLimitedError:
        metrics.add_metric(name="SlackRateLimited", unit=MetricUnit.Count, value=1)
        raise
    except SlackRejectedError as exc:
        metrics.add_metric(name="SlackPostFailures", unit=MetricUnit.Count, value=1)
        if exc.payload_rejected:
            raise SlackPostError(f"{exc}; {_post_text_fallback(post_input, sender, exc)}") from exc
        raise SlackPostError(str(exc)) from exc
    except Exception:
        metrics.add_metric(name="SlackPostFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="SlackPosts", unit=MetricUnit.Count, value=1)
    if delivery.attempts > 1:
        metrics.add_metric(name="SlackPostRetries", unit=MetricUnit.Count, value=delivery.attempts - 1)
    logger.info(
        "Posted to Slack",
        extra={"route": post_input.route, "dedup_key": post_input.dedup_key, "attempts": delivery.attempts},
    )
    return PostResult(
        posted=True,
        route=post_input.route,
        status_code=delivery.status_code,
        attempts=delivery.attempts,
        remembered_for_chat=remember_alert_for_chat(post_input, memory),
    )


def _post_with_bot(post_input: PostInput, web: WebApiPoster, channel: str, memory: AlertMemory | None) -> PostResult:
    """The main message, then the thread reply under it. A failed thread reply is logged and counted
    (metric `SlackThreadFailures`), never raised: the alert is in the channel, and a retry of the state would post
    it twice.

    Raises:
        SlackRateLimitedError, SlackPostError: the main message could not be posted (see `SlackApi.post_message`).
    """
    message = post_input.message
    try:
        ts = web.post_message(channel, message.text, message.blocks)
    except Exception:
        metrics.add_metric(name="SlackPostFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="SlackPosts", unit=MetricUnit.Count, value=1)
    thread_ts = None
    if post_input.thread is not None and post_input.thread.blocks:
        try:
            web.post_message(channel, post_input.thread.text, post_input.thread.blocks, thread_ts=ts)
            thread_ts = ts
        except Exception as exc:  # the main message is posted; the evidence stays in the run
            metrics.add_metric(name="SlackThreadFailures", unit=MetricUnit.Count, value=1)
            logger.warning("Could not post the thread reply", extra={"error": f"{type(exc).__name__}: {exc}"})
    logger.info("Posted to Slack", extra={"route": post_input.route, "dedup_key": post_input.dedup_key, "ts": ts})
    return PostResult(
        posted=True,
        route=post_input.route,
        status_code=200,
        channel=channel,
        ts=ts,
        thread_ts=thread_ts,
        remembered_for_chat=remember_alert_for_chat(post_input, memory),
    )


def remember_alert_for_chat(post_input: PostInput, memory: AlertMemory | None) -> bool:
    """Store the posted alert's context so a question asked under it starts from what the pipeline knew.

    Best effort: the alert is already in Slack, so a failed write is logged and counted
    (metric `AlertContextStoreFailures`), never raised.
    """
    if memory is None or not post_input.alert_context:
        return False
    try:
        memory.put_alert_context(AlertContext.model_validate(post_input.alert_context))
    except Exception as exc:  # the post succeeded; losing the chat context must not fail the run
        metrics.add_metric(name="AlertContextStoreFailures", unit=MetricUnit.Count, value=1)
        logger.warning("Could not remember the alert for chat", extra={"error": f"{type(exc).__name__}: {exc}"})
        return False
    return True


def _post_text_fallback(post_input: PostInput, sender: WebhookSender, rejection: SlackRejectedError) -> str:
    """Post the message's plain text alone; returns what happened, for the error message."""
    note = f"\n_(Slack refused the full message: {rejection.slack_error.strip()}. Details are in the run.)_"
    text = (post_input.message.text or f"Alert {post_input.dedup_key}")[: FALLBACK_TEXT_CHARS - len(note)] + note
    try:
        sender.send(post_input.route, {"text": text})
    except Exception as exc:  # the original rejection is the error to report; this only adds context
        logger.warning("Plain-text fallback post failed too", extra={"error": str(exc)})
        return f"the plain-text fallback failed too ({type(exc).__name__})"
    logger.warning("Slack refused the blocks; posted the plain-text fallback", extra={"route": post_input.route})
    return "the plain-text fallback was posted instead"
