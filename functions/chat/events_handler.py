"""Lambda behind API Gateway (REST, proxy integration): POST /slack/events, for the Events API and for
interactivity (the app's Interactivity Request URL is the same URL: button clicks, `functions.chat.interactions`)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_sdk.signature import SignatureVerifier

from functions.chat.events import HttpResponse, handle_slack_request, request_headers
from functions.chat.settings import get_events_settings
from functions.shared.adapters.async_invoke import AsyncLambdaInvoker
from functions.shared.adapters.conversations import ConversationTable, conversation_table
from functions.shared.adapters.slack_api import signing_secret
from functions.shared.chat_models import ChatRequest
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.slack_actions import SlackActionRequest


@lru_cache(maxsize=1)
def _verifier() -> SignatureVerifier:
    return SignatureVerifier(signing_secret())


@lru_cache(maxsize=1)
def _invoker() -> AsyncLambdaInvoker:
    return AsyncLambdaInvoker(get_events_settings().worker_function_name)


def _dispatch(request: ChatRequest) -> None:
    _invoker().invoke(request.model_dump(mode="json"))


def _dispatch_action(request: SlackActionRequest) -> None:
    """A click goes to the same worker as a question; its payload says which it is (`interaction`)."""
    _invoker().invoke(request.model_dump(mode="json"))


def _claims_table() -> ConversationTable:
    return conversation_table(get_events_settings().conversations_table)


def _raw_body(event: Mapping[str, Any]) -> str | None:
    """The body as sent (base64-decoded when API Gateway encoded it); None when absent or undecodable."""
    try:
        body = APIGatewayProxyEvent(dict(event)).decoded_body
    except (ValueError, TypeError, AttributeError):  # not base64, not UTF-8 once decoded, or not a string at all
        return None
    return body if isinstance(body, str) else None


def _answer(event: object, claims: ConversationTable, verifier: SignatureVerifier) -> HttpResponse:
    if not isinstance(event, Mapping):
        return HttpResponse(status=400, body="not an API Gateway event", outcome="bad_request")
    headers = request_headers(event.get("multiValueHeaders"), event.get("headers"))
    return handle_slack_request(
        _raw_body(event),
        headers,
        verifier,
        claims,
        _dispatch,
        act=_dispatch_action,
        action_channels=get_events_settings().action_channels,
    )


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Verify, de-duplicate and hand over one Slack event; returns the API Gateway proxy response. Never raises.

    Whatever the request holds, the answer is 2xx or 4xx: 401 when it does not verify (a body that is not valid
    base64 or UTF-8 included), 413 or 400 for a verified body that is not an event, and 400 for any unexpected
    failure while handling the input (logged with its traceback). 500 is kept for what the caller cannot cause:
    this function is not configured (CONVERSATIONS_TABLE, CHAT_WORKER_FUNCTION_NAME or the signing secret missing
    or unreadable), or the claims table or the worker Lambda cannot be reached. Slack retries those.
    """
    try:
        claims, verifier = _claims_table(), _verifier()
    except Exception:
        logger.exception("the Slack events endpoint is not configured")
        response = HttpResponse(status=500, body="not configured", outcome="not_configured")
    else:
        try:
            response = _answer(event, claims, verifier)
        except Exception:  # a bug reached by some input: the caller gets a 4xx, not API Gateway's 502
            logger.exception("unexpected failure answering a Slack request")
            response = HttpResponse(status=400, body="bad request", outcome="error")
    logger.info("slack event answered", extra={"status": response.status, "outcome": response.outcome})
    return {"statusCode": response.status, "headers": response.headers, "body": response.body}
