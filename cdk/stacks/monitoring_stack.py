"""MonitoringStack: the dashboard and the meta-alarms that watch alert-intel itself.

Metrics are addressed by the deterministic names in `EnvironmentConfig` (functions, state machine, queues), so
this stack imports nothing from the others but the Conversations table's name, which CloudFormation generates (a
redeploy after destroy must not collide with the retained table; see the Storage stack).

The analyze stage puts an `AlertType` dimension on all its metrics, and alert types are open-ended: an alarm
cannot sum over them. Two metric filters on the analyze and chat-worker log groups therefore re-publish
`LLMCostUSD` and `AnalysisLatency` from the Powertools EMF records without dimensions (`...AllTypes`), and the
cost and latency alarms watch those. Dashboards use SEARCH expressions, which sum over any dimensions.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk.components.encrypted_topic import EncryptedTopic
from cdk.constants import (
    ANALYZER_FAILURE_RATE_PERCENT,
    AVERAGE_LATENCY_SECONDS,
    CHAT_FUNCTIONS,
    DAILY_LLM_COST_USD,
    METRIC_ALERTS_ANALYZED,
    METRIC_ANALYSIS_LATENCY,
    METRIC_CONVERSATIONS,
    METRIC_LLM_COST,
    METRIC_LLM_TOKENS,
    METRIC_MODEL_ACCESS_DENIED,
    METRIC_SLACK_POST_FAILURES,
    METRIC_SLACK_POSTS,
    METRIC_TOOL_EXECUTIONS,
    METRICS_NAMESPACE,
    PIPELINE_FUNCTIONS,
    SERVICE_NAME,
    EnvironmentConfig,
    kebab_case,
)

ALL_TYPES_SUFFIX = "AllTypes"
FIVE_MINUTES = Duration.minutes(5)
ONE_DAY = Duration.days(1)


def emf_value_selector(metric_name: str) -> str:
    """The JSON selector of a metric's value in a Powertools EMF record: values are arrays, one per add_metric
    call in the flush (the stages add each metric once per invocation)."""
    return f"$.{metric_name}[0]"


class MonitoringStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        conversations_table_name: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.conversations_table_name = conversations_table_name
        self.ops_topic = EncryptedTopic(
            self,
            "OpsAlerts",
            topic_name=config.resource_name("ops-alerts"),
            display_name="alert-intel operations",
            publishers=("cloudwatch.amazonaws.com",),
        ).topic
        if config.ops_email:
            self.ops_topic.add_subscription(subscriptions.EmailSubscription(config.ops_email))

        self._republish_without_alert_type()
        self.alarms = self._meta_alarms()
        for alarm in self.alarms.values():
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.ops_topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(self.ops_topic))
        self.dashboard = self._dashboard()
        CfnOutput(self, "OpsAlertsTopicArn", value=self.ops_topic.topic_arn, description="Meta-alarm notifications")

    # Metrics ------------------------------------------------------------------------------------------------

    def _lambda_metric(self, key: str, metric_name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=metric_name,
            dimensions_map={"FunctionName": self.config.function_name(key)},
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    def _states_metric(self, metric_name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        state_machine_arn = (
            f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{self.config.state_machine_name}"
        )
        return cloudwatch.Metric(
            namespace="AWS/States",
            metric_name=metric_name,
            dimensions_map={"StateMachineArn": state_machine_arn},
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    def _all_types_metric(self, metric_name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=f"{metric_name}{ALL_TYPES_SUFFIX}",
            statistic=statistic,
            period=period,
        )

    @staticmethod
    def _search(metric_name: str, statistic: str, label: str, period: Duration = FIVE_MINUTES) -> cloudwatch.IMetric:
        """One line summing `metric_name` over every dimension combination the code emits."""
        seconds = int(period.to_seconds())
        return cloudwatch.MathExpression(
            expression=(
                f'SUM(SEARCH(\'Namespace="{METRICS_NAMESPACE}" MetricName="{metric_name}"\', '
                f"'{statistic}', {seconds}))"
            ),
            label=label,
            period=period,
        )

    def _republish_without_alert_type(self) -> None:
        sources = {"Analyze": "analyze", "ChatWorker": "chat_worker"}
        for construct_prefix, key in sources.items():
            log_group = logs.LogGroup.from_log_group_name(
                self, f"{construct_prefix}LogGroup", f"/aws/lambda/{self.config.function_name(key)}"
            )
            for metric_name in (METRIC_LLM_COST, METRIC_ANALYSIS_LATENCY):
                logs.MetricFilter(
                    self,
                    f"{construct_prefix}{metric_name}Filter",
                    log_group=log_group,
                    metric_namespace=METRICS_NAMESPACE,
                    metric_name=f"{metric_name}{ALL_TYPES_SUFFIX}",
                    # Powertools writes EMF values as arrays (`"LLMCostUSD": [0.0123]`): select the first value.
                    # tests/infrastructure/test_metric_filters.py runs each pattern on real Powertools output.
                    filter_pattern=logs.FilterPattern.number_value(emf_value_selector(metric_name), ">=", 0),
                    metric_value=emf_value_selector(metric_name),
                )

    # Alarms -------------------------------------------------------------------------------------------------

    def _meta_alarms(self) -> dict[str, cloudwatch.Alarm]:
        cfg = self.config
        alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(
            construct_id: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            description: str,
            evaluation_periods: int = 1,
            datapoints_to_alarm: int | None = None,
        ) -> None:
            alarms[construct_id] = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_name=cfg.resource_name(kebab_case(construct_id)),
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=datapoints_to_alarm,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        alarm(
            "AnalyzerFailureRate",
            cloudwatch.MathExpression(
                expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                using_metrics={
                    "errors": self._lambda_metric("analyze", "Errors"),
                    "invocations": self._lambda_metric("analyze", "Invocations"),
                },
                label="Analyze failure rate (%)",
                period=FIVE_MINUTES,
            ),
            ANALYZER_FAILURE_RATE_PERCENT,
            f"More than {ANALYZER_FAILURE_RATE_PERCENT}% of Analyze invocations failed (2 of 3 five-minute "
            "periods); alerts still post with the rule-based analysis. Check Bedrock access and the analyze logs.",
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
        alarm(
            "AnalysisLatency",
            self._all_types_metric(METRIC_ANALYSIS_LATENCY, "Average", FIVE_MINUTES),
            AVERAGE_LATENCY_SECONDS * 1000,
            f"Average analysis latency above {AVERAGE_LATENCY_SECONDS} s for 15 minutes (metric in ms).",
            evaluation_periods=3,
        )
        alarm(
            "DailyLLMCost",
            self._all_types_metric(METRIC_LLM_COST, "Sum", ONE_DAY),
            DAILY_LLM_COST_USD,
            f"Estimated Claude spend above ${DAILY_LLM_COST_USD} over the last day (analysis and chat).",
        )
        alarm(
            "ConversationsThrottled",
            cloudwatch.MathExpression(
                expression="reads + writes",
                using_metrics={
                    "reads": self._table_metric("ReadThrottleEvents"),
                    "writes": self._table_metric("WriteThrottleEvents"),
                },
                label="Conversations throttle events",
                period=FIVE_MINUTES,
            ),
            0,
            "DynamoDB throttled the Conversations table.",
        )
        alarm(
            "ExecutionsFailed",
            cloudwatch.MathExpression(
                expression="failed + timedOut",
                using_metrics={
                    "failed": self._states_metric("ExecutionsFailed"),
                    "timedOut": self._states_metric("ExecutionsTimedOut"),
                },
                label="Executions failed or timed out",
                period=FIVE_MINUTES,
            ),
            0,
            "An alert pipeline execution failed or timed out: that alert never reached Slack. Open the run.",
        )
        alarm(
            "ExecutionsThrottled",
            self._states_metric("ExecutionThrottled"),
            0,
            "Step Functions throttled alert pipeline executions.",
        )
        alarm(
            "ExecutionsAborted",
            self._states_metric("ExecutionsAborted"),
            0,
            "An alert pipeline execution was aborted.",
        )
        alarm(
            "SlackPostFailures",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=METRIC_SLACK_POST_FAILURES,
                dimensions_map={"service": SERVICE_NAME},
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            0,
            "Slack rejected a message (bad webhook or payload).",
        )
        alarm(
            "ModelAccessDenied",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=METRIC_MODEL_ACCESS_DENIED,
                dimensions_map={"service": SERVICE_NAME},
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            0,
            "Bedrock denied the model (AccessDenied): enable model access for the account in the Bedrock region "
            "(Anthropic use-case form / Marketplace subscription) or check the role. Until then every alert is "
            "analysed by the rules only. `alert-intel doctor` checks it.",
        )
        for construct_id, queue_name, what in (
            ("IngestDeadLetters", cfg.ingest_dead_letters_name, "alerts ingest could not start a run for"),
            ("ArchiverDeadLetters", cfg.archiver_dead_letters_name, "stream records the archiver could not archive"),
            ("ChatWorkerDeadLetters", cfg.chat_worker_dead_letters_name, "Slack questions the bot failed to answer"),
        ):
            alarm(
                construct_id,
                cloudwatch.Metric(
                    namespace="AWS/SQS",
                    metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions_map={"QueueName": queue_name},
                    statistic="Maximum",
                    period=FIVE_MINUTES,
                ),
                0,
                f"Dead letters waiting in {queue_name}: {what}.",
            )
        return alarms

    def _table_metric(self, metric_name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/DynamoDB",
            metric_name=metric_name,
            dimensions_map={"TableName": self.conversations_table_name},
            statistic="Sum",
            period=FIVE_MINUTES,
        )

    # Dashboard ----------------------------------------------------------------------------------------------

    def _dashboard(self) -> cloudwatch.Dashboard:
        hour = Duration.hours(1)
        function_keys = ["ingest", *PIPELINE_FUNCTIONS, *CHAT_FUNCTIONS]
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.config.resource_name("dashboard"),
            default_interval=Duration.days(7),
        )
        width = 12
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Alerts analysed (per hour)",
                left=[self._search(METRIC_ALERTS_ANALYZED, "Sum", "Alerts analysed", hour)],
                right=[
                    self._states_metric("ExecutionsStarted").with_(period=hour, label="Runs started"),
                    self._states_metric("ExecutionsSucceeded").with_(period=hour, label="Runs succeeded"),
                ],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Analysis latency (ms)",
                left=[
                    self._all_types_metric(METRIC_ANALYSIS_LATENCY, stat, FIVE_MINUTES).with_(label=stat)
                    for stat in ("p50", "p95", "p99")
                ],
                right=[self._states_metric("ExecutionTime", "p95").with_(label="Run duration p95")],
                width=width,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="LLM tokens (per hour)",
                left=[self._search(METRIC_LLM_TOKENS, "Sum", "Tokens", hour)],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Estimated LLM cost (USD per day)",
                left=[self._all_types_metric(METRIC_LLM_COST, "Sum", ONE_DAY).with_(label="USD")],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=DAILY_LLM_COST_USD, label="daily budget alarm")
                ],
                width=width,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Tool executions and conversations (per hour)",
                left=[self._search(METRIC_TOOL_EXECUTIONS, "Sum", "Tool executions", hour)],
                right=[self._search(METRIC_CONVERSATIONS, "Sum", "Conversations", hour)],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Slack posts",
                left=[
                    self._search(METRIC_SLACK_POSTS, "Sum", "Posted"),
                    self._search(METRIC_SLACK_POST_FAILURES, "Sum", "Failed"),
                ],
                width=width,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Errors",
                left=[self._lambda_metric(key, "Errors").with_(label=key) for key in function_keys],
                right=[
                    self._states_metric("ExecutionsFailed").with_(label="Runs failed"),
                    self._states_metric("ExecutionsTimedOut").with_(label="Runs timed out"),
                ],
                width=width,
            ),
            cloudwatch.AlarmStatusWidget(title="Meta-alarms", alarms=list(self.alarms.values()), width=width, height=6),
        )
        return dashboard

    @property
    def topic(self) -> sns.ITopic:
        return self.ops_topic
