"""The rules for databases, load balancers and Auto Scaling groups: each type's mechanism and its own playbook, and
none of them when the evidence does not show it."""

from __future__ import annotations

from functions.analyze.rules import analyze_with_rules
from functions.shared.models import Alert, AnalysisBody, ContextSection, Fact, GatheredContext, Measurement, ResourceRef
from tests.support.gather_fakes import NOW, alarm_alert


def _context(*facts: Fact) -> GatheredContext:
    return GatheredContext(compute=ContextSection(name="compute", status="ok", facts=list(facts)))


def _alarm(metric: str, namespace: str, dimensions: dict[str, str], resource: ResourceRef | None = None) -> Alert:
    alert = alarm_alert(metric, namespace, dimensions, threshold=80)
    return alert.model_copy(update={"resource": resource}) if resource else alert


def _metric(metric: str, peak: float, baseline: float, *, key: str | None = None) -> Fact:
    """A metric that rose from its baseline to a peak that crossed the alarm's threshold (half way up)."""
    change = (peak - baseline) / baseline * 100 if baseline else None
    threshold = (peak + baseline) / 2
    return Fact(
        key=key or f"compute.metric.{metric}",
        text=f"{metric} (Average/5m): peak {peak:g} vs baseline {baseline:g}",
        value=peak,
        subject=metric,
        numbers=Measurement(value=peak, baseline=baseline, change_pct=change, threshold=threshold, crossed=True),
    )


def _analyse(alert: Alert, *facts: Fact) -> AnalysisBody:
    return analyze_with_rules(alert, _context(*facts), now=NOW)


DB = ResourceRef(type="AWS::RDS::DBInstance", name="orders-db", region="us-east-1")
DB_INSTANCE = Fact(
    key="compute.db_instance",
    text="RDS orders-db: postgres 16.3, db.r6g.large, Multi-AZ, 200 GiB gp3",
    value="available",
    subject="orders-db",
)


def test_a_database_cpu_alarm_gets_the_database_playbook_never_the_ec2_one() -> None:
    # Given CPUUtilization at 97 % on an RDS instance
    alert = _alarm("CPUUtilization", "AWS/RDS", {"DBInstanceIdentifier": "orders-db"}, DB)
    cpu = _metric("CPUUtilization", 97, 30, key="compute.alarm_metric")

    # When the rules run
    analysis = _analyse(alert, cpu, DB_INSTANCE)

    # Then the finding is about the database, with RDS commands and database advice only
    assert "CPU saturation on database orders-db" in analysis.root_cause
    text = " ".join([analysis.root_cause, *analysis.recommendations, *analysis.diagnostics])
    assert "describe-instance-status" not in text and "Auto Scaling" not in text
    assert any(
        d.startswith("aws rds describe-db-instances --db-instance-identifier orders-db") for d in analysis.diagnostics
    )
    assert any("aws rds describe-events --source-type db-instance" in d for d in analysis.diagnostics)


def test_an_ec2_cpu_alarm_still_gets_the_instance_playbook() -> None:
    alert = _alarm("CPUUtilization", "AWS/EC2", {"InstanceId": "i-0c1d2e3f4a5b6c7d8"})
    analysis = _analyse(alert, _metric("CPUUtilization", 99, 35, key="compute.alarm_metric"))
    assert analysis.root_cause.startswith("CPU saturation on")
    assert "database" not in analysis.root_cause
    assert any("ec2 describe-instance-status" in d for d in analysis.diagnostics)
    assert not any(d.startswith("aws rds") for d in analysis.diagnostics)


def test_connections_at_max_name_the_caller_whose_concurrency_surged() -> None:
    alert = _alarm("DatabaseConnections", "AWS/RDS", {"DBInstanceIdentifier": "orders-db"}, DB)
    near = Fact(
        key="compute.db_connections_near_max",
        text="orders-db: DatabaseConnections peaked at 447, 99% of max_connections 450",
        value=99.3,
        subject="orders-db",
        numbers=Measurement(value=447, threshold=450, unit="connections"),
    )
    callers = Fact(
        key="compute.db_callers",
        text="orders-db is called by Lambda Repricer (ConcurrentExecutions peak 420 vs usually 9), OrdersApi",
        value=2,
        subject="Repricer",
        numbers=Measurement(value=420, baseline=9, unit="concurrent executions"),
    )
    analysis = _analyse(alert, _metric("DatabaseConnections", 447, 58, key="compute.alarm_metric"), near, callers)
    assert analysis.root_cause.startswith("Database connections exhausted")
    assert "fan-out of Repricer" in analysis.root_cause
    assert analysis.confidence == "high"


