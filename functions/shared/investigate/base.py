"""What every investigation returns (`Evidence`), its time budget, and the bounds a context section keeps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from functions.shared.errors import AwsReadDeniedError, AwsReadUnavailableError
from functions.shared.investigate.target import Target
from functions.shared.models import ContextSection, Fact

T = TypeVar("T")

MAX_FACTS_PER_SECTION = 10
MAX_SECTION_BYTES = 4_096
MAX_FACT_TEXT_CHARS = 240


class Neighbour(BaseModel):
    """A resource next to the one investigated, and the edge that leads there (what a graph walk follows)."""

    target: Target
    # How it relates, in words a reader follows: "consumer of SQS queue orders (event source mapping)".
    edge: str


class Evidence(BaseModel):
    """Facts found, what was queried, and what could not be read (and why), in the order found."""

    looked_at: list[str] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    # IAM actions that were denied, e.g. "ce:GetCostAndUsage".
    missing_permissions: list[str] = Field(default_factory=list)
    # Reads that failed for another reason (not found, not supported, endpoint down), in words.
    failures: list[str] = Field(default_factory=list)
    # Resources next to the investigated one that a graph walk may follow (`gather_compute.logic.walk_resources`).
    neighbours: list[Neighbour] = Field(default_factory=list)

    def add(self, other: Evidence) -> Evidence:
        self.looked_at.extend(x for x in other.looked_at if x not in self.looked_at)
        self.facts.extend(other.facts)
        self.neighbours.extend(
            n for n in other.neighbours if n.target.key not in {m.target.key for m in self.neighbours}
        )
        self.notes.extend(x for x in other.notes if x not in self.notes)
        self.missing_permissions.extend(x for x in other.missing_permissions if x not in self.missing_permissions)
        self.failures.extend(x for x in other.failures if x not in self.failures)
        return self

    def fact(self, key: str) -> Fact | None:
        return next((f for f in self.facts if f.key == key), None)

    def read(self, what: str, call: Callable[[], T]) -> T | None:
        """Run one read; a denied or failed read becomes a note (and None), throttling propagates.

        Raises:
            GatherThrottledError: the read was throttled (the state machine retries the branch).
        """
        if budget_remaining() == 0:
            self.notes.append(f"Not read: {what} (the time budget was used up).")
            return None
        try:
            return call()
        except AwsReadDeniedError as exc:
            if exc.permission not in self.missing_permissions:
                self.missing_permissions.append(exc.permission)
            self.notes.append(f"Could not read {what}: missing permission {exc.permission}.")
        except AwsReadUnavailableError as exc:
            self.failures.append(f"{what}: {exc}")
            self.notes.append(f"Could not read {what}: {exc}"[:200])
        return None

    def read_resource(self, what: str, call: Callable[[], T | None], *, missing: str) -> T | None:
        """Look one resource up like `read`; when the lookup answered None, note `missing` ("No SQS queue named
        orders") followed by " in this account and region.".

        A read that was denied, failed or skipped for the time budget already says why in its own note, and the
        resource may well exist, so it gets no "missing" note. Only this read's notes count, not earlier ones: an
        unrelated note from an earlier read must not hide that the resource is absent. Every investigator that
        calls this starts from evidence with no notes yet, so this is the same as the `if not evidence.notes`
        check each of them made before.

        Raises:
            GatherThrottledError: the read was throttled (the state machine retries the branch).
        """
        notes_before = len(self.notes)
        found = self.read(what, call)
        if found is None and len(self.notes) == notes_before:
            self.notes.append(f"{missing} in this account and region.")
        return found


# The current time budget (its end on `_budget_clock`), set by `time_budget`; None means unbounded.
_budget_end: ContextVar[float | None] = ContextVar("gather_budget_end", default=None)
_budget_clock: ContextVar[Callable[[], float]] = ContextVar("gather_budget_clock", default=time.monotonic)


@contextmanager
def time_budget(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Bound every `Evidence.read` inside the block: once `seconds` have passed, further reads are skipped (and
    noted) instead of made, so a slow API cannot eat the Lambda's timeout."""
    end_token = _budget_end.set(clock() + seconds)
    clock_token = _budget_clock.set(clock)
    try:
        yield
    finally:
        _budget_end.reset(end_token)
        _budget_clock.reset(clock_token)


def budget_remaining() -> float | None:
    """Seconds left in the current time budget, or None outside one."""
    end = _budget_end.get()
    return None if end is None else max(0.0, end - _budget_clock.get()())


# --- Number formatting -----------------------------------------------------------------------------------------


def money(amount: float | None) -> str:
    if amount is None:
        return "n/a"
    return f"-${abs(amount):,.2f}" if amount < 0 else f"${amount:,.2f}"


def signed_money(amount: float) -> str:
    return ("+" if amount >= 0 else "-") + f"${abs(amount):,.2f}"


def percent_change(new: float, old: float) -> float | None:
    """Relative change in percent; None when the old value is zero (a change from nothing has no percentage)."""
    if old == 0:
        return None
    return (new - old) / abs(old) * 100


def signed_percent(value: float | None) -> str:
    if value is None:
        return "new"
    return f"{value:+,.0f}%"


def number(value: float) -> str:
    """A compact human number: 32000 -> "32,000", 0.25 -> "0.25", 1234.5 -> "1,234.5"."""
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def hhmm(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M")


def when(at: datetime, now: datetime | None = None) -> str:
    """ "19:25 UTC" for a moment within the last 12 hours, else "Nov 24 20:25 UTC"."""
    now = now or datetime.now(UTC)
    at = at.astimezone(UTC)
    if abs((now - at).total_seconds()) < 12 * 3600:
        return at.strftime("%H:%M UTC")
    return at.strftime("%b %d %H:%M UTC")


def parse_aws_time(value: Any) -> datetime | None:
    """A moment as AWS APIs return it, always timezone-aware; None for anything that is not one.

    Accepts a `datetime` (botocore parses most timestamps): a naive one is taken as UTC, an aware one converted to
    UTC. Or an ISO 8601 string, which keeps its own offset: "Z" or a numeric offset with or without its colon
    (Lambda's LastModified is "2026-11-25T19:16:36.479+0000"), fractional seconds of any length (moto writes
    nanoseconds; kept to the microsecond); a string without an offset is UTC. Anything else (None, a number, an
    unparseable string) is None.
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- Sections --------------------------------------------------------------------------------------------------


def _size(section: ContextSection) -> int:
    """The section's size in what a reader sees: the facts' machine-readable numbers ride along outside the budget."""
    data = section.model_dump(mode="json")
    for fact in data["facts"]:
        fact.pop("subject", None)
        fact.pop("numbers", None)
    return len(json.dumps(data, separators=(",", ":")))


def bounded_section(
    section: ContextSection,
    *,
    max_facts: int = MAX_FACTS_PER_SECTION,
    max_bytes: int = MAX_SECTION_BYTES,
) -> ContextSection:
    """Cap a section at `max_facts` facts and `max_bytes` of JSON, saying in its notes what was left out.

    Facts are kept in order (most important first), each text cut to MAX_FACT_TEXT_CHARS.
    """
    facts = [
        f.model_copy(update={"text": f.text if len(f.text) <= MAX_FACT_TEXT_CHARS else f.text[:239] + "…"})
        for f in section.facts
    ]
    dropped = facts[max_facts:]
    kept = facts[:max_facts]
    result = section.model_copy(update={"facts": kept, "notes": list(section.notes)[:6]})
    while _size(result) > max_bytes and result.facts:
        dropped.insert(0, result.facts.pop())
    if dropped:
        keys = ", ".join(f.key for f in dropped[:6]) + (" …" if len(dropped) > 6 else "")
        result.notes.append(f"{len(dropped)} more fact(s) left out to keep this section small: {keys}.")
    while _size(result) > max_bytes and len(result.notes) > 1:
        result.notes.pop(0)
    return result


def section_from(
    name: str,
    evidence: Evidence,
    *,
    started: float,
    clock: Callable[[], float] = time.monotonic,
) -> ContextSection:
    """A section from evidence: "ok" when anything was found or cleanly absent; "error" when reads failed and
    nothing was found; the error names each missing permission precisely."""
    status = "ok"
    error = None
    if not evidence.facts and (evidence.missing_permissions or evidence.failures):
        status = "error"
        parts = []
        if evidence.missing_permissions:
            parts.append("missing permission " + ", ".join(evidence.missing_permissions))
        parts.extend(evidence.failures[:2])
        error = "; ".join(parts)[:300]
    section = ContextSection(
        name=name,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        looked_at=evidence.looked_at[:6],
        facts=evidence.facts,
        notes=evidence.notes,
        error=error,
        duration_ms=int((clock() - started) * 1000),
    )
    return bounded_section(section)


def skipped_section(name: str, reason: str, *, started: float) -> ContextSection:
    return ContextSection(
        name=name,  # type: ignore[arg-type]
        status="skipped",
        notes=[reason],
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def record_section_metrics(section: ContextSection) -> None:
    """CloudWatch EMF metrics for one gather branch: facts found, and whether it failed (section as metadata, so
    concurrent branches sharing one Metrics object in local runs never fight over a dimension)."""
    from aws_lambda_powertools.metrics import MetricUnit

    from functions.shared.observability import metrics

    metrics.add_metadata(key="section", value=section.name)
    metrics.add_metric(name="ContextFacts", unit=MetricUnit.Count, value=len(section.facts))
    metrics.add_metric(name="ContextSectionErrors", unit=MetricUnit.Count, value=int(section.status == "error"))


# A metric that changed less than this around the breach is reported as steady (companion metrics, and the rules
# that explain an alarm by what moved with it: kept here, free of AWS adapters, so the Analyze stage can use them).
MOVED_PERCENT = 25.0


def change_words(fact: Fact) -> str:
    """A metric fact's move in a few words: "+39%", "from zero", "peak 12"."""
    numbers = fact.numbers
    if numbers is None or numbers.value is None:
        return "no change known"
    if numbers.change_pct is not None:
        return signed_percent(numbers.change_pct)
    if numbers.baseline == 0 and numbers.value > 0:
        return "from zero"
    return f"peak {number(numbers.value)}"
