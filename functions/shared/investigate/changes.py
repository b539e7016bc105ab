"""What changed: the write events CloudTrail recorded on the investigated resources, the alarm and their secrets.

An SRE's first question after "what is broken" is "what changed". After the graph walk, each visited resource (the
implicated one first), the alarm itself and the Secrets Manager secrets an implicated function's environment names
get one bounded `LookupEvents` each (few lookups: the API allows two a second). Each change becomes a fact with
its minutes before the alert as numbers, so the rules can say "changed 12 min before it fired, by alice"; the
alarm's own reconfiguration (PutMetricAlarm) becomes `compute.alarm_change`, with the new threshold and, when an
earlier PutMetricAlarm is in the window, the previous one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from functions.shared import console_links
from functions.shared.adapters.cloudtrail import TrailEvent
from functions.shared.errors import GatherThrottledError
from functions.shared.investigate.base import Evidence, number
from functions.shared.models import Fact, Measurement

CHANGE_LOOKBACK = timedelta(hours=6)
MAX_LOOKUPS = 5
MAX_CHANGE_FACTS = 2
# Events that change a metric alarm's definition (its threshold, period, datapoints): a reconfigured alarm.
ALARM_DEFINITION_EVENTS = {"PutMetricAlarm"}
# A secret's value changed: every function reading it gets the new value at its next cold start or refresh.
SECRET_VALUE_EVENTS = {"RotateSecret", "PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage"}
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$")
_SECRET_KEY = re.compile(r"(?i)secret(?:_?(?:name|id|arn))?$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_MAX_PARAMETER_CHARS = 40


class TrailReader(Protocol):
    def write_events(
        self, resource_name: str, *, start: datetime, end: datetime, max_pages: int = ...
    ) -> list[TrailEvent]: ...

    def events_named(
        self, event_name: str, *, start: datetime, end: datetime, max_pages: int = ...
    ) -> list[TrailEvent]: ...


@dataclass(frozen=True)
class ChangeSubject:
    """A resource whose recorded changes are looked up, and why it matters (shown on its facts)."""

    name: str
    why: str | None = None  # "secret named by CheckoutService's environment (DB_SECRET_ARN)"
    is_alarm: bool = False


def secrets_named_by(function_name: str, environment: Mapping[str, Any]) -> list[ChangeSubject]:
    """The Secrets Manager secrets a function's environment names: an ARN value, or a `..._SECRET_NAME`-style key
    holding a secret name (the value is a name, never the secret itself)."""
    found: list[ChangeSubject] = []
    for key, value in environment.items():
        if not isinstance(value, str):
            continue
        if _SECRET_ARN.match(value) or (_SECRET_KEY.search(str(key)) and _SECRET_NAME.match(value)):
            why = f"secret named by {function_name}'s environment ({key})"
            if all(s.name != value for s in found):
                found.append(ChangeSubject(name=value, why=why))
    return found[:2]


def _how(event: TrailEvent) -> str | None:
    agent = (event.user_agent or "").lower()
    if "console" in agent or "signin" in agent:
        return "in the console"
    if agent.startswith("aws-cli"):
        return "with the AWS CLI"
    if "cloudformation" in agent:
        return "by CloudFormation"
    if "terraform" in agent:
        return "by Terraform"
    return None


# Request parameters that identify a request rather than say what it set (idempotency tokens, version ids).
_BOOKKEEPING_PARAMETER = re.compile(r"(?i)(?:token|requestid|versionid|clientrequesttoken)$")
_MAX_PARAMETERS = 3


def _parameters(event: TrailEvent, subject: str) -> str:
    """A few scalar request parameters that say what was set ("timeout=3, memorySize=128"); the resource's own
    name and request bookkeeping left out."""
    parts = []
    for key, value in event.request_parameters.items():
        if value is None or str(value) == subject or str(value).endswith(f":{subject}"):
            continue
        if _BOOKKEEPING_PARAMETER.search(key):
            continue
        parts.append(f"{key}={str(value)[:_MAX_PARAMETER_CHARS]}")
        if len(parts) == _MAX_PARAMETERS:
            break
    return ", ".join(parts)


def _relative(minutes: int) -> str:
    if minutes >= 0:
        return f"{minutes} min before the alert"
    return f"{-minutes} min after the alert"


def _threshold(event: TrailEvent) -> float | None:
    value = event.request_parameters.get("threshold")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None


def _minutes_before(event: TrailEvent, at: datetime) -> int:
    return int((at - event.event_time).total_seconds() // 60)


def _ago(event: TrailEvent, now: datetime) -> str:
    minutes = int((now - event.event_time).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def _display_name(name: str) -> str:
    """An ARN's resource name ("prod/orders/db-AbC123" for a secret's ARN); a name as it is."""
    return name.rsplit(":", 1)[-1] if name.startswith("arn:") else name


def change_fact(
    event: TrailEvent,
    subject: ChangeSubject,
    *,
    index: int,
    at: datetime | None,
    now: datetime,
    region: str | None = None,
) -> Fact:
    """One recorded write. `at` is the alert's time; None when there is no alert (a question asked now)."""
    minutes = _minutes_before(event, at or now)
    who = event.username or "an unknown caller"
    text = f"{event.event_name} on {_display_name(subject.name)} by {who} {_ago(event, now)}"
    details = [_relative(minutes)] if at is not None else []
    how = _how(event)
    if how:
        details.append(how)
    if details:
        text += f" ({'; '.join(details)})"
    if subject.why:
        text += f"; {subject.why}"
    parameters = _parameters(event, subject.name)
    if parameters:  # last: what was set is the part a long text may lose
        text += f"; set {parameters}"
    return Fact(
        key=f"compute.change.{index}",
        text=text,
        value=minutes,
        link=console_links.cloudtrail_events_url(subject.name, region),
        subject=subject.name,
        numbers=Measurement(value=float(minutes), unit="minutes before the alert" if at is not None else "minutes ago"),
    )