def test_many_connections_below_the_limit_are_not_called_exhausted() -> None:
    # No near-max fact: the investigation found the connections well under max_connections
    alert = _alarm("DatabaseConnections", "AWS/RDS", {"DBInstanceIdentifier": "orders-db"}, DB)
    analysis = _analyse(alert, _metric("DatabaseConnections", 180, 60, key="compute.alarm_metric"), DB_INSTANCE)
    assert "exhausted" not in analysis.root_cause


def test_storage_running_out_is_named_with_the_low_storage_event() -> None:
    alert = _alarm("FreeStorageSpace", "AWS/RDS", {"DBInstanceIdentifier": "orders-db"}, DB)
    low = Fact(
        key="compute.db_storage_low",
        text="orders-db: FreeStorageSpace down to 3.4 GiB of 200 GiB (1.7% free); storage autoscaling is off",
        value=1.7,
        subject="orders-db",
    )
    event = Fact(
        key="compute.db_event", text="RDS event on orders-db 4 min ago (low storage): ...", value="low storage"
    )
    analysis = _analyse(alert, low, event, DB_INSTANCE)
    assert analysis.root_cause.startswith("The database is running out of storage")
    assert "autoscaling is off" in analysis.root_cause and "low storage" in analysis.root_cause


def test_a_recent_failover_explains_a_blip_and_an_old_one_does_not() -> None:
    alert = _alarm("WriteLatency", "AWS/RDS", {"DBInstanceIdentifier": "orders-db"}, DB)

    def event(minutes_ago: float) -> Fact:
        return Fact(
            key="compute.db_event",
            text=f"RDS event on orders-db {minutes_ago:g} min ago (failover): Multi-AZ instance failover completed.",
            value="failover",
            numbers=Measurement(value=minutes_ago, unit="minutes ago"),
        )

    recent = _analyse(alert, _metric("WriteLatency", 0.9, 0.004, key="compute.alarm_metric"), event(9))
    assert "failover event explains the WriteLatency blip" in recent.root_cause
    old = _analyse(alert, _metric("WriteLatency", 0.9, 0.004, key="compute.alarm_metric"), event(300))
    assert "failover" not in old.root_cause


def test_every_target_unhealthy_names_the_reason_code_and_reads_target_health() -> None:
    alert = _alarm("HTTPCode_ELB_5XX_Count", "AWS/ApplicationELB", {"LoadBalancer": "app/shop/50dc6c495c0c9188"})
    unhealthy = Fact(
        key="compute.lb_all_targets_unhealthy",
        text="No healthy target in target group shop-web: 3 of 3 report Target.Timeout",
        value="Target.Timeout",
        subject="targetgroup/shop-web/0123456789abcdef",
    )
    analysis = _analyse(alert, _metric("HTTPCode_ELB_5XX_Count", 900, 0, key="compute.alarm_metric"), unhealthy)
    assert "Target.Timeout" in analysis.root_cause and "no target to route to" in analysis.root_cause
    assert analysis.diagnostics[0] == (
        "aws elbv2 describe-target-health --target-group-arn "
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-web/0123456789abcdef --region us-east-1"
    )
    assert any("describe-listeners" in d for d in analysis.diagnostics)


def test_5xx_from_the_targets_blame_the_application_not_the_load_balancer() -> None:
    alert = _alarm("HTTPCode_ELB_5XX_Count", "AWS/ApplicationELB", {"LoadBalancer": "app/shop/50dc6c495c0c9188"})
    origin = Fact(
        key="compute.lb_5xx_origin",
        text="5XX on shop, last 30 min: HTTPCode_ELB_5XX_Count peak 2 vs HTTPCode_Target_5XX_Count peak 800",
        value="targets",
        numbers=Measurement(value=2, baseline=800),
    )
    analysis = _analyse(alert, _metric("HTTPCode_ELB_5XX_Count", 60, 0, key="compute.alarm_metric"), origin)
    assert analysis.root_cause.startswith("The application behind")
    origin_lb = origin.model_copy(update={"value": "load_balancer"})
    analysis = _analyse(alert, _metric("HTTPCode_ELB_5XX_Count", 60, 0, key="compute.alarm_metric"), origin_lb)
    assert "itself returns the 5XX" in analysis.root_cause


