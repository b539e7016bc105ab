"""What changed, and noisy alarms (facts of `investigate/changes.py` and `investigate/noise.py`,
decision 0018): a failure shortly after a recorded write or deploy names that change; an alarm that only shows a
noise form (1 of 1 datapoints, a marginal breach, a just-redefined threshold) and nothing else wrong is said to be
likely noise, and a cause found while the alarm looks noisy says so.
"""

from __future__ import annotations

import re
from datetime import timedelta

from functions.analyze.rules.commands import alert_function_name, diagnostics_moment, function_option, in_region
from functions.analyze.rules.facts import (
    Facts,
    Finding,
    alarm_details,
    alert_resource_name,
    as_clause,
    fact_peak,
    log_error_count,
    log_summary,
    metric_peak,
)
from functions.shared.aws_commands import BuiltCommand, ValueKind, opt
from functions.shared.models import Alert, Fact

_NOISE_PREFIX = "compute.alarm_noise."
# Forms that can make an alarm "likely noise" by themselves; INSUFFICIENT_DATA -> ALARM only adds to one of them.
_NOISE_VERDICT_FORMS = ("reconfigured", "single_datapoint", "marginal_breach")
# A recorded write on the resource at most this long before the alert is a candidate cause.
CHANGE_BEFORE_ALERT_MINUTES = 180
# A companion metric that doubled (or halved) moved with the alarm: something is going on.
_COMPANION_MOVE_PERCENT = 100
_COMPANION_DROP_PERCENT = 50
# A resource name or ARN that is safe inside a shorthand value (no `,` or `=` to start another key).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,256}")
# Writes that change no behaviour: labels on a resource.
_TAGGING_EVENTS = re.compile(r"^(?:CreateTags|DeleteTags|TagResource|UntagResource|AddTags|RemoveTags)")


def _resource_change(facts: Facts) -> Fact | None:
    """The newest recorded write (CloudTrail) on an investigated resource shortly before the alert, tags aside."""
    for key in sorted(facts.keys("compute.change."), key=lambda k: int(k.rsplit(".", 1)[-1] or 0)):
        fact = facts.get(key)
        minutes = fact.numbers.value if fact is not None and fact.numbers is not None else None
        if fact is None or _TAGGING_EVENTS.match(fact.text.split(" ", 1)[0]):
            continue
        if minutes is not None and 0 <= minutes <= CHANGE_BEFORE_ALERT_MINUTES:
            return fact
    return None


def _noise_forms(facts: Facts) -> dict[str, Fact]:
    found = {key.removeprefix(_NOISE_PREFIX): facts.get(key) for key in facts.keys(_NOISE_PREFIX)}
    return {form: fact for form, fact in found.items() if fact is not None}


def _something_wrong(facts: Facts) -> str | None:
    """What in the evidence besides the alarm says something is wrong, in words; None when nothing does."""
    if log_error_count(facts):
        return "the logs show errors"
    if facts.get("compute.recent_change") is not None or _resource_change(facts) is not None:
        return "the resource changed recently"
    checks = facts.get("compute.status_checks")
    if checks is not None and isinstance(checks.value, str) and checks.value not in ("ok/ok", "ok"):
        return "a status check fails"
    for key in facts.keys("compute.metric."):
        fact = facts.get(key)
        change = fact.numbers.change_pct if fact is not None and fact.numbers is not None else None
        if change is not None and (change >= _COMPANION_MOVE_PERCENT or change <= -_COMPANION_DROP_PERCENT):
            return f"{key.removeprefix('compute.metric.')} moved with it"
    return None


_USUAL_LEVEL_PERCENT = 50


def _usual_level(facts: Facts) -> bool:
    """Whether the alarm's metric is where it usually is: its peak would not have crossed the alarm's previous
    threshold, or it is within _USUAL_LEVEL_PERCENT of its baseline."""
    metric = facts.get("compute.alarm_metric")
    change = facts.get("compute.alarm_change")
    peak = fact_peak(metric)
    old = change.numbers.baseline if change is not None and change.numbers is not None else None
    new = change.numbers.threshold if change is not None and change.numbers is not None else None
    if peak is not None and old is not None and new is not None:
        # The old threshold sits on the same side of the peak as the new one would have to be crossed from.
        return (peak - new) * (peak - old) < 0
    moved = metric.numbers.change_pct if metric is not None and metric.numbers is not None else None
    return moved is not None and abs(moved) < _USUAL_LEVEL_PERCENT


