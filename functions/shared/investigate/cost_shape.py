"""The shape of a daily cost series: a step that began days ago and stayed, steady creep, a one-day jump, or flat.

A cost that stepped up four days ago and stayed there moves about 1 % day over day, which says nothing; what an
engineer needs is when it began and how much it is against the level before ("since Nov 24, $41.00/day vs $6.00/day
before, +583 %"). Creep (the same growth every day, no single change) is a different mechanism with a different
fix, so the two are told apart here, from the numbers alone.
"""

from __future__ import annotations

import statistics
from datetime import date
from typing import Literal

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.investigate.base import Evidence, money, percent_change, signed_percent
from functions.shared.investigate.cost import CostTrend
from functions.shared.models import Fact, Measurement

ShapeKind = Literal["step_up", "step_down", "jump", "creep", "flat", "irregular"]

# A change smaller than this many dollars a day is noise on any bill.
MIN_STEP_DOLLARS = 1.0
# A level counts as "up" at 1.5 times the one before.
MIN_STEP_RATIO = 1.5
# Within each level, the days stay this close to the level's median, as a share of the step's size.
MAX_LEVEL_WOBBLE = 0.25
# Creep: a straight line explains this share of the variance, and the series grew at least this much.
MIN_CREEP_R2 = 0.85
MIN_CREEP_GROWTH = 0.5


class CostShape(BaseModel):
    """How one series moved over the window. For a step: the first day at the new level and both levels."""

    kind: ShapeKind
    label: str  # the service, or "service / usage type"
    days: int  # the window's length
    onset: date | None = None  # the first day at the new level (step, jump)
    days_at_level: int | None = None  # days since the onset, the onset included
    level_before: float | None = None  # $/day, the median before the onset
    level_after: float | None = None  # $/day, the median from the onset on
    slope_per_day: float | None = None  # creep: dollars added per day
    first: float | None = None
    last: float | None = None

    @property
    def change_pct(self) -> float | None:
        if self.kind == "creep" and self.first is not None and self.last is not None:
            return percent_change(self.last, self.first)
        if self.level_after is None or self.level_before is None:
            return None
        return percent_change(self.level_after, self.level_before)

    @property
    def is_step(self) -> bool:
        return self.kind in ("step_up", "step_down")

    def describe(self) -> str:
        if self.is_step and self.onset is not None:
            verb = "stepped up" if self.kind == "step_up" else "stepped down"
            before = (
                "nothing before (new)"
                if not self.level_before
                else f"{money(self.level_before)}/day before ({signed_percent(self.change_pct)})"
            )
            return (
                f"{self.label} {verb} on {self.onset:%b} {self.onset.day} and stayed: since then "
                f"{money(self.level_after)}/day vs {before}, {self.days_at_level} days at the new level"
            )
        if self.kind == "jump" and self.onset is not None:
            return (
                f"{self.label} jumped from {self.onset:%b} {self.onset.day}: {money(self.level_after)} on the last "
                f"complete day vs {money(self.level_before)}/day before "
                f"({signed_percent(self.change_pct)})"
            )
        if self.kind == "creep":
            return (
                f"{self.label} creeps up steadily, about {money(self.slope_per_day)} more every day for {self.days} "
                f"days ({money(self.first)} to {money(self.last)}, {signed_percent(self.change_pct)}); no single step"
            )
        if self.kind == "flat":
            return f"{self.label} is flat over {self.days} days at about {money(self.level_after)}/day"
        return f"{self.label} moves irregularly over {self.days} days (no step, no steady growth)"

    def measurement(self) -> Measurement:
        """The level now against the level before (for creep: the last day against the first)."""
        if self.kind == "creep":
            return Measurement(
                value=self.last, baseline=self.first, unit="USD", window="1d", change_pct=self.change_pct
            )
        return Measurement(
            value=self.level_after, baseline=self.level_before, unit="USD", window="1d", change_pct=self.change_pct
        )


def _wobble(values: list[float], level: float) -> float:
    return max((abs(v - level) for v in values), default=0.0)


def _best_step(values: list[float]) -> tuple[int, int, float, float] | None:
    """(index of the onset day, full days at the new level, level before, level after) of the clearest step, or
    None.

    A split qualifies when both sides are flat relative to the step between them; among those, the largest step
    wins, then the earliest onset (a long stretch at the new level is the more certain reading).
    """
    best: tuple[float, int, int, float, float] | None = None
    # gap 1: the onset day itself is a partial day between the two levels (the change came mid-day).
    splits = [(gap, split) for gap in (0, 1) for split in range(2, len(values) - gap)]
    for gap, split in splits:
        if best is not None and gap == 1:
            break
        before, after = values[:split], values[split + gap :]
        level_before, level_after = statistics.median(before), statistics.median(after)
        step = abs(level_after - level_before)
        if step < MIN_STEP_DOLLARS:
            continue
        high, low = max(level_after, level_before), min(level_after, level_before)
        if high < low * MIN_STEP_RATIO:
            continue
        if max(_wobble(before, level_before), _wobble(after, level_after)) > MAX_LEVEL_WOBBLE * step:
            continue
        if best is None or step > best[0] + 1e-9:
            best = (step, split, len(after), level_before, level_after)
    return None if best is None else best[1:]


