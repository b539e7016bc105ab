"""Reading the context: every fact by key (`Facts`), the `Finding` a detector returns, and the readers of a
fact's structured numbers that every resource family shares.

The rules compare a fact's numbers (`Fact.numbers`, `Fact.subject`, `Fact.value`). A fact without numbers (one
written by hand, or by an older gather stage) is read from its sentence instead: the fallbacks below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.aws_commands import BuiltCommand
from functions.shared.investigate.base import MOVED_PERCENT
from functions.shared.models import Alert, Confidence, ContextSection, EvidenceClaim, Fact, GatheredContext, Verdict

_PEAK = re.compile(r"peak (?P<peak>[\d,.]+)")


@dataclass
class Facts:
    """Every fact of the sections that were gathered, by key, with the section it came from."""

    by_key: dict[str, tuple[Fact, ContextSection]] = field(default_factory=dict)

    @classmethod
    def of(cls, context: GatheredContext) -> Facts:
        facts = cls()
        for section in context.sections():
            if section.status != "ok":
                continue
            for fact in section.facts:
                facts.by_key.setdefault(fact.key, (fact, section))
        return facts

    def get(self, key: str) -> Fact | None:
        found = self.by_key.get(key)
        return found[0] if found else None

    def number(self, key: str) -> float | None:
        fact = self.get(key)
        if fact is None or isinstance(fact.value, str) or fact.value is None:
            return None
        return float(fact.value)

    def claim(self, key: str) -> EvidenceClaim | None:
        found = self.by_key.get(key)
        if found is None:
            return None
        fact, section = found
        return EvidenceClaim(claim=fact.text, section=section.name, link=fact.link)

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.by_key if k.startswith(prefix)]


def fact_peak(fact: Fact | None) -> float | None:
    """A metric fact's peak (its measured value)."""
    if fact is None:
        return None
    if fact.numbers is not None:
        return fact.numbers.value
    match = _PEAK.search(fact.text)
    return float(match.group("peak").replace(",", "")) if match else None


def rose(fact: Fact) -> bool:
    """Whether the value is at or above its baseline by a known percentage (the sentence's "+N%")."""
    if fact.numbers is not None:
        return fact.numbers.change_pct is not None and fact.numbers.change_pct >= 0
    return "+" in fact.text


def rose_clearly(fact: Fact) -> bool:
    """Whether a metric rose by at least MOVED_PERCENT (or from zero): "+0%" is not a rise."""
    numbers = fact.numbers
    if numbers is None or numbers.value is None:
        return False
    if numbers.change_pct is not None:
        return numbers.change_pct >= MOVED_PERCENT
    return numbers.baseline == 0 and numbers.value > 0


def threshold_not_crossed(fact: Fact) -> bool:
    """Whether the alarm's metric stayed on the safe side of its threshold in the window read."""
    if fact.numbers is not None:
        return fact.numbers.crossed is False
    return "not crossed" in fact.text


def fact_subject(fact: Fact, pattern: re.Pattern[str], group: str) -> str | None:
    """What the fact is about (a function, a service, a usage type)."""
    if fact.subject:
        return fact.subject
    match = pattern.match(fact.text)
    return match.group(group) if match else None


def instance_label(instance: Fact) -> str:
    return instance.subject or instance.text.split(":", 1)[0].replace("EC2 ", "")


def alarm_details(alert: Alert) -> CloudWatchAlarmDetails:
    """The alarm's details; empty ones (every field None) for an alert of another source."""
    return alert.details_of(CloudWatchAlarmDetails) or CloudWatchAlarmDetails()


def metric_peak(facts: Facts, alert: Alert, metric: str) -> float | None:
    """The peak of `metric`: the alarm's own metric fact when the alarm watches it, else the related metric."""
    if alarm_details(alert).metric_name == metric:
        return fact_peak(facts.get("compute.alarm_metric"))
    return fact_peak(facts.get(f"compute.metric.{metric}"))


def as_clause(text: str) -> str:
    """A fact's sentence as a clause of another: without its closing full stop, so sentences join with "; "."""
    return text.rstrip(". ")


# CPU at or above this share is saturated, whatever runs on it (an instance, a database, a group's instances).
CPU_SATURATED_PERCENT = 85


@dataclass
class Finding:
    root_cause: str
    confidence: Confidence
    evidence_keys: list[str] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)
    diagnostics: list[BuiltCommand] = field(default_factory=list)
    # What the finding concludes: a detector that finds nothing wrong says "false_alarm" or "no_problem", so the
    # message is not posted as a page (functions/format reads this field, never the wording).
    verdict: Verdict = "problem"


Detector = Callable[[Alert, Facts], Finding | None]
# What the detectors of `containers_workflows_apis` and `generic` read facts through: `Facts.get`.
FactLookup = Callable[[str], Fact | None]


def alert_resource_name(alert: Alert) -> str:
    return alert.resource.name if alert.resource and alert.resource.name else "the affected resource"


def alert_region(alert: Alert) -> str:
    return alert.region or (alert.resource.region if alert.resource and alert.resource.region else None) or "us-east-1"


def with_facts(sentence: str, facts: Facts, keys: Iterable[str]) -> str:
    """`sentence`, then the text of each fact of `keys` that was gathered, in that order."""
    for key in keys:
        fact = facts.get(key)
        if fact is not None:
            sentence += f"; {as_clause(fact.text)}"
    return sentence


def log_summary(facts: Facts) -> str | None:
    top = facts.get("logs.pattern.1")
    if top is None:  # any other log fact that is not the error count
        top = next((facts.get(k) for k in facts.keys("logs.") if k != "logs.error_count"), None)
    if top is None:
        return None
    return f"the logs show {as_clause(top.text)}"


_TIMEOUT = re.compile(r"timeout (?P<seconds>\d+) s")


def hits_timeout(facts: Facts) -> str | None:
    """ "invocations run into the function's 30 s timeout" when Duration peaks at the configured timeout."""
    config = facts.get("compute.lambda_config")
    seconds: float | None = None
    if config is not None and config.numbers is not None:
        seconds = config.numbers.value
    elif config is not None and (match := _TIMEOUT.search(config.text)):
        seconds = float(match.group("seconds"))
    duration = fact_peak(facts.get("compute.metric.Duration"))
    if seconds is None or duration is None:
        return None
    if duration < seconds * 1000 * 0.95:
        return None
    return f"invocations run into the function's {seconds:g} s timeout (Duration peak {duration:,.0f} ms)"


def log_error_count(facts: Facts) -> float | None:
    return facts.number("logs.error_count")


def alarm_namespace(alert: Alert) -> str | None:
    return alarm_details(alert).namespace


def fact_text(fact: Fact | None) -> str:
    return as_clause(fact.text) if fact is not None else ""


def metric_fact_text(facts: Facts, alert: Alert, metric: str) -> str | None:
    fact = facts.get("compute.alarm_metric") if alarm_details(alert).metric_name == metric else None
    fact = fact or facts.get(f"compute.metric.{metric}")
    return as_clause(fact.text.replace("Alarm metric ", "")) if fact is not None else None


def text_after_colon(fact: Fact) -> str:
    return as_clause(fact.text.split(": ", 1)[-1])


def neighbour_text(fact: Fact) -> str:
    """A neighbour's fact as a clause (its text already starts with the neighbour's name)."""
    return as_clause(fact.text.replace("Alarm metric ", ""))