def likely_noise(alert: Alert, facts: Facts) -> Finding | None:
    """A noise form (1 of 1 datapoints, a marginal breach, a just-redefined alarm) and nothing else wrong."""
    forms = _noise_forms(facts)
    if not any(form in forms for form in _NOISE_VERDICT_FORMS) or _something_wrong(facts) is not None:
        return None
    if set(forms) & set(_NOISE_VERDICT_FORMS) == {"reconfigured"} and not _usual_level(facts):
        return None  # redefined, but the metric is not at its usual level: the breach may be real
    name = _implicated_name(alert)
    metric = alarm_details(alert).metric_name or "the alarm's metric"
    change = facts.get("compute.alarm_change")
    reasons = [
        as_clause(forms[form].text) for form in (*_NOISE_VERDICT_FORMS, "from_insufficient_data") if form in forms
    ]
    if "reconfigured" in forms and change is not None:
        sentence = f"Likely a false alarm from a threshold change, not a problem on {name}: "
        sentence += as_clause(change.text)
        # The change's own text says who and what; of the form, only its comparison with the old threshold is new.
        reasons[0] = "; ".join(forms["reconfigured"].text.split("; ")[1:])
    else:
        sentence = f"Likely a false alarm (noise) on {name}: no sign of a problem"
    metric_fact = facts.get("compute.alarm_metric")
    if metric_fact is not None:
        sentence += f"; {metric} {as_clause(metric_fact.text.replace('Alarm metric ', '').split(': ', 1)[-1])}"
    sentence += "".join(f"; {reason[0].lower()}{as_clause(reason[1:])}" for reason in reasons if reason)
    if log_error_count(facts) == 0:
        sentence += "; the logs show no errors"
    recommendations = []
    if "reconfigured" in forms:
        recommendations.append(
            "Review the alarm's recent redefinition with whoever made it: restore the previous threshold, or set the "
            "new one above the metric's normal level."
        )
    if "single_datapoint" in forms:
        recommendations.append("Require more datapoints to alarm (e.g. 3 of 5) so a single spike does not page.")
    if "marginal_breach" in forms:
        recommendations.append("Move the threshold clear of the metric's normal peaks, or alarm on a longer period.")
    recommendations.append(f"No action is needed on {name} unless the alarm fires again with other symptoms.")
    old = change.numbers.baseline if change is not None and change.numbers is not None else None
    peak = fact_peak(metric_fact)
    clean_logs = log_error_count(facts) == 0
    return Finding(
        root_cause=sentence + ".",
        confidence="high"
        if "reconfigured" in forms and old is not None and peak is not None and clean_logs
        else "medium",
        evidence_keys=[
            "compute.alarm_change",
            *[_NOISE_PREFIX + f for f in forms],
            "compute.alarm_metric",
            "logs.error_count",
        ],
        recommendations=recommendations,
        diagnostics=_alarm_definition_diagnostics(alert),
    )


def _alarm_definition_diagnostics(alert: Alert) -> list[BuiltCommand]:
    alarm_name = alarm_details(alert).alarm_name
    if not alarm_name:
        return []
    return [
        in_region(alert, "cloudwatch", "describe-alarms", opt("--alarm-names", [alarm_name], ValueKind.ALARM_NAME)),
        in_region(
            alert,
            "cloudwatch",
            "describe-alarm-history",
            opt("--alarm-name", alarm_name, ValueKind.ALARM_NAME),
            opt("--history-item-type", "ConfigurationUpdate"),
            max_items=5,
        ),
    ]


def with_noise_note(finding: Finding, facts: Facts) -> Finding:
    """A cause found while the alarm also shows a noise form: say so, and trust the cause a little less."""
    forms = _noise_forms(facts)
    if not forms or any(key.startswith(_NOISE_PREFIX) for key in finding.evidence_keys):
        return finding
    if any(form in forms for form in _NOISE_VERDICT_FORMS) and finding.confidence == "high":
        finding.confidence = "medium"
    note = "; ".join(as_clause(fact.text) for fact in forms.values())
    finding.recommendations.append(f"The alarm itself may be noisy: {note}.")
    return finding


def _implicated_name(alert: Alert) -> str:
    """The alert's resource, else the resource the alarm's first dimension names."""
    if alert.resource and alert.resource.name:
        return alert.resource.name
    dimensions = alarm_details(alert).dimensions or {}
    return next(iter(dimensions.values()), None) or alert_resource_name(alert)


def _recorded_event_names(facts: Facts) -> list[str]:
    """The API names of the recorded changes (a change fact's text starts with its event name)."""
    return [fact.text.split(" ", 1)[0] for key in facts.keys("compute.change.") if (fact := facts.get(key))]


_DEPLOY_EVENTS = re.compile(r"^(?:UpdateFunctionCode|PublishVersion|CreateDeployment|RegisterTaskDefinition|"
                            r"CreateImage|StartDeployment|UpdateStack|ExecuteChangeSet)")  # fmt: skip


