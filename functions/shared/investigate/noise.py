"""Noisy-alarm interpreters: forms of an alarm definition or of a breach that fire without a problem behind them.

Each form is a structured fact (`compute.alarm_noise.<form>`, numbers set) that the rules and the model both read;
none is a verdict by itself. The rules call an alarm "likely noise" only when the rest of the evidence shows nothing
wrong (no errors in the logs, no change on the resource, companion metrics at their usual level); otherwise a form
lowers the confidence of whatever cause they found.

- `single_datapoint`: the alarm fires on 1 of 1 datapoints, and the metric is already back on the safe side: one
  spike was enough.
- `marginal_breach`: the peak crossed the threshold by at most MARGINAL_PERCENT of it, and the metric is back.
- `from_insufficient_data`: the alarm went to ALARM from INSUFFICIENT_DATA: the metric had been missing (a new
  alarm, an idle resource) and the first datapoints decided.
- `reconfigured`: the alarm was redefined (PutMetricAlarm, from CloudTrail) at most RECONFIGURED_WITHIN_MINUTES
  before it fired: it fired on the new definition (a lowered threshold shows as threshold vs its previous value).
"""

from __future__ import annotations

import re
from datetime import datetime

from functions.shared import console_links
from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.investigate.base import Evidence, number
from functions.shared.investigate.metrics import MetricWindow
from functions.shared.models import Alert, Fact, Measurement

MARGINAL_PERCENT = 10.0
RECONFIGURED_WITHIN_MINUTES = 60
NOISE_PREFIX = "compute.alarm_noise."


# CloudWatch's own state reason, for alarm deliveries without the definition (EventBridge carries no threshold):
# "Threshold Crossed: 1 out of the last 1 datapoints [231.0 (25/11/26 18:55:00)] was greater than or equal to the
# threshold (25.0) (minimum 1 datapoint for OK -> ALARM transition)."
_REASON = re.compile(
    r"(?P<m>\d+) out of the last (?P<n>\d+) datapoints? \[.*?\] (?:was|were) (?P<op>(?:not )?(?:greater|less) than"
    r"(?: or equal to)?) the threshold \((?P<threshold>-?[\d.]+(?:E-?\d+)?)\)"
)
_OPERATORS = {
    "greater than": "GreaterThanThreshold",
    "greater than or equal to": "GreaterThanOrEqualToThreshold",
    "less than": "LessThanThreshold",
    "less than or equal to": "LessThanOrEqualToThreshold",
}


def alarm_definition(alarm: CloudWatchAlarmDetails) -> CloudWatchAlarmDetails:
    """The alarm's threshold, operator and M-of-N from its details, else from CloudWatch's state reason."""
    match = _REASON.search(alarm.state_reason or "")
    if match is None or match.group("op").startswith("not "):
        return alarm
    return alarm.model_copy(
        update={
            "threshold": alarm.threshold if alarm.threshold is not None else float(match.group("threshold")),
            "comparison_operator": alarm.comparison_operator or _OPERATORS[match.group("op")],
            "evaluation_periods": alarm.evaluation_periods or float(match.group("n")),
            "datapoints_to_alarm": alarm.datapoints_to_alarm or float(match.group("m")),
        }
    )


def _configuration_age_minutes(alert: Alert, alarm: CloudWatchAlarmDetails) -> float | None:
    """Minutes from the alarm's last definition change (AlarmConfigurationUpdatedTimestamp) to its state change."""
    if not alarm.configuration_updated_at or alert.occurred_at is None:
        return None
    text = alarm.configuration_updated_at.strip().replace("Z", "+0000")
    for layout in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            updated = datetime.strptime(text, layout)
        except ValueError:
            continue
        return (alert.occurred_at - updated).total_seconds() / 60 if alert.occurred_at.tzinfo else None
    return None


def _crosses(value: float, threshold: float, comparison: str | None) -> bool | None:
    lowered = (comparison or "").lower()
    if "greaterthanorequal" in lowered:
        return value >= threshold
    if "greaterthan" in lowered:
        return value > threshold
    if "lessthanorequal" in lowered:
        return value <= threshold
    if "lessthan" in lowered:
        return value < threshold
    return None  # anomaly bands, or no operator known


def _recovered(window: MetricWindow | None, alarm: CloudWatchAlarmDetails) -> bool:
    """Whether the metric's newest datapoint is back on the safe side of the threshold."""
    if window is None or window.latest is None or alarm.threshold is None:
        return False
    return _crosses(window.latest, alarm.threshold, alarm.comparison_operator) is False


