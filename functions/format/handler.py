"""Lambda boundary of the "Format Slack Message" state."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.format.logic import format_output
from functions.format.models import FormatEvent
from functions.shared.models import FormatInput
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.payload_bounds import MAX_ALERT_CONTEXT_BYTES, shrink_json
from functions.shared.settings import get_settings
from functions.shared.slack_actions import on_demand_target
from functions.shared.stage_io import bounded_stage, parse_stage_input


@bounded_stage()
@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict, context: LambdaContext) -> dict:
    """Render the pipeline state as a Slack message; the output is what "Post To Slack" reads."""
    merged = parse_stage_input(event, FormatEvent).merged_state()
    format_input = parse_stage_input(merged, FormatInput)
    if format_input.environment is None:
        format_input = format_input.model_copy(update={"environment": get_settings().environment})
    # The buttons that act from Slack need the bot (the route has a channel); an on-demand analysis answers in a
    # heartbeat's thread, where there is no incident to acknowledge or mute.
    interactive = bool(get_settings().slack_alert_channels.get(format_input.route)) and (
        on_demand_target(event.get("execution_name") if isinstance(event, dict) else None) is None
    )
    output = format_output(format_input, interactive=interactive).model_dump(mode="json")
    # What the chat bot remembers of the alert rides along to Post: bounded like every state part.
    output["alert_context"] = shrink_json(output.get("alert_context"), MAX_ALERT_CONTEXT_BYTES)
    return output