_CONFIGURATION_EVENTS = re.compile(
    r"^(?:Update|Modify|Put|Set|Change|Delete|Remove|Disable|Enable|Attach|Detach|Revoke|Authorize|Replace|Reboot)"
)


def change_kind(event_name: str) -> str:
    """What kind of change a CloudTrail event name is, in words."""
    if "Secret" in event_name:
        return "a change to a secret it reads"
    if _DEPLOY_EVENTS.match(event_name):
        return "a code deploy"
    if _CONFIGURATION_EVENTS.match(event_name):
        return "a configuration change"
    return "a recorded change"


def _breached(metric_fact: Fact | None) -> bool:
    """Whether the alarm's metric crossed its threshold, or, with no threshold known, rose well above its usual
    level (by half or more, or from zero)."""
    numbers = metric_fact.numbers if metric_fact is not None else None
    if numbers is None:
        return False
    if numbers.crossed is not None:
        return numbers.crossed
    if numbers.change_pct is not None:
        return numbers.change_pct >= _USUAL_LEVEL_PERCENT
    return bool(numbers.value) and numbers.baseline == 0


def failing_after_recorded_change(alert: Alert, facts: Facts) -> Finding | None:
    """The alarm's metric rose (or errors appeared) shortly after someone changed the resource (CloudTrail)."""
    change = _resource_change(facts)
    if change is None:
        return None
    metric_fact = facts.get("compute.alarm_metric")
    errors = bool(metric_peak(facts, alert, "Errors") or log_error_count(facts))
    if not (errors or _breached(metric_fact)):
        return None
    name = _implicated_name(alert)
    minutes = int(change.numbers.value) if change.numbers and change.numbers.value is not None else None
    kind = change_kind(change.text.split(" ", 1)[0])
    metric = alarm_details(alert).metric_name or alert.alert_type
    what = "started failing" if errors else f"breached its {metric} threshold"
    sentence = f"{name} {what} {minutes} min after {kind}: {as_clause(change.text)}"
    if kind == "a configuration change" and not any(
        change_kind(e) == "a code deploy" for e in _recorded_event_names(facts)
    ):
        sentence += " (no code deploy is recorded)"
    if metric_fact is not None:
        sentence += f"; {metric}: {as_clause(metric_fact.text.replace('Alarm metric ', '').split(': ', 1)[-1])}"
    logs = log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    subject = change.subject or ""
    diagnostics = []
    if _PLAIN_NAME.fullmatch(subject):
        when = diagnostics_moment(alert, None)
        options = [
            opt("--lookup-attributes", [f"AttributeKey=ResourceName,AttributeValue={subject}"], ValueKind.SHORTHAND)
        ]
        if when is not None:
            start = (when - timedelta(minutes=CHANGE_BEFORE_ALERT_MINUTES)).strftime("%Y-%m-%dT%H:%M:%SZ")
            options.append(opt("--start-time", start, ValueKind.WORD))
        diagnostics.append(in_region(alert, "cloudtrail", "lookup-events", *options, max_items=20))
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if logs or _breached(metric_fact) else "medium",
        evidence_keys=[
            change.key,
            "compute.alarm_metric",
            "logs.pattern.1",
            "logs.error_count",
            "compute.recent_change",
        ],
        recommendations=[
            f"Undo the change on {subject or name} (restore the previous configuration or value) now, then review it "
            "with whoever made it.",
            "Compare the configuration before and after the change (CloudTrail's request parameters show what was "
            "set).",
        ],
        diagnostics=diagnostics,
    )


def errors_after_change(alert: Alert, facts: Facts) -> Finding | None:
    change = facts.get("compute.recent_change")
    errors_peak = metric_peak(facts, alert, "Errors")
    log_errors = log_error_count(facts)
    if change is None or not (errors_peak or log_errors):
        return None
    name = alert_resource_name(alert)
    minutes = facts.number("compute.recent_change")
    when = f"{int(minutes)} min ago" if minutes is not None else "recently"
    sentence = f"{name} started failing after a deploy (code/configuration updated {when})"
    metric_fact = facts.get("compute.alarm_metric") or facts.get("compute.metric.Errors")
    if metric_fact is not None:
        sentence += f": {as_clause(metric_fact.text.replace('Alarm metric ', ''))}"
    logs = log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if logs else "medium",
        evidence_keys=["compute.recent_change", "compute.alarm_metric", "logs.pattern.1", "logs.error_count"],
        recommendations=[
            f"Roll {name} back to the previous version (or alias) now, then fix forward.",
            "Compare the new version's configuration and environment with the previous one.",
        ],
        # The builder adds a --query that leaves each version's environment variables out.
        diagnostics=[
            in_region(alert, "lambda", "list-versions-by-function", function_option(fn))
            for fn in filter(None, [alert_function_name(alert)])
        ],
    )