def alarm_change_fact(
    events: list[TrailEvent], alarm_name: str, *, at: datetime | None, now: datetime, region: str | None = None
) -> Fact | None:
    """The alarm's newest redefinition in the window, with its new threshold and the one before when known; `at`
    is the alert's time, None when there is no alert."""
    definitions = [e for e in events if e.event_name in ALARM_DEFINITION_EVENTS]
    if not definitions:
        return None
    newest = definitions[0]
    new, old = _threshold(newest), next((t for e in definitions[1:] if (t := _threshold(e)) is not None), None)
    minutes = _minutes_before(newest, at or now)
    # What was set comes first: it is what a reader (and a cut-short Slack line) needs most.
    what = f"threshold set to {number(new)}" if new is not None else "redefined"
    if new is not None and old is not None:
        what += f" (was {number(old)})"
    details = [_relative(minutes)] if at is not None else []
    details.append(newest.event_name + (f", {how}" if (how := _how(newest)) else ""))
    text = (
        f"Alarm {alarm_name}: {what} by {newest.username or 'an unknown caller'} {_ago(newest, now)} "
        f"({'; '.join(details)})"
    )
    return Fact(
        key="compute.alarm_change",
        text=text,
        value=minutes,
        link=console_links.cloudwatch_alarm_url(alarm_name, region),
        subject=alarm_name,
        numbers=Measurement(
            value=float(minutes),
            unit="minutes before the alert" if at is not None else "minutes ago",
            threshold=new,
            baseline=old,
            change_pct=(new - old) / abs(old) * 100 if new is not None and old else None,
        ),
    )


def what_changed_evidence(
    trail: TrailReader,
    subjects: list[ChangeSubject],
    *,
    at: datetime | None,
    now: datetime,
    lookback: timedelta = CHANGE_LOOKBACK,
    region: str | None = None,
) -> Evidence:
    """Write events on each subject (at most MAX_LOOKUPS lookups) from `lookback` before the alert (`at`; None
    when there is no alert: before now) to now, newest first: up to MAX_CHANGE_FACTS change facts, plus the alarm's
    own redefinition."""
    evidence = Evidence()
    anchor = at or now
    start, end = anchor - lookback, max(now, anchor)
    hours = int(lookback.total_seconds() // 3600)
    changes: list[tuple[TrailEvent, ChangeSubject]] = []
    looked_up: list[str] = []
    for subject in subjects[:MAX_LOOKUPS]:
        # An alarm's definitions are found by their API (CloudTrail does not index every alarm call by its name)
        # and told apart by the alarmName they set.
        lookup = (
            partial(trail.events_named, "PutMetricAlarm", start=start, end=end)
            if subject.is_alarm
            else partial(trail.write_events, subject.name, start=start, end=end)
        )
        try:
            events = evidence.read(f"CloudTrail events on {subject.name}", lookup)
        except GatherThrottledError:
            # Recent changes are context, not the evidence itself: a throttled lookup is noted, not retried.
            evidence.notes.append(f"CloudTrail throttled the change lookup at {subject.name}: later ones not read.")
            break
        if events is None:
            continue
        looked_up.append(subject.name)
        if subject.is_alarm:
            mine = [e for e in events if e.request_parameters.get("alarmName") == subject.name]
            fact = alarm_change_fact(mine, subject.name, at=at, now=now, region=region)
            if fact is not None:
                evidence.facts.append(fact)
        else:
            changes.extend((e, subject) for e in events)
    if looked_up:
        evidence.looked_at.append(f"CloudTrail write events, last {hours} h: {', '.join(looked_up)}"[:200])
    changes.sort(key=lambda pair: pair[0].event_time, reverse=True)
    for index, (event, subject) in enumerate(changes[:MAX_CHANGE_FACTS], start=1):
        evidence.facts.append(change_fact(event, subject, index=index, at=at, now=now, region=region))
    if len(changes) > MAX_CHANGE_FACTS:
        evidence.notes.append(f"{len(changes) - MAX_CHANGE_FACTS} older recorded change(s) not listed.")
    if looked_up and not changes and evidence.fact("compute.alarm_change") is None:
        evidence.notes.append(f"CloudTrail shows no write to {', '.join(looked_up)} in the last {hours} h."[:200])
    return evidence


def change_subjects_of(
    resource_names: list[str], *, alarm_name: str | None, environments: Mapping[str, Mapping[str, Any]]
) -> list[ChangeSubject]:
    """What to look up, most telling first: the implicated resource, the alarm, the secrets the functions'
    environments name, then the walk's other resources."""
    subjects: list[ChangeSubject] = []
    if resource_names:
        subjects.append(ChangeSubject(name=resource_names[0]))
    if alarm_name:
        subjects.append(ChangeSubject(name=alarm_name, is_alarm=True))
    for function, environment in environments.items():
        subjects.extend(secrets_named_by(function, environment))
    subjects.extend(ChangeSubject(name=name) for name in resource_names[1:])
    unique: dict[str, ChangeSubject] = {}
    for subject in subjects:
        unique.setdefault(subject.name, subject)
    return list(unique.values())[:MAX_LOOKUPS]
