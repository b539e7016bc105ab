"""ChatHandlerStack: the Slack events endpoint, the LangGraph chat worker and the conversation archiver."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.components import permissions
from cdk.components.dead_letter_queue import dead_letter_queue
from cdk.components.lambda_function import AlertIntelFunction, retention
from cdk.components.packaging import LambdaPackaging
from cdk.constants import (
    ARCHIVE_PREFIX,
    CHAT_FUNCTIONS,
    SLACK_BOT_TOKEN_SECRET_NAME,
    SLACK_SIGNING_SECRET_NAME,
    EnvironmentConfig,
    function_construct_id,
)
from cdk.nag import acknowledge, acknowledge_invoke_grants
from cdk.packaging.assets import AssetDirs

SLACK_EVENTS_PATH = ("slack", "events")


class ChatHandlerStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        asset_dirs: AssetDirs,
        conversations: dynamodb.ITable,
        archive_bucket: s3.IBucket,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        packaging = LambdaPackaging(self, "Packaging", asset_dirs=asset_dirs, with_chat=True)
        table_env = {"CONVERSATIONS_TABLE": conversations.table_name}
        # The channels whose buttons act, checked by the endpoint and again by the worker.
        channels_env = {"SLACK_ALERT_CHANNELS": json.dumps(config.slack_alert_channels, sort_keys=True)}
        # The alert pipeline that Analyze with AI starts (another stack's; its name is fixed per environment).
        pipeline_arn = f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:"
        pipeline_arn += config.state_machine_name

        def chat_function(key: str, **extra: Any) -> AlertIntelFunction:
            handler, memory_mb, timeout_seconds = CHAT_FUNCTIONS[key]
            return AlertIntelFunction(
                self,
                function_construct_id(key),
                config=config,
                name=key,
                handler=handler,
                memory_mb=memory_mb,
                timeout_seconds=timeout_seconds,
                code=packaging.code,
                layers=packaging.chat_layers,
                **extra,
            )

        # The worker: LangGraph supervisor + specialists, with the same read-only tools as the gather stages.
        worker_statements = [
            *permissions.chat_tool_reads(self),
            *permissions.invoke_model(self, config),
            permissions.read_secrets(self, SLACK_BOT_TOKEN_SECRET_NAME),
            permissions.conversation_table_access(conversations),
            *permissions.slack_action_grants(self, config, conversations),
        ]
        self.worker = chat_function(
            "chat_worker",
            environment={
                **table_env,
                **channels_env,
                "STATE_MACHINE_ARN": pipeline_arn,
                "SLACK_BOT_TOKEN_SECRET_NAME": SLACK_BOT_TOKEN_SECRET_NAME,
                "ALERT_INTEL_MODEL_ID": config.model_id,
                "BEDROCK_REGION": config.resolved_bedrock_region,
            },
            statements=worker_statements,
            description="alert-intel chat worker: answers a Slack question in its thread",
        )
        # The events endpoint already de-duplicates by event_id; a retried worker would answer twice, so Lambda
        # does not retry. A failed answer is not lost silently: its event lands in a dead-letter queue, which a
        # meta-alarm watches (Monitoring stack), and the question can be asked again.
        self.worker_dead_letters = dead_letter_queue(
            self,
            "ChatWorkerDeadLetters",
            queue_name=config.chat_worker_dead_letters_name,
            holds="Slack questions the chat worker failed to answer (Lambda async on_failure)",
        )
        self.worker.function.configure_async_invoke(
            retry_attempts=0,
            max_event_age=Duration.minutes(15),
            on_failure=destinations.SqsDestination(self.worker_dead_letters),
        )

        # The endpoint: verify Slack's signature, de-duplicate, hand over to the worker, answer within 3 s.
        self.events = chat_function(
            "chat_events",
            environment={
                **table_env,
                **channels_env,
                "SLACK_SIGNING_SECRET_NAME": SLACK_SIGNING_SECRET_NAME,
                "CHAT_WORKER_FUNCTION_NAME": self.worker.function.function_name,
            },
            statements=[
                permissions.read_secrets(self, SLACK_SIGNING_SECRET_NAME),
                permissions.conversation_table_access(conversations, permissions.EVENTS_TABLE_ACTIONS),
            ],
            description="alert-intel Slack events endpoint: verify, de-duplicate, hand over to the worker",
        )
        self.worker.function.grant_invoke(self.events.function)
        acknowledge_invoke_grants(
            self.events,
            [self.worker.function],
            "Invoking the chat worker (any version or alias of that one function) is the endpoint's hand-over.",
        )

        # The archiver: every expiring or completed conversation reaches S3 before it is gone.
        self.archiver_dead_letters = dead_letter_queue(
            self,
            "ArchiverDeadLetters",
            queue_name=config.archiver_dead_letters_name,
            holds="stream records of conversations the archiver could not archive",
        )
        self.archiver = chat_function(
            "chat_archiver",
            environment={**table_env, "ARCHIVE_BUCKET": archive_bucket.bucket_name},
            statements=[permissions.archive_writes(archive_bucket, ARCHIVE_PREFIX)],
            any_resource_note="dynamodb:ListStreams, which the stream event source adds and which has no resource type",
            description="alert-intel conversation archiver: DynamoDB stream to S3",
        )
        self.archiver.function.add_event_source(
            event_sources.DynamoEventSource(
                conversations,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                max_batching_window=Duration.seconds(5),
                bisect_batch_on_error=True,
                retry_attempts=5,
                report_batch_item_failures=True,
                on_failure=event_sources.SqsDlq(self.archiver_dead_letters),
            )
        )
        self.api = self._slack_events_api(config, self.events.function)
        CfnOutput(
            self,
            "SlackEventsUrl",
            value=self.api.url_for_path("/" + "/".join(SLACK_EVENTS_PATH)),
            description="The Slack app's Event Subscriptions Request URL, and its Interactivity Request URL",
        )

    def _slack_events_api(self, config: EnvironmentConfig, handler: lambda_.IFunction) -> apigateway.RestApi:
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        api = apigateway.RestApi(
            self,
            "SlackEventsApi",
            rest_api_name=config.resource_name("slack-events"),
            description="Slack Events API endpoint of the alert-intel bot",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigateway.StageOptions(
                stage_name=config.name,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies are Slack messages: keep them out of the logs
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=20,
                throttling_burst_limit=40,
            ),
        )
        # API Gateway creates its execution log group itself, on first use, with no retention, and CloudFormation
        # never deletes it. Owning it under the exact name API Gateway uses gives it a retention and a removal.
        execution_logs = logs.LogGroup(
            self,
            "ApiExecutionLogs",
            log_group_name=f"API-Gateway-Execution-Logs_{api.rest_api_id}/{config.name}",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        api.deployment_stage.node.add_dependency(execution_logs)
        resource = api.root
        for part in SLACK_EVENTS_PATH:
            resource = resource.add_resource(part)
        resource.add_method("POST", apigateway.LambdaIntegration(handler))
        acknowledge(
            api,
            "AwsSolutions-APIG2",
            "The handler verifies every request's Slack signature over the raw body and must answer 401 to an "
            "unsigned or malformed one; API Gateway validation would answer 400 first and drop that contract.",
        )
        acknowledge(
            api,
            "AwsSolutions-APIG4",
            "Slack cannot send IAM, Cognito or Lambda-authorizer credentials; every request is authenticated by "
            "its Slack signature (HMAC over the raw body with the signing secret), verified by the handler.",
        )
        acknowledge(
            api,
            "AwsSolutions-COG4",
            "Slack is the only caller and authenticates with its request signature, not a Cognito user.",
        )
        acknowledge(
            api,
            "AwsSolutions-APIG3",
            "One Slack webhook path with stage throttling and signature verification; a WAF web ACL would cost "
            "more than the endpoint itself. Attach one if your organisation requires it.",
        )
        acknowledge(
            api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role; AWS's managed policy is the documented way to grant it.",
        )
        return api
