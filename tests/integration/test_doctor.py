"""`alert-intel doctor` against a simulated deployment: moto for CloudFormation, Secrets Manager and SNS; loopback
servers that speak Slack's webhook, Web API and events wire formats and Bedrock's control-plane REST API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
from moto import mock_aws
from slack_sdk.signature import SignatureVerifier

from functions.chat.events import handle_slack_request
from functions.local_runner.doctor import ALERT_PUBLISHERS, environment_config, run_doctor
from functions.local_runner.loopback import LoopbackServer, send
from tests.support.fake_slack_api import FakeSlackApi

REGION = "us-east-1"
MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


Answer = Callable[[str, str, bytes, dict[str, str]], tuple[int, str]]


class _Server(LoopbackServer):
    """A loopback HTTP server whose answers a test sets: `answer(method, path, body, headers) -> (status, body)`."""

    methods = ("GET", "POST")

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, bytes]] = []
        self._answer = answer

    def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        self.requests.append((http.command, http.path, body))
        status, text = self._answer(http.command, http.path, body, dict(http.headers.items()))
        send(http, status, text.encode(), content_type="application/json")


@contextmanager
def serving(answer: Answer) -> Iterator[_Server]:
    with _Server(answer) as server:
        yield server


def slack_webhook(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """Slack's incoming webhook: a body without text is refused with 400 no_text; a revoked hook is 404."""
    if "revoked" in path:
        return 404, "no_service"
    return (400, "no_text") if not json.loads(body or b"{}").get("text") else (200, "ok")


def chat_endpoint(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """The real events logic behind the URL, verifying with the real signing secret."""

    class NoClaims:
        def claim(self, key: str) -> bool:
            return True

        def release(self, key: str) -> None:
            return None

    response = handle_slack_request(body, headers, SignatureVerifier(SIGNING_SECRET), NoClaims(), lambda r: None)
    return response.status, response.body


def bedrock_availability(granted: bool) -> Any:
    def answer(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        assert method == "GET" and path.startswith("/foundation-model-availability/")
        status = "AVAILABLE" if granted else "NOT_AVAILABLE"
        return 200, json.dumps(
            {
                "modelId": path.rsplit("/", 1)[-1],
                "agreementAvailability": {"status": status},
                "authorizationStatus": "AUTHORIZED" if granted else "NOT_AUTHORIZED",
                "entitlementAvailability": "AVAILABLE",
                "regionAvailability": "AVAILABLE",
            }
        )

    return answer


def deploy(webhook_url: str, chat_url: str, *, publishers: tuple[str, ...] = ALERT_PUBLISHERS) -> None:
    """What `cdk deploy` and the operator leave behind: stacks with outputs, topics with policies, the secrets."""
    sns = boto3.client("sns", region_name=REGION)
    topics = {}
    for name in ("critical-alerts", "heartbeat-alerts"):
        arn = sns.create_topic(Name=f"alert-intel-dev-{name}")["TopicArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": list(publishers)},
                    "Action": "sns:Publish",
                    "Resource": arn,
                }
            ],
        }
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
        topics[name] = arn
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    for stack, outputs in (
        (
            "Sns",
            {
                "CriticalAlertsTopicArn": topics["critical-alerts"],
                "HeartbeatAlertsTopicArn": topics["heartbeat-alerts"],
            },
        ),
        ("ChatHandler", {"SlackEventsUrl": chat_url}),
    ):
        template = {
            "Resources": {
                "Placeholder": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"placeholder-{stack}"}}
            },
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        cloudformation.create_stack(StackName=f"AlertIntel-dev-{stack}", TemplateBody=json.dumps(template))
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(
        Name="alert-intel/slack-webhooks",
        SecretString=json.dumps({"critical": f"{webhook_url}/critical", "heartbeat": f"{webhook_url}/heartbeat"}),
    )
    secrets.create_secret(Name="alert-intel/slack-signing-secret", SecretString=SIGNING_SECRET)
    secrets.create_secret(Name="alert-intel/slack-bot-token", SecretString=TOKEN)


def doctor(bedrock_url: str, slack: FakeSlackApi) -> Any:
    def client(service: str, region: str) -> Any:
        endpoint = bedrock_url if service == "bedrock" else None
        return boto3.client(service, region_name=region, endpoint_url=endpoint)

    return run_doctor(
        "dev",
        region=REGION,
        model_id=MODEL_ID,
        bedrock_region=REGION,
        client=client,
        slack_api_url=slack.api_url,
        allow_loopback=True,
    )


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server, FakeSlackApi]]:
    with serving(slack_webhook) as webhook, serving(chat_endpoint) as chat, FakeSlackApi(token=TOKEN) as slack:
        yield webhook, chat, slack


def test_a_ready_environment_passes_every_check_and_posts_nothing(servers) -> None:
    webhook, chat, slack = servers
    with mock_aws(), serving(bedrock_availability(granted=True)) as bedrock:
        # Given a deployment with everything in place
        deploy(webhook.url, f"{chat.url}/slack/events")

        # When the doctor runs
        report = doctor(bedrock.url, slack)

    # Then every check passes, and nothing was posted anywhere: the webhooks only saw empty bodies
    assert report.ok, report.render()
    names = [c.name for c in report.checks]
    assert {
        "webhook critical",
        "webhook heartbeat",
        "bot token",
        "chat URL",
        "topic critical",
        "topic heartbeat",
    } <= set(names)
    assert all(body == b"{}" for _, _, body in webhook.requests)
    assert slack.posts() == []
    assert "foundation-model-availability/anthropic.claude-haiku-4-5" in bedrock.requests[0][1]
    assert report.render().endswith(f"{len(report.checks)} passed, 0 failed")


def test_each_broken_part_is_named(servers) -> None:
    webhook, chat, slack = servers
    with mock_aws(), serving(bedrock_availability(granted=False)) as bedrock:
        # Given: no model access, a topic CloudWatch cannot publish to, a revoked webhook, a wrong signing secret
        deploy(webhook.url, f"{chat.url}/slack/events", publishers=("budgets.amazonaws.com",))
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secrets.put_secret_value(
            SecretId="alert-intel/slack-webhooks",
            SecretString=json.dumps({"critical": f"{webhook.url}/revoked", "heartbeat": f"{webhook.url}/h"}),
        )
        secrets.put_secret_value(SecretId="alert-intel/slack-signing-secret", SecretString="0" * 32)

        report = doctor(bedrock.url, slack)

    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert not report.ok
    assert "not accepted" in failed[f"Bedrock model access ({MODEL_ID} in {REGION})"]
    assert "cloudwatch.amazonaws.com" in failed["topic critical"]
    assert "404" in failed["webhook critical"] and "webhook heartbeat" not in failed
    assert "401" in failed["chat URL"]


def test_a_missing_deployment_fails_without_raising() -> None:
    with mock_aws():
        report = run_doctor("dev", region=REGION, model_id=MODEL_ID, bedrock_region=REGION)
    assert not report.ok
    assert any(c.name == "stack AlertIntel-dev-Sns" and not c.ok for c in report.checks)
    assert any(c.name == "secret alert-intel/slack-webhooks" and not c.ok for c in report.checks)


def test_the_environment_comes_from_the_cdk_app_and_cdk_json() -> None:
    config = environment_config("prod")
    assert config.region and config.model_id
    with pytest.raises(KeyError):
        environment_config("no-such-env")
