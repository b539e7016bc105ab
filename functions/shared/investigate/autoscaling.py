"""Auto Scaling group evidence: capacity (desired, min, max, in service) and the recent scaling activities with
their status and cause, so "it cannot launch" and "it is at max capacity" are visible.

The facts:
- `compute.asg`: desired/min/max and how many instances are InService; `numbers.value` = in service,
  `numbers.baseline` = desired, `numbers.threshold` = max.
- `compute.asg_at_max`: desired capacity equals the group's maximum: it cannot scale out any further.
- `compute.asg_launch_failed`: the newest failed (or cancelled) scaling activity, its StatusMessage (e.g.
  InsufficientInstanceCapacity, an invalid launch template) and how many failed recently; `value` = the
  activity's StatusCode (an API field).
- `compute.asg_activity`: the newest activity otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.shared import console_links
from functions.shared.adapters.infrastructure import AutoScalingReader
from functions.shared.investigate.base import Evidence, Neighbour, parse_aws_time
from functions.shared.investigate.resources import ago
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

ACTIVITY_WINDOW = timedelta(hours=6)
MAX_INSTANCE_NEIGHBOURS = 2
_FAILED = {"Failed", "Cancelled"}


def asg_evidence(autoscaling: AutoScalingReader, target: Target, *, now: datetime) -> Evidence:
    """The group's capacity, its recent scaling activities, and a couple of its instances as neighbours."""
    evidence = Evidence()
    name = target.name
    evidence.looked_at.append(f"Auto Scaling group {name}: capacity and scaling activities")
    group = evidence.read_resource(
        f"Auto Scaling group {name}", lambda: autoscaling.group(name), missing=f"No Auto Scaling group {name}"
    )
    if group is None:
        return evidence
    desired, minimum, maximum = (int(group.get(k) or 0) for k in ("DesiredCapacity", "MinSize", "MaxSize"))
    instances = group.get("Instances") or []
    in_service = [i for i in instances if i.get("LifecycleState") == "InService"]
    evidence.facts.append(
        Fact(
            key="compute.asg",
            text=(
                f"Auto Scaling group {name}: {len(in_service)} of {desired} desired instances InService "
                f"(min {minimum}, max {maximum})"
            ),
            value=len(in_service),
            subject=name,
            numbers=Measurement(
                value=float(len(in_service)),
                baseline=float(desired),
                threshold=float(maximum),
                unit="instances",
            ),
        )
    )
    if maximum and desired >= maximum:
        evidence.facts.append(
            Fact(
                key="compute.asg_at_max",
                text=f"Auto Scaling group {name} is at its maximum capacity ({maximum}): it cannot scale out further",
                value=maximum,
                subject=name,
                numbers=Measurement(value=float(desired), threshold=float(maximum), unit="instances", crossed=True),
            )
        )
    activities = evidence.read(f"scaling activities of {name}", lambda: autoscaling.scaling_activities(name)) or []
    recent = []
    for activity in activities:
        started = parse_aws_time(activity.get("StartTime"))
        if started is not None and now - ACTIVITY_WINDOW <= started <= now + timedelta(minutes=5):
            recent.append((started, activity))
    recent.sort(key=lambda pair: pair[0], reverse=True)
    failed = [(t, a) for t, a in recent if a.get("StatusCode") in _FAILED]
    if failed:
        started, activity = failed[0]
        # StatusMessage says why (the capacity error, the invalid launch template); Description what was tried.
        message = str(activity.get("StatusMessage") or activity.get("Description") or "")[:160]
        evidence.facts.append(
            Fact(
                key="compute.asg_launch_failed",
                text=(
                    f"{len(failed)} scaling activit{'y' if len(failed) == 1 else 'ies'} of {name} failed in the last "
                    f"{int(ACTIVITY_WINDOW.total_seconds() // 3600)} h; newest {ago(started, now)}: {message}"
                ),
                value=str(activity.get("StatusCode")),
                subject=name,
                numbers=Measurement(value=float(len(failed)), unit="failed activities"),
            )
        )
    elif recent:
        started, activity = recent[0]
        evidence.facts.append(
            Fact(
                key="compute.asg_activity",
                text=(
                    f"Latest scaling activity of {name} {ago(started, now)} ({activity.get('StatusCode')}): "
                    f"{str(activity.get('Description', ''))[:100]}; cause: {str(activity.get('Cause', ''))[:100]}"
                ),
                value=str(activity.get("StatusCode")),
                subject=name,
            )
        )
    else:
        evidence.notes.append(f"No scaling activity of {name} in the last 6 h.")
    link = console_links.auto_scaling_group_url(name, target.region)
    for fact in evidence.facts:  # the group's page: its capacity and activity history
        fact.link = fact.link or link
    for instance in in_service[:MAX_INSTANCE_NEIGHBOURS]:
        instance_id = str(instance.get("InstanceId", ""))
        if instance_id.startswith("i-"):
            evidence.neighbours.append(
                Neighbour(
                    target=Target.of("ec2", instance_id, target.region),
                    edge=f"InService instance of Auto Scaling group {name}",
                )
            )
    return evidence
