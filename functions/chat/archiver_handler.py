"""Lambda on the conversations table's DynamoDB stream: archive conversations to S3."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.chat.archiver import archive_batch
from functions.chat.settings import get_archiver_settings
from functions.shared.adapters.conversations import ConversationArchive
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys


@lru_cache(maxsize=1)
def _archive() -> ConversationArchive:
    return ConversationArchive(get_archiver_settings().archive_bucket)


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Archive each expiring or completed conversation; a failed write is reported as a partial batch failure."""
    response, archived = archive_batch(event, _archive())
    metrics.add_metric(name="ConversationsArchived", unit=MetricUnit.Count, value=len(archived))
    logger.info("conversations archived", extra={"keys": archived, "failed": response["batchItemFailures"]})
    return response