def test_an_nlb_alarm_gets_no_alb_commands() -> None:
    alert = _alarm("UnHealthyHostCount", "AWS/NetworkELB", {"LoadBalancer": "net/ingest/50dc6c495c0c9188"})
    analysis = _analyse(alert, _metric("UnHealthyHostCount", 2, 0, key="compute.alarm_metric"))
    listeners = [d for d in analysis.diagnostics if "describe-listeners" in d]
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/ingest/50dc6c495c0c9188"
    assert listeners == [f"aws elbv2 describe-listeners --load-balancer-arn {arn} --region us-east-1"]


def test_a_group_that_cannot_launch_is_named_with_the_failed_activity() -> None:
    alert = _alarm("CPUUtilization", "AWS/EC2", {"AutoScalingGroupName": "workers"})
    group = Fact(
        key="compute.asg", text="Auto Scaling group workers: 3 of 8 desired instances InService", subject="workers"
    )
    failed = Fact(
        key="compute.asg_launch_failed",
        text="3 scaling activities of workers failed in the last 6 h; newest 2 min ago: insufficient capacity",
        value="Failed",
        subject="workers",
    )
    analysis = _analyse(alert, _metric("CPUUtilization", 96, 48, key="compute.alarm_metric"), group, failed)
    assert analysis.root_cause.startswith("Auto Scaling group workers cannot launch instances")
    assert any(
        "autoscaling describe-scaling-activities --auto-scaling-group-name workers" in d for d in analysis.diagnostics
    )
    assert not any("describe-instance-status" in d for d in analysis.diagnostics)


def test_a_busy_group_that_scales_fine_gets_the_scaling_policy_advice_not_the_instance_playbook() -> None:
    alert = _alarm("CPUUtilization", "AWS/EC2", {"AutoScalingGroupName": "workers"})
    group = Fact(
        key="compute.asg", text="Auto Scaling group workers: 6 of 6 desired instances InService", subject="workers"
    )
    analysis = _analyse(alert, _metric("CPUUtilization", 92, 50, key="compute.alarm_metric"), group)
    assert analysis.root_cause.startswith("CPU saturation across Auto Scaling group workers")
    assert not any("Put the instance behind" in r for r in analysis.recommendations)


def test_a_healthy_database_metric_is_a_no_problem_verdict() -> None:
    # The alarm fired on missing data; nothing in the evidence shows trouble
    alert = _alarm(
        "DatabaseConnections",
        "AWS/RDS",
        {"DBInstanceIdentifier": "orders-db"},
        DB,
    ).model_copy()
    not_crossed = Fact(
        key="compute.alarm_metric",
        text="Alarm metric DatabaseConnections: peak 40 vs baseline 41; threshold 80 not crossed",
        value=40,
        numbers=Measurement(value=40, baseline=41, threshold=80, crossed=False),
    )
    analysis = _analyse(alert, not_crossed, DB_INSTANCE)
    assert analysis.root_cause.startswith("No sign of a problem on orders-db")


def _group_health(healthy: int, total: int) -> Fact:
    return Fact(
        key="compute.lb_target_health",
        text=f"Target group mqtt (instance targets, TCP:8883): {healthy} of {total} targets healthy",
        value=healthy,
        subject="mqtt",
        numbers=Measurement(value=healthy, baseline=total, unit="targets healthy"),
    )


def test_one_unhealthy_target_is_named_with_its_host_checks() -> None:
    alert = _alarm("UnHealthyHostCount", "AWS/NetworkELB", {"LoadBalancer": "net/ingest/50dc6c495c0c9188"})
    edge = "unhealthy target of target group mqtt"
    instance = Fact(key="compute.instance", text="EC2 i-03a4b5c6d7e8f90a3 (broker-3): state running", via=edge)
    checks = Fact(key="compute.status_checks", text="Status checks: system ok, instance ok", value="ok/ok", via=edge)
    analysis = _analyse(
        alert, _metric("UnHealthyHostCount", 1, 0, key="compute.alarm_metric"), _group_health(3, 4), instance, checks
    )
    assert analysis.root_cause.startswith("Targets fail their health check")
    assert "3 of 4 targets healthy" in analysis.root_cause and "broker-3" in analysis.root_cause
    assert "the service on it fails, not the host" in analysis.root_cause


