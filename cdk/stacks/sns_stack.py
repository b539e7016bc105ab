"""SnsStack: where alerts arrive. Two encrypted topics and EventBridge rules, all feeding the ingest Lambda."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.components import permissions
from cdk.components.dead_letter_queue import dead_letter_queue
from cdk.components.encrypted_topic import EncryptedTopic
from cdk.components.lambda_function import AlertIntelFunction
from cdk.components.packaging import LambdaPackaging
from cdk.constants import ALERT_PUBLISHERS, INGEST_FUNCTION, EnvironmentConfig, kebab_case
from cdk.packaging.assets import AssetDirs
from cdk.regions import receives_cost_anomaly_events

# EventBridge patterns for the alert sources that do not publish to SNS.
EVENT_SOURCES: dict[str, dict[str, Any]] = {
    "HealthEvents": {"source": ["aws.health"], "detail_type": ["AWS Health Event"]},
    "SecurityHubFindings": {
        "source": ["aws.securityhub"],
        "detail_type": ["Security Hub Findings - Imported"],
        # LOW / INFORMATIONAL findings would start a run each for an info-level message: left out.
        "detail": {"findings": {"Severity": {"Label": ["CRITICAL", "HIGH", "MEDIUM"]}}},
    },
    "GuardDutyFindings": {"source": ["aws.guardduty"], "detail_type": ["GuardDuty Finding"]},
    # Every alarm in the account except alert-intel's own meta-alarms (`alarmName` filled in per environment by
    # `event_sources`); ingest drops the copies an alarm's SNS action also delivers (functions/ingest/alarm_routing).
    "AlarmStateChanges": {
        "source": ["aws.cloudwatch"],
        "detail_type": ["CloudWatch Alarm State Change"],
        "detail": {"state": {"value": ["ALARM", "OK"]}},
    },
    "CostAnomalies": {"source": ["aws.ce"], "detail_type": ["Anomaly Detected"]},
}
COST_ANOMALY_RULE = "CostAnomalies"


def event_sources(config: EnvironmentConfig) -> dict[str, dict[str, Any]]:
    """EVENT_SOURCES for one environment: its own alarms (`alert-intel-<env>-...`) never match, and the Cost
    Anomaly Detection rule exists only where its events arrive (us-east-1; synth warns elsewhere)."""
    sources = {
        rule_id: dict(pattern)
        for rule_id, pattern in EVENT_SOURCES.items()
        if rule_id != COST_ANOMALY_RULE or receives_cost_anomaly_events(config)
    }
    alarms = sources["AlarmStateChanges"]
    alarms["detail"] = {**alarms["detail"], "alarmName": [{"anything-but": {"prefix": own_alarm_prefix(config)}}]}
    return sources


def own_alarm_prefix(config: EnvironmentConfig) -> str:
    """The Monitoring stack names every meta-alarm `alert-intel-<env>-<name>`."""
    return config.resource_name("")


class SnsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        asset_dirs: AssetDirs,
        state_machine: sfn.IStateMachine,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.critical_topic = EncryptedTopic(
            self,
            "CriticalAlerts",
            topic_name=config.resource_name("critical-alerts"),
            display_name="alert-intel critical alerts",
            publishers=ALERT_PUBLISHERS,
        ).topic
        self.heartbeat_topic = EncryptedTopic(
            self,
            "HeartbeatAlerts",
            topic_name=config.resource_name("heartbeat-alerts"),
            display_name="alert-intel heartbeat alerts",
            publishers=ALERT_PUBLISHERS,
        ).topic

        # Alerts ingest could not hand over (after Lambda's and EventBridge's own retries) wait here.
        self.dead_letters = dead_letter_queue(
            self,
            "IngestDeadLetters",
            queue_name=config.ingest_dead_letters_name,
            holds="alerts the ingest Lambda and the EventBridge targets could not hand over",
        )

        packaging = LambdaPackaging(self, "Packaging", asset_dirs=asset_dirs)
        handler, memory_mb, timeout_seconds = INGEST_FUNCTION
        self.ingest = AlertIntelFunction(
            self,
            "IngestFunction",
            config=config,
            name="ingest",
            handler=handler,
            memory_mb=memory_mb,
            timeout_seconds=timeout_seconds,
            code=packaging.code,
            layers=packaging.pipeline_layers,
            # The route comes from the topic's name: "heartbeat" in it means the heartbeat route.
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "ALERT_TOPIC_ARNS": ",".join(
                    self.resolve_topic_arn(config, name) for name in ("critical-alerts", "heartbeat-alerts")
                ),
                "OWN_ALARM_PREFIX": own_alarm_prefix(config),
            },
            # Which path delivers an alarm state change: its actions (functions/ingest/alarm_routing.py), read in
            # the alarm's region (an alarm forwarded from another region's event bus names its own).
            statements=[
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[permissions.evidence_arn(self, "cloudwatch", "alarm:*")],
                )
            ],
            description="alert-intel ingest: one state machine execution per alert, named by its dedup key",
        )
        ingest = self.ingest.function
        # Execution names come from the dedup key: a redelivered alert gets ExecutionAlreadyExists, not a run.
        state_machine.grant_start_execution(ingest)
        ingest.configure_async_invoke(
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            on_failure=destinations.SqsDestination(self.dead_letters),
        )

        for topic in (self.critical_topic, self.heartbeat_topic):
            topic.add_subscription(subscriptions.LambdaSubscription(ingest))

        self.rules: dict[str, events.Rule] = {}
        for rule_id, pattern in event_sources(config).items():
            rule = events.Rule(
                self,
                rule_id,
                rule_name=config.resource_name(kebab_case(rule_id)),
                description=f"alert-intel: {rule_id} to the ingest Lambda",
                event_pattern=events.EventPattern(**pattern),
            )
            rule.add_target(
                targets.LambdaFunction(
                    ingest,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(6),
                )
            )
            self.rules[rule_id] = rule

        CfnOutput(
            self,
            "CriticalAlertsTopicArn",
            value=self.critical_topic.topic_arn,
            description="Subscribe budgets, alarms and anomaly monitors here",
        )
        CfnOutput(
            self,
            "HeartbeatAlertsTopicArn",
            value=self.heartbeat_topic.topic_arn,
            description="Low-priority and heartbeat alerts (never sent to the model)",
        )

    def resolve_topic_arn(self, config: EnvironmentConfig, name: str) -> str:
        """An alert topic's ARN from its deterministic name (a token would tie ingest to the topics' creation)."""
        return f"arn:{self.partition}:sns:{self.region}:{self.account}:{config.resource_name(name)}"
