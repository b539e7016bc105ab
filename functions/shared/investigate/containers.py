"""ECS evidence: a service's counts, deployments, events and recently stopped tasks; a cluster's capacity.

What an SRE opens first when an ECS alarm fires: is the service running what it should (running vs desired), did
a deployment just start (which task definition revision, how long ago, is its rollout failing), what ECS itself
says (service events: "unable to place a task", "has reached a steady state"), and why tasks stopped (stopCode,
stoppedReason, each container's exit code and reason). The interpreters at the end turn those API fields into
structured findings (`compute.finding.*`) that the rules and the model both read:

- crash loop after a deploy: the PRIMARY deployment is recent and its tasks stop with a non-zero exit code;
- out of memory: a container exited with 137 (SIGKILL) or its reason says OutOfMemory;
- placement failure: ECS reports it cannot place tasks (insufficient CPU / memory on the cluster's instances);
- tasks failing to start: stopCode TaskFailedToStart (CannotPullContainerError, ResourceInitializationError).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from functions.shared import console_links
from functions.shared.adapters.containers import EcsReader
from functions.shared.investigate.base import Evidence, Neighbour, parse_aws_time
from functions.shared.investigate.resources import ago
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

# A deployment this recent is "what changed" (the same window the Lambda investigator uses).
RECENT_DEPLOY = timedelta(hours=24)
# ECS keeps a stopped task about an hour; events older than that are history, not the incident.
RECENT_EVENTS = timedelta(hours=1)
MAX_EVENTS_SHOWN = 3
# A cluster alarm follows at most this many of its services (those furthest below their desired count).
MAX_SHORT_SERVICES = 2
# Exit code 137 is 128 + SIGKILL: the kernel's OOM killer (or ECS after the stop timeout) killed the process.
OOM_EXIT_CODE = 137
# ECS's own service-event wording (fixed strings of the ECS scheduler, not of any application).
_PLACEMENT = re.compile(r"was unable to place a task", re.IGNORECASE)
_STEADY = re.compile(r"has reached a steady state", re.IGNORECASE)
DELIBERATE_STOPS = ("ServiceSchedulerInitiated", "UserInitiated", "SpotInterruption", "TerminationNotice")
_OOM_REASON = re.compile(r"OutOfMemory|OOM", re.IGNORECASE)
_TASK_ID = re.compile(r"\((task|container-instance) [0-9a-f]{8,}\)")
# ECS's placement event names what the closest instance lacks: "has insufficient memory available".
_INSUFFICIENT = re.compile(r"has insufficient (?P<resource>[A-Za-z ]+?) available", re.IGNORECASE)
_GUIDE_POINTER = re.compile(r"\s*For more information, see the Troubleshooting section[^.]*\.", re.IGNORECASE)


def _revision(task_definition_arn: str | None) -> str:
    """ "orders-api:43" from a task definition ARN."""
    if not task_definition_arn:
        return "?"
    return task_definition_arn.rsplit("/", 1)[-1]


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def ecs_service_evidence(
    ecs: EcsReader, cluster: str | None, service: str, *, now: datetime, region: str | None
) -> Evidence:
    """The service's counts, deployments, latest events, recently stopped tasks and task definition, with the
    interpreters' findings."""
    evidence = Evidence()
    cluster_name = cluster or "default"
    evidence.looked_at.append(f"ECS service {service} (cluster {cluster_name}): deployments, events, stopped tasks")
    described = evidence.read_resource(
        f"ECS service {service}",
        lambda: ecs.service(cluster_name, service),
        missing=f"No ECS service {service} in cluster {cluster_name}",
    )
    if described is None:
        return evidence
    desired = _int(described.get("desiredCount")) or 0
    running = _int(described.get("runningCount")) or 0
    pending = _int(described.get("pendingCount")) or 0
    capacity = ", ".join(
        str(p.get("capacityProvider")) for p in described.get("capacityProviderStrategy") or [] if p
    ) or str(described.get("launchType") or "EC2")
    task_definition = evidence.read(
        f"task definition {_revision(described.get('taskDefinition'))}",
        lambda: ecs.task_definition(str(described.get("taskDefinition"))),
    )
    sizing = _sizing(task_definition)
    evidence.facts.append(
        Fact(
            key="compute.ecs.service",
            text=(
                f"ECS service {service} (cluster {cluster_name}, {capacity}): running {running} of {desired} "
                f"desired, {pending} pending; task definition {_revision(described.get('taskDefinition'))}"
                + (f" ({sizing})" if sizing else "")
            ),
            value=running,
            subject=service,
            numbers=Measurement(value=float(running), baseline=float(desired), unit="tasks"),
        )
    )
    primary = _deployments(evidence, service, described.get("deployments") or [], now)
    _events(evidence, service, described.get("events") or [], now)
    stopped = evidence.read(f"stopped tasks of {service}", lambda: ecs.stopped_tasks(cluster_name, service)) or []
    _stopped_tasks(evidence, service, stopped, now)
    _log_group(evidence, service, task_definition)
    _interpret(evidence, service, primary, stopped, task_definition, running=running, desired=desired, now=now)
    _link(evidence, console_links.ecs_service_url(cluster_name, service, region))
    return evidence


