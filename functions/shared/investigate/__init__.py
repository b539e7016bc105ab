"""Read-only investigations of an AWS account: the evidence an expert looks at first, as compact `Fact` lists.

The gather stages call these per alert source (the playbooks their tables name, `functions.shared.registry`), and
the chat bot's agents call the same functions as tools. Every function reads only, is bounded in time
(`base.time_budget`) and size, and reports missing permissions or data as notes of the returned `base.Evidence`
(facts, looked_at, notes, missing_permissions, failures); only throttling (`GatherThrottledError`) propagates. Reads
are cached five minutes (`shared.cache`).

- `cost`: `cost_trend(ce, today) -> CostTrend` (14 days by service and usage type, movers DoD/WoW),
  `cost_trend_evidence(trend)`, `budget_evidence(budgets, account_id, budget_name, month_to_date, today)`,
  `anomaly_evidence(alert)`; the Cost Explorer query order lives in `cost_plan`.
- `metrics`: `alarm_metric_evidence(cw, metric, at, now, region)`, `related_metrics_evidence(cw, target, ...)`,
  `lambda_movers(cw, lambdas, now) -> list[LambdaMover]`.
- `resources`: `lambda_function_evidence(lambdas, name, now, region)`, `ec2_instance_evidence(ec2, id, now,
  region)`, `recent_ec2_launches_evidence(ec2, now, region)`.
- `logs`: `log_error_evidence(logs, log_group, start, end, max_wait_seconds, region)`, `group_errors(rows)`.
- `security`: `finding_evidence(alert, securityhub, guardduty, ec2, now)`, `health_evidence(alert, health, ec2,
  now)`.
- `target`: `implicated_target(alert) -> Target | None`, `alarm_metric(alert) -> AlarmMetric | None`.
"""
