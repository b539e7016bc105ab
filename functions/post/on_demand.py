"""Post's side of Analyze with AI (issue 14): an on-demand run answers in the heartbeat message's thread.

The chat worker names the run after the clicked message (`functions.shared.slack_actions.on_demand_execution_name`);
Post reads the thread from the execution name it is given and posts the main message, then the evidence, as
replies there, instead of a new message in the critical channel. Only into the heartbeat channel it posts to itself.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.post.logic import AlertMemory, WebApiPoster, remember_alert_for_chat
from functions.shared.models import PostInput, PostResult
from functions.shared.observability import logger, metrics
from functions.shared.slack_actions import OnDemandTarget, on_demand_target


def reply_target(execution_name: object, alert_channels: dict[str, str]) -> OnDemandTarget | None:
    """The heartbeat thread this run answers in, or None for every run ingest started (and for a thread outside
    the heartbeat channel)."""
    target = on_demand_target(execution_name)
    if target is None or not alert_channels.get("heartbeat") or target.channel != alert_channels["heartbeat"]:
        return None
    return target


def post_in_thread(
    post_input: PostInput, web: WebApiPoster, target: OnDemandTarget, memory: AlertMemory | None = None
) -> PostResult:
    """The analysis as replies under the heartbeat message: the main message, then its evidence.

    Raises:
        SlackRateLimitedError, SlackPostError: the first reply could not be posted (the state retries).
    """
    message = post_input.message
    ts = web.post_message(target.channel, message.text, message.blocks, thread_ts=target.thread_ts)
    metrics.add_metric(name="OnDemandAnalysesPosted", unit=MetricUnit.Count, value=1)
    if post_input.thread is not None and post_input.thread.blocks:
        try:
            web.post_message(
                target.channel, post_input.thread.text, post_input.thread.blocks, thread_ts=target.thread_ts
            )
        except Exception as exc:  # the analysis is in the thread; the evidence stays in the run
            metrics.add_metric(name="SlackThreadFailures", unit=MetricUnit.Count, value=1)
            logger.warning("Could not post the evidence reply", extra={"error": f"{type(exc).__name__}: {exc}"})
    return PostResult(
        posted=True,
        route=post_input.route,
        status_code=200,
        channel=target.channel,
        ts=ts,
        thread_ts=target.thread_ts,
        remembered_for_chat=remember_alert_for_chat(post_input, memory),
    )