def ecs_cluster_evidence(ecs: EcsReader, cluster: str, *, now: datetime, region: str | None) -> Evidence:
    """The cluster's registered instances, running and pending tasks, capacity providers and stopped tasks."""
    evidence = Evidence()
    evidence.looked_at.append(f"ECS cluster {cluster}: capacity and stopped tasks")
    described = evidence.read_resource(
        f"ECS cluster {cluster}", lambda: _active_cluster(ecs.cluster(cluster)), missing=f"No ECS cluster {cluster}"
    )
    if described is None:
        return evidence
    instances = _int(described.get("registeredContainerInstancesCount")) or 0
    running = _int(described.get("runningTasksCount")) or 0
    pending = _int(described.get("pendingTasksCount")) or 0
    providers = ", ".join(str(p) for p in described.get("capacityProviders") or []) or "none"
    evidence.facts.append(
        Fact(
            key="compute.ecs.cluster",
            text=(
                f"ECS cluster {cluster}: {instances} container instance(s), {running} running and {pending} pending "
                f"task(s); capacity providers {providers}"
            ),
            value=pending,
            subject=cluster,
            numbers=Measurement(value=float(pending), unit="pending tasks"),
        )
    )
    _short_services(evidence, ecs, cluster, region)
    stopped = evidence.read(f"stopped tasks of cluster {cluster}", lambda: ecs.stopped_tasks(cluster, None)) or []
    _stopped_tasks(evidence, cluster, stopped, now)
    _interpret(evidence, cluster, None, stopped, None, running=running, desired=running + pending, now=now)
    _link(evidence, console_links.ecs_cluster_url(cluster, region))
    return evidence


def _active_cluster(described: dict[str, Any] | None) -> dict[str, Any] | None:
    """The described cluster, or None for a deleted one: DescribeClusters still answers for a deleted cluster for a
    while, as INACTIVE, and there is nothing left in it to investigate."""
    if described is None or described.get("status") == "INACTIVE":
        return None
    return described


def _link(evidence: Evidence, url: str) -> None:
    """Every fact links the console page where its evidence is (the service's or cluster's)."""
    for fact in evidence.facts:
        fact.link = fact.link or url


def _short_services(evidence: Evidence, ecs: EcsReader, cluster: str, region: str | None) -> None:
    """The cluster's services that run fewer tasks than desired become neighbours (most tasks short first): a
    cluster's capacity alarm is about the services that cannot get their tasks placed."""
    services = evidence.read(f"services of cluster {cluster}", lambda: ecs.services(cluster)) or []
    short = [
        (desired - running, s)
        for s in services
        if (desired := _int(s.get("desiredCount")) or 0) > (running := _int(s.get("runningCount")) or 0)
    ]
    short.sort(key=lambda pair: -pair[0])
    for missing, service in short[:MAX_SHORT_SERVICES]:
        name = str(service.get("serviceName") or "")
        if name:
            evidence.neighbours.append(
                Neighbour(
                    target=Target.of("ecs_service", name, region, qualifiers={"ClusterName": cluster}),
                    edge=f"service of ECS cluster {cluster} running {missing} task(s) fewer than desired",
                )
            )


