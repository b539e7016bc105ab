"""Gather Log Context: grouped error lines for one alert (read-only, bounded)."""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.gather_logs.logic import LogReaders, gather_logs
from functions.shared.investigate.base import record_section_metrics
from functions.shared.models import StageInput
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.settings import get_settings
from functions.shared.stage_io import bounded_stage, parse_stage_input
from functions.shared.state_bounds import bound_section


@bounded_stage()
@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict, context: LambdaContext) -> dict:
    stage_input = parse_stage_input(event, StageInput)
    settings = get_settings()
    readers = LogReaders.default(stage_input.alert.region or settings.aws_region)
    section = gather_logs(stage_input, readers, now=datetime.now(UTC), settings=settings)
    section = bound_section(section)
    record_section_metrics(section)
    return section.model_dump(mode="json")
