"""One execution per alarm state change, whichever path delivers it; alert-intel's own alarms never enter.

A CloudWatch alarm state change can reach ingest twice: through the alarm's SNS action (critical or heartbeat
topic, which says the route) and through the account-wide `AlarmStateChanges` EventBridge rule (no route). The
EventBridge copy is therefore dropped when the alarm's actions for its new state already name one of the alert
topics: the SNS copy runs, with the route the operator chose. It runs when the alarm sends nowhere we listen (the
rule is then the only path), and when the alarm cannot be read (better a duplicate than a lost alert).

Alarms whose names start with the environment's prefix (`alert-intel-<env>-`) are the Monitoring stack's
meta-alarms: they watch this pipeline, notify the ops topic only, and are dropped on every path, so a failing
pipeline cannot start more failing runs about itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from functions.shared.models import PipelineInput

AlarmLookup = Callable[[str, str | None], dict[str, Any] | None]
_ACTIONS_FOR_STATE = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}


@dataclass
class AlarmRouting:
    kept: list[PipelineInput] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def alarm_state_change(payload: Any) -> tuple[str, str, str | None, bool] | None:
    """(alarm name, new state, region, delivered by EventBridge) for an alarm state change, else None."""
    if not isinstance(payload, dict):
        return None
    if payload.get("source") == "aws.cloudwatch" and payload.get("detail-type") == "CloudWatch Alarm State Change":
        detail: dict[str, Any] = payload["detail"] if isinstance(payload.get("detail"), dict) else {}
        state: dict[str, Any] = detail["state"] if isinstance(detail.get("state"), dict) else {}
        name, value = detail.get("alarmName"), state.get("value")
        if isinstance(name, str) and isinstance(value, str):
            region = payload.get("region") if isinstance(payload.get("region"), str) else None
            return name, value, region, True
        return None
    name, value = payload.get("AlarmName"), payload.get("NewStateValue")
    if isinstance(name, str) and isinstance(value, str):
        arn = payload.get("AlarmArn")
        region = arn.split(":")[3] if isinstance(arn, str) and arn.count(":") >= 5 else None
        return name, value, region, False
    return None


def route_alarm_state_changes(
    inputs: Iterable[PipelineInput], *, lookup: AlarmLookup, alert_topics: Iterable[str], own_alarm_prefix: str
) -> AlarmRouting:
    """Drop the EventBridge copies the SNS path also delivers, and every own alarm. Never raises."""
    topics = {topic for topic in alert_topics if topic}
    routing = AlarmRouting()
    for pipeline_input in inputs:
        change = alarm_state_change(pipeline_input.payload)
        if change is None:
            routing.kept.append(pipeline_input)
            continue
        name, state, region, via_eventbridge = change
        if own_alarm_prefix and name.startswith(own_alarm_prefix):
            routing.notices.append(f"Alarm {name} is alert-intel's own: it notifies the ops topic only; not run")
            continue
        if via_eventbridge and topics:
            try:
                alarm = lookup(name, region)
            except Exception as exc:  # unreadable: keep the run (a possible duplicate beats a lost alert)
                routing.notices.append(f"Alarm {name} could not be read ({type(exc).__name__}); run from EventBridge")
                alarm = None
            actions = set((alarm or {}).get(_ACTIONS_FOR_STATE.get(state, ""), []) or [])
            if actions & topics:
                routing.notices.append(f"Alarm {name} {state}: delivered by its SNS action, not run from EventBridge")
                continue
        routing.kept.append(pipeline_input)
    return routing


def cloudwatch_alarm_lookup(name: str, region: str | None) -> dict[str, Any] | None:
    """The alarm's description from CloudWatch (cloudwatch:DescribeAlarms), in the alarm's region."""
    from functions.shared.adapters.cloudwatch import CloudWatchReader

    return CloudWatchReader(region=region).alarm(name)