def _sizing(task_definition: dict[str, Any] | None) -> str:
    if not task_definition:
        return ""
    parts = []
    if task_definition.get("cpu"):
        parts.append(f"cpu {task_definition['cpu']}")
    if task_definition.get("memory"):
        parts.append(f"memory {task_definition['memory']} MiB")
    limits = [
        f"{c.get('name')} {c.get('memory')} MiB"
        for c in task_definition.get("containerDefinitions") or []
        if c.get("memory")
    ]
    if limits and not task_definition.get("memory"):
        parts.append("container memory " + ", ".join(limits[:2]))
    return ", ".join(parts)


def _deployments(evidence: Evidence, service: str, deployments: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The PRIMARY deployment (and the ACTIVE one it replaces) as facts; returns the PRIMARY one."""
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    if not primary:
        return {}
    created = parse_aws_time(primary.get("createdAt"))
    previous = [d for d in deployments if d.get("status") == "ACTIVE"]
    rollout = primary.get("rolloutState") or "unknown"
    failed = _int(primary.get("failedTasks")) or 0
    text = (
        f"Deployment of {_revision(primary.get('taskDefinition'))} (PRIMARY, rollout {rollout})"
        + (f" started {ago(created, now)}" if created else "")
        + f": {_int(primary.get('runningCount')) or 0} of {_int(primary.get('desiredCount')) or 0} tasks running"
        + (f", {failed} failed task(s)" if failed else "")
    )
    if previous:
        old = previous[0]
        text += (
            f"; replacing {_revision(old.get('taskDefinition'))} (ACTIVE, {_int(old.get('runningCount')) or 0} running)"
        )
    minutes = int((now - created).total_seconds() // 60) if created else None
    evidence.facts.append(
        Fact(
            key="compute.ecs.deployment",
            text=text,
            value=rollout,
            subject=_revision(primary.get("taskDefinition")),
            numbers=Measurement(value=float(failed), unit="failed tasks", window=f"{minutes}m" if minutes else None),
        )
    )
    if created is not None and now - created < RECENT_DEPLOY and previous:
        evidence.facts.append(
            Fact(
                key="compute.recent_change",
                text=(
                    f"Recent change: {service} deployed task definition {_revision(primary.get('taskDefinition'))} "
                    f"{ago(created, now)} (was {_revision(previous[0].get('taskDefinition'))})"
                ),
                value=minutes,
                subject=service,
            )
        )
    return primary


def _events(evidence: Evidence, service: str, events: list[dict[str, Any]], now: datetime) -> None:
    recent = []
    for event in events:
        at = parse_aws_time(event.get("createdAt"))
        if at is not None and now - at <= RECENT_EVENTS:
            recent.append((at, str(event.get("message") or "")))
    recent.sort(key=lambda pair: pair[0], reverse=True)
    if not recent:
        return
    shown: list[str] = []
    for _at, message in recent:
        # The ids and the pointer to the guide are the same in every event: what differs is kept.
        generic = _GUIDE_POINTER.sub("", _TASK_ID.sub(lambda m: f"({m.group(1)} …)", message))
        if generic not in shown:
            shown.append(generic)
        if len(shown) >= MAX_EVENTS_SHOWN:
            break
    placement = [m for _, m in recent if _PLACEMENT.search(m)]
    steady = bool(_STEADY.search(recent[0][1]))
    evidence.facts.append(
        Fact(
            key="compute.ecs.events",
            text=f"ECS events for {service} (latest first, {ago(recent[0][0], now)}): " + " | ".join(shown),
            value="steady" if steady else ("placement_failure" if placement else "changing"),
            subject=service,
            numbers=Measurement(value=float(len(placement)), unit="placement failures", window="1h"),
        )
    )


def _exit_reason(task: dict[str, Any]) -> tuple[str | None, int | None, str]:
    """(container name, exit code, reason) of the task's container that explains its stop (non-zero exit first)."""
    containers = task.get("containers") or []
    ranked = sorted(containers, key=lambda c: (_int(c.get("exitCode")) in (None, 0), not c.get("reason")))
    if not ranked:
        return None, None, ""
    first = ranked[0]
    return first.get("name"), _int(first.get("exitCode")), str(first.get("reason") or "")


def _stopped_tasks(evidence: Evidence, owner: str, tasks: list[dict[str, Any]], now: datetime) -> None:
    if not tasks:
        evidence.notes.append(f"No recently stopped tasks for {owner}.")
        return
    reasons = Counter(str(t.get("stoppedReason") or t.get("stopCode") or "no reason given") for t in tasks)
    exits = Counter(_exit_reason(t)[1] for t in tasks)
    newest = parse_aws_time(tasks[0].get("stoppedAt"))
    top_reason, top_count = reasons.most_common(1)[0]
    name, code, why = next(
        (_exit_reason(t) for t in tasks if _exit_reason(t)[1] == exits.most_common(1)[0][0]), _exit_reason(tasks[0])
    )
    detail = f"container {name} exit code {code}" if code is not None else f"container {name}"
    if why:
        detail += f": {why[:120]}"
    evidence.facts.append(
        Fact(
            key="compute.ecs.stopped_tasks",
            text=(
                f"{len(tasks)} task(s) of {owner} stopped recently"
                + (f" (newest {ago(newest, now)})" if newest else "")
                + f": {top_count}x {top_reason[:120]} ({detail}); stop code {tasks[0].get('stopCode') or '?'}, "
                f"task definition {_revision(tasks[0].get('taskDefinitionArn'))}"
            ),
            value=len(tasks),
            subject=owner,
            numbers=Measurement(value=float(len(tasks)), unit="stopped tasks", window="1h"),
        )
    )
    if code is not None:
        evidence.facts.append(
            Fact(
                key="compute.ecs.exit_code",
                text=f"Container {name} of {owner} exited with code {code} in {exits[code]} of {len(tasks)} "
                f"stopped task(s)" + (f" ({why[:120]})" if why else ""),
                value=code,
                subject=name,
                numbers=Measurement(value=float(code), unit="exit code"),
            )
        )


def _log_group(evidence: Evidence, service: str, task_definition: dict[str, Any] | None) -> None:
    """The containers' awslogs group (where the application's own error lines are), for the next steps."""
    for container in (task_definition or {}).get("containerDefinitions") or []:
        config = container.get("logConfiguration") or {}
        group = (config.get("options") or {}).get("awslogs-group")
        if config.get("logDriver") == "awslogs" and group:
            evidence.facts.append(
                Fact(
                    key="compute.ecs.log_group",
                    text=f"{service}'s container {container.get('name')} logs to {group} (awslogs)",
                    value=str(group),
                    subject=str(group),
                )
            )
            return


def _interpret(
    evidence: Evidence,
    owner: str,
    primary: dict[str, Any] | None,
    stopped: list[dict[str, Any]],
    task_definition: dict[str, Any] | None,
    *,
    running: int,
    desired: int,
    now: datetime,
) -> None:
    """Structured findings from the API fields read above (most specific first; each stands alone)."""
    placement = evidence.fact("compute.ecs.events")
    if placement is not None and placement.numbers is not None and (placement.numbers.value or 0) > 0:
        lacking = _INSUFFICIENT.search(placement.text)
        short_of = f"insufficient {lacking.group('resource').lower()}" if lacking else "not enough CPU or memory"
        evidence.facts.append(
            Fact(
                key="compute.finding.placement_failure",
                text=(
                    f"Placement failure: {int(placement.numbers.value or 0)} 'unable to place' event(s) for "
                    f"{owner} in the last hour, the closest container instance has {short_of} for what the task "
                    f"definition reserves; running {running} of {desired} desired"
                ),
                value="placement_failure",
                subject=owner,
                numbers=Measurement(value=float(running), baseline=float(desired), unit="tasks"),
            )
        )
    # A task ECS or someone stopped on purpose (a deploy replacing it, a scale-in, a Spot reclaim) exits 143 or 137
    # from the SIGTERM / SIGKILL it was sent: that exit code says nothing about the application.
    exited = [t for t in stopped if t.get("stopCode") not in DELIBERATE_STOPS]
    exits = [_exit_reason(t) for t in exited]
    oom = [e for e in exits if e[1] == OOM_EXIT_CODE or _OOM_REASON.search(e[2])]
    oom += [e for t in stopped if t not in exited and _OOM_REASON.search((e := _exit_reason(t))[2])]
    failed_start = [t for t in stopped if t.get("stopCode") == "TaskFailedToStart"]
    crashed = [e for e in exits if e[1] not in (None, 0)]
    memory = (task_definition or {}).get("memory")
    if oom:
        evidence.facts.append(
            Fact(
                key="compute.finding.oom_killed",
                text=(
                    f"Out of memory: {len(oom)} of {len(stopped)} stopped task(s) of {owner} had container "
                    f"{oom[0][0]} killed (exit code {oom[0][1]}"
                    + (f", {oom[0][2][:80]}" if oom[0][2] else "")
                    + ")"
                    + (f"; the task has {memory} MiB" if memory else "")
                ),
                value=len(oom),
                subject=oom[0][0],
                numbers=Measurement(value=float(len(oom)), unit="tasks", threshold=float(OOM_EXIT_CODE)),
            )
        )
    if failed_start:
        reason = str(failed_start[0].get("stoppedReason") or "")[:160]
        evidence.facts.append(
            Fact(
                key="compute.finding.failed_to_start",
                text=f"Tasks fail to start: {len(failed_start)} of {len(stopped)} stopped task(s) of {owner} have "
                f"stop code TaskFailedToStart ({reason})",
                value=len(failed_start),
                subject=owner,
                numbers=Measurement(value=float(len(failed_start)), unit="tasks"),
            )
        )
    created = parse_aws_time((primary or {}).get("createdAt"))
    new_revision = _revision((primary or {}).get("taskDefinition"))
    crashed_new = [
        t
        for t in exited
        if _revision(t.get("taskDefinitionArn")) == new_revision and _exit_reason(t)[1] not in (None, 0)
    ]
    if created is not None and now - created < RECENT_DEPLOY and crashed_new and not oom:
        name, code, why = _exit_reason(crashed_new[0])
        evidence.facts.append(
            Fact(
                key="compute.finding.crash_loop",
                text=(
                    f"Crash loop after a deploy: {len(crashed_new)} task(s) of {new_revision}, deployed "
                    f"{ago(created, now)}, stopped with container {name} exit code {code}"
                    + (f" ({why[:80]})" if why else "")
                    + f"; running {running} of {desired} desired"
                ),
                value=int((now - created).total_seconds() // 60),
                subject=new_revision,
                numbers=Measurement(value=float(len(crashed_new)), baseline=float(desired), unit="tasks"),
            )
        )
    elif crashed and not oom and not failed_start:
        name, code, why = crashed[0]
        evidence.facts.append(
            Fact(
                key="compute.finding.tasks_exiting",
                text=f"Tasks exiting: {len(crashed)} of {len(stopped)} stopped task(s) of {owner} ended with "
                f"container {name} exit code {code}" + (f" ({why[:80]})" if why else ""),
                value=len(crashed),
                subject=name,
                numbers=Measurement(value=float(len(crashed)), unit="tasks"),
            )
        )
