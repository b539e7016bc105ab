"""Read-only investigations of an AWS account: the evidence an expert looks at first, as compact `Fact` lists.

The gather stages call these per alert source (the playbooks their tables name, `functions.shared.registry`), and
the chat bot's agents call the same functions as tools. Every function reads only, is bounded in time
(`base.time_budget`) and size, and reports missing permissions or data as notes of the returned `base.Evidence`
(facts, looked_at, notes, missing_permissions, failures); only throttling (`GatherThrottledError`) propagates. Reads
are cached five minutes (`shared.cache`).

- `cost`: `cost_trend(ce, today) -> CostTrend` (14 days by service and usage type, movers DoD/WoW),
  `cost_trend_evidence(trend)`, `budget_evidence(budgets, account_id, budget_name, month_to_date, today)`,
  `anomaly_evidence(alert)`; the Cost Explorer query order lives in `cost_plan`. A budget of another period than
  a month (`budget_period`) is described by that period's spend vs its limit (`cost.budget_period`).
- `cost_shape`: `cost_shape(label, days, values) -> CostShape` (a step with its onset and both levels, creep, a
  one-day jump, flat), `cost_onset_evidence(trend)` (`cost.onset`), `steady_total_evidence(trend)` (`cost.steady`).
- `usage_mechanisms`: `USAGE_MECHANISMS` (usage type -> billing mechanism), `mechanisms_for(causes)`.
- `cost_drill`: the drills `nat_gateway_drill`, `log_ingestion_drill`, `ec2_instances_drill`, `s3_bucket_drill`
  (`compute.cost_resource.*`), and the per-resource `nat_gateway_evidence`, `log_group_evidence`.
- `log_volume`: `log_volume_evidence(logs, log_group, ...)`: the most repeated lines of any level (`logs.message.N`).
- `metrics`: `alarm_metric_evidence(cw, metric, at, now, region)`, `related_metrics_evidence(cw, target, ...)`,
  `lambda_movers(cw, lambdas, now) -> list[LambdaMover]`.
- `resources`: `lambda_function_evidence(lambdas, name, now, region)`, `ec2_instance_evidence(ec2, id, now,
  region)`, `recent_ec2_launches_evidence(ec2, now, region)`.
- `logs`: `log_error_evidence(logs, log_group, start, end, max_wait_seconds, region)`, `group_errors(rows)`.
- `security`: `finding_evidence(alert, securityhub, guardduty, ec2, now)`, `health_evidence(alert, health, ec2,
  now)`.
- `target`: `implicated_target(alert) -> Target | None`, `alarm_metric(alert) -> AlarmMetric | None`.
"""
