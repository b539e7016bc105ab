"""Lambda behind API Gateway (REST, proxy integration): POST /slack/events."""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_sdk.signature import SignatureVerifier

from functions.chat.events import handle_slack_request
from functions.chat.models import ChatRequest
from functions.chat.settings import get_chat_settings
from functions.shared.adapters.async_invoke import AsyncLambdaInvoker
from functions.shared.adapters.conversations import conversation_table
from functions.shared.adapters.slack_api import signing_secret
from functions.shared.errors import ConfigurationError
from functions.shared.observability import logger, metrics, tracer


@lru_cache(maxsize=1)
def _verifier() -> SignatureVerifier:
    return SignatureVerifier(signing_secret())


@lru_cache(maxsize=1)
def _invoker() -> AsyncLambdaInvoker:
    name = get_chat_settings().worker_function_name
    if not name:
        raise ConfigurationError("CHAT_WORKER_FUNCTION_NAME is not set")
    return AsyncLambdaInvoker(name)


def _dispatch(request: ChatRequest) -> None:
    _invoker().invoke(request.model_dump(mode="json"))


def _raw_body(event: dict[str, Any]) -> str:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body).decode("utf-8")
    return str(body)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Verify, de-duplicate and hand over one Slack event; returns the API Gateway proxy response."""
    headers = {k: v for k, v in (event.get("headers") or {}).items() if isinstance(v, str)}
    table_name = get_chat_settings().conversations_table
    if not table_name:
        raise ConfigurationError("CONVERSATIONS_TABLE is not set")
    table = conversation_table(table_name)
    response = handle_slack_request(_raw_body(event), headers, _verifier(), table, _dispatch)
    logger.info("slack event answered", extra={"status": response.status, "outcome": response.outcome})
    return {"statusCode": response.status, "headers": response.headers, "body": response.body}