def _fact(form: str, text: str, numbers: Measurement, link: str) -> Fact:
    return Fact(key=NOISE_PREFIX + form, text=text, value=form, numbers=numbers, link=link)


def _alarm_link(alert: Alert, alarm: CloudWatchAlarmDetails) -> str:
    """The alarm's console page (its definition and history), where each noise form can be checked."""
    if alarm.alarm_name:
        return console_links.cloudwatch_alarm_url(alarm.alarm_name, alert.region)
    return console_links.cloudwatch_alarms_url(alert.region)


def alarm_noise_evidence(alert: Alert, window: MetricWindow | None, alarm_change: Fact | None) -> Evidence:
    """The noise forms this alarm shows, from its definition, its state change, its metric and its CloudTrail."""
    evidence = Evidence()
    details = alert.details_of(CloudWatchAlarmDetails)
    if details is None or (details.state or "ALARM").upper() != "ALARM":
        return evidence
    alarm = alarm_definition(details)
    link = _alarm_link(alert, alarm)
    threshold = alarm.threshold
    recovered = _recovered(window, alarm)
    peak = window.peak if window is not None else None
    latest = window.latest if window is not None else None
    periods = alarm.evaluation_periods
    needed = alarm.datapoints_to_alarm if alarm.datapoints_to_alarm is not None else periods
    if periods == 1 and needed == 1 and recovered and peak is not None and threshold is not None:
        evidence.facts.append(
            _fact(
                "single_datapoint",
                f"The alarm fires on 1 of 1 datapoints: one period at {number(peak)} was enough, and the metric is "
                f"back at {number(latest or 0)} (threshold {number(threshold)})",
                Measurement(value=peak, latest=latest, threshold=threshold, crossed=True, window="1 of 1"),
                link,
            )
        )
    if recovered and peak is not None and threshold:
        crossed = _crosses(peak, threshold, alarm.comparison_operator)
        margin = abs(peak - threshold) / abs(threshold) * 100
        if crossed and margin <= MARGINAL_PERCENT:
            evidence.facts.append(
                _fact(
                    "marginal_breach",
                    f"Marginal breach, already recovered: peak {number(peak)} vs threshold {number(threshold)} "
                    f"({margin:.1f}% past it), now {number(latest or 0)}",
                    Measurement(value=peak, latest=latest, threshold=threshold, crossed=True, change_pct=margin),
                    link,
                )
            )
    if (alarm.previous_state or "").upper() == "INSUFFICIENT_DATA":
        evidence.facts.append(
            _fact(
                "from_insufficient_data",
                "The alarm went to ALARM from INSUFFICIENT_DATA: its metric had no data before (a new alarm or an "
                "idle resource), so the first datapoints decided",
                Measurement(value=peak, threshold=threshold),
                link,
            )
        )
    evidence.facts.extend(_reconfigured(alert, alarm, alarm_change, peak))
    return evidence


def _reconfigured(
    alert: Alert, alarm: CloudWatchAlarmDetails, alarm_change: Fact | None, peak: float | None
) -> list[Fact]:
    """The alarm redefined shortly before it fired: from CloudTrail (who, which threshold) or, without it, from the
    alarm's own AlarmConfigurationUpdatedTimestamp."""
    if alarm_change is not None and alarm_change.numbers is not None and alarm_change.numbers.value is not None:
        minutes: float | None = alarm_change.numbers.value
        new, old = alarm_change.numbers.threshold, alarm_change.numbers.baseline
    else:
        minutes, new, old = _configuration_age_minutes(alert, alarm), alarm.threshold, None
    if minutes is None or not 0 <= minutes <= RECONFIGURED_WITHIN_MINUTES:
        return []
    text = f"The alarm was redefined {minutes:.0f} min before it fired"
    if new is not None and old is not None:
        tighter = _crosses(old, new, alarm.comparison_operator)  # the old limit would breach the new one
        text += f": threshold {number(old)} -> {number(new)}" + (" (tightened)" if tighter else "")
    elif new is not None:
        text += f" (threshold now {number(new)})"
    if peak is not None and old is not None and _crosses(peak, old, alarm.comparison_operator) is False:
        text += f"; the peak {number(peak)} would not have crossed the previous threshold"
    return [
        _fact(
            "reconfigured",
            text,
            Measurement(value=round(minutes, 1), unit="minutes before the alert", threshold=new, baseline=old),
            _alarm_link(alert, alarm),
        )
    ]