def _line_fit(values: list[float]) -> tuple[float, float]:
    """(slope per day, R²) of the least-squares line through the values."""
    n = len(values)
    xs = list(range(n))
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(values)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True))
    syy = sum((y - mean_y) ** 2 for y in values)
    if sxx == 0 or syy == 0:
        return 0.0, 0.0
    slope = sxy / sxx
    return slope, (sxy * sxy) / (sxx * syy)


def cost_shape(label: str, days: list[date], values: list[float]) -> CostShape:
    """Read the shape of one daily series (oldest first, the last value = the last complete day)."""
    n = len(values)
    shape = CostShape(kind="irregular", label=label, days=n)
    if n < 4 or len(days) != n:
        return shape.model_copy(update={"kind": "flat" if not any(values) else "irregular"})
    shape.first, shape.last = values[0], values[-1]
    step = _best_step(values)
    if step is not None:
        split, full_days, before, after = step
        # One full day at a higher level is a jump, not yet a level that stayed.
        kind: ShapeKind = "step_down" if after < before else ("jump" if full_days < 2 else "step_up")
        return shape.model_copy(
            update={
                "kind": kind,
                "onset": days[split],
                "days_at_level": n - split,
                "level_before": round(before, 2),
                "level_after": round(after, 2),
            }
        )
    slope, r2 = _line_fit(values)
    growth = percent_change(values[-1], values[0])
    if slope > 0 and r2 >= MIN_CREEP_R2 and growth is not None and growth >= MIN_CREEP_GROWTH * 100:
        return shape.model_copy(update={"kind": "creep", "slope_per_day": round(slope, 2)})
    level = statistics.median(values)
    if _wobble(values, level) <= max(MIN_STEP_DOLLARS, 0.2 * abs(level)):
        return shape.model_copy(update={"kind": "flat", "level_after": round(level, 2)})
    return shape


def cost_onset_evidence(trend: CostTrend) -> Evidence:
    """The shape of the top mover's cost (its top usage type's, when that has one): a step with its onset and both
    levels, or creep, as fact `cost.onset`. A jump on the last day is what the top mover's day-over-day change
    already says; a flat or irregular bill adds only a note."""
    evidence = Evidence()
    movers = trend.service_movers()
    if not movers or not any(any(v) for v in trend.by_service.values()):
        return evidence
    top = movers[0]
    candidates: list[tuple[str | None, list[float]]] = []
    usage = [m for m in trend.usage_type_movers() if m.service == top.service and m.usage_type]
    if usage:
        candidates.append((usage[0].usage_type, trend.by_usage_type[top.service][usage[0].usage_type or ""]))
    candidates.append((None, trend.by_service[top.service]))
    for usage_type, values in candidates:
        label = f"{top.service} / {usage_type}" if usage_type else top.service
        shape = cost_shape(label, trend.days, values)
        if shape.kind == "jump":
            return evidence
        if shape.kind in ("flat", "irregular"):
            continue
        evidence.facts.append(
            Fact(
                key="cost.onset",
                text=shape.describe(),
                value=shape.kind,
                subject=usage_type or top.service,
                numbers=shape.measurement(),
                link=console_links.cost_explorer_url(
                    trend.days[0], trend.days[-1], service=top.service, group_by="UsageType"
                ),
            )
        )
        return evidence
    evidence.notes.append(f"{top.service}'s daily cost shows no step and no steady growth over {len(trend.days)} days.")
    return evidence


def steady_total_evidence(trend: CostTrend) -> Evidence:
    """`cost.steady` when the account's daily total is flat over the window: nothing new is being billed, so a
    crossed threshold is the usual spend reaching it (a no-problem verdict the rules can state)."""
    evidence = Evidence()
    totals = trend.totals()
    if len(totals) < 7 or not any(totals):
        return evidence
    shape = cost_shape("The account's daily total", trend.days, totals)
    if shape.kind != "flat":
        return evidence
    evidence.facts.append(
        Fact(
            key="cost.steady",
            text=(
                f"The account's daily total is flat over {len(totals)} days: {money(min(totals))} to "
                f"{money(max(totals))} a day, about {money(shape.level_after)}/day (no step, creep or jump)"
            ),
            value=shape.level_after,
            numbers=Measurement(value=totals[-1], baseline=shape.level_after, unit="USD", window="1d"),
            link=console_links.cost_explorer_url(trend.days[0], trend.days[-1]),
        )
    )
    return evidence