def test_all_targets_healthy_again_names_no_failing_target() -> None:
    alert = _alarm("UnHealthyHostCount", "AWS/NetworkELB", {"LoadBalancer": "net/ingest/50dc6c495c0c9188"})
    analysis = _analyse(alert, _metric("UnHealthyHostCount", 1, 0, key="compute.alarm_metric"), _group_health(4, 4))
    assert "fail their health check" not in analysis.root_cause


def test_spent_cpu_credits_explain_a_burstable_databases_latency() -> None:
    alert = _alarm("ReadLatency", "AWS/RDS", {"DBInstanceIdentifier": "orders-db"}, DB)
    credits = Fact(
        key="compute.db_cpu_credits_exhausted",
        text="orders-db: CPUCreditBalance down to 0.4 from 144: the burstable db.t3.large is held to its baseline CPU",
        value=0.4,
        numbers=Measurement(value=0.4, baseline=144, threshold=5),
    )
    analysis = _analyse(alert, _metric("ReadLatency", 0.4, 0.003, key="compute.alarm_metric"), credits)
    assert analysis.root_cause.startswith("CPU credits exhausted on database orders-db")
    # Without the credits fact, a latency alarm is not blamed on credits
    analysis = _analyse(alert, _metric("ReadLatency", 0.4, 0.003, key="compute.alarm_metric"), DB_INSTANCE)
    assert "credits" not in analysis.root_cause


def test_an_instance_its_group_runs_gets_the_groups_scaling_advice() -> None:
    alert = _alarm("CPUUtilization", "AWS/EC2", {"InstanceId": "i-0c1d2e3f4a5b6c7d8"})
    group = Fact(
        key="compute.asg",
        text="Auto Scaling group web-asg: 4 of 4 desired instances InService (min 2, max 4)",
        subject="web-asg",
        via="Auto Scaling group web-asg, which runs i-0c1d2e3f4a5b6c7d8",
    )
    analysis = _analyse(alert, _metric("CPUUtilization", 99, 35, key="compute.alarm_metric"), group)
    assert any("web-asg's scaling policy" in r for r in analysis.recommendations)
    assert not any("Put the instance behind" in r for r in analysis.recommendations)


def test_rising_target_response_time_is_slow_targets_and_a_flat_one_is_not() -> None:
    alert = _alarm("TargetResponseTime", "AWS/ApplicationELB", {"LoadBalancer": "app/shop/50dc6c495c0c9188"})
    requests = _metric("RequestCount", 2400, 1000)
    rising = _analyse(alert, _metric("TargetResponseTime", 2.4, 0.18, key="compute.alarm_metric"), requests)
    assert rising.root_cause.startswith("The targets behind") and "traffic rose with it" in rising.root_cause
    # Flat traffic (+0%) is not said to have risen with the latency
    steady = _analyse(
        alert, _metric("TargetResponseTime", 2.4, 0.18, key="compute.alarm_metric"), _metric("RequestCount", 1000, 1000)
    )
    assert steady.root_cause.startswith("The targets behind") and "traffic rose" not in steady.root_cause
    flat = Fact(
        key="compute.alarm_metric",
        text="Alarm metric TargetResponseTime: peak 0.2 vs baseline 0.21",
        value=0.2,
        numbers=Measurement(value=0.2, baseline=0.21, change_pct=-4.8, threshold=0.15, crossed=True),
    )
    assert "respond slowly" not in _analyse(alert, flat).root_cause


def test_a_group_at_max_two_hops_away_does_not_explain_application_5xx() -> None:
    alert = _alarm("HTTPCode_Target_5XX_Count", "AWS/ApplicationELB", {"LoadBalancer": "app/shop/50dc6c495c0c9188"})
    at_max = Fact(key="compute.asg_at_max", text="Auto Scaling group web-asg is at its maximum capacity (4)", value=4)
    analysis = _analyse(alert, _metric("HTTPCode_Target_5XX_Count", 300, 1, key="compute.alarm_metric"), at_max)
    assert "Auto Scaling" not in analysis.root_cause
    assert analysis.root_cause.startswith("The application behind")
