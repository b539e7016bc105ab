"""`alert-intel doctor`: is a deployed environment ready to turn alerts into messages? Read-only.

Run with the operator's credentials after `cdk deploy`. Every check reads; none writes, posts or invokes a model:

* the stacks' outputs are there (CloudFormation `DescribeStacks`);
* Bedrock model access for the configured model in its region (`GetFoundationModelAvailability`: the use-case form
  / Marketplace agreement, authorization, entitlement, region);
* the three secrets exist and are well formed (webhook URLs on hooks.slack.com for both routes, a signing secret,
  an `xoxb-` bot token);
* each webhook answers: an empty body gets Slack's `400 no_text` without posting anything, while a revoked or
  mistyped webhook gets 403 / 404 / 410;
* the bot token is valid (`auth.test`);
* the alert topics' policies let Budgets, CloudWatch and Cost Anomaly Detection publish;
* the chat URL answers Slack's signed `url_verification` with its challenge (the same check Slack makes).

Exit 0 when every check passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

EXIT_OK, EXIT_FAILED = 0, 1
ALERT_PUBLISHERS = ("budgets.amazonaws.com", "cloudwatch.amazonaws.com", "costalerts.amazonaws.com")
SECRET_NAMES = {
    "webhooks": "alert-intel/slack-webhooks",
    "signing": "alert-intel/slack-signing-secret",
    "bot_token": "alert-intel/slack-bot-token",
}
HTTP_TIMEOUT_SECONDS = 10
CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def render(self) -> str:
        lines = [f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in self.checks]
        failed = sum(not c.ok for c in self.checks)
        lines.append(f"{len(self.checks) - failed} passed, {failed} failed")
        return "\n".join(lines)


Http = Callable[[str, str, bytes, dict[str, str]], tuple[int, str]]


def http_request(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """(status, body) of one HTTPS request; a connection failure is status 0 with the reason."""
    request = urllib.request.Request(url, data=body or None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, response.read(2_000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2_000).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, str(getattr(exc, "reason", exc))


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def foundation_model(model_id: str) -> str:
    """`us.anthropic.claude-…` (an inference profile) → `anthropic.claude-…`: access is granted per model."""
    parts = model_id.split(".", 1)
    return parts[1] if len(parts) == 2 and parts[0] in {"us", "eu", "apac", "jp", "au", "ca", "global"} else model_id


def check_model_access(report: Report, bedrock: Any, model_id: str, region: str) -> None:
    name = f"Bedrock model access ({model_id} in {region})"
    try:
        answer = bedrock.get_foundation_model_availability(modelId=foundation_model(model_id))
    except Exception as exc:
        report.add(name, False, f"could not be read ({type(exc).__name__}: {str(exc)[:200]})")
        return
    problems = [
        label
        for label, key, good in (
            ("agreement (use-case form / Marketplace) not accepted", "agreementAvailability", "AVAILABLE"),
            ("not authorized", "authorizationStatus", "AUTHORIZED"),
            ("not entitled", "entitlementAvailability", "AVAILABLE"),
            ("not offered in this region", "regionAvailability", "AVAILABLE"),
        )
        if _status(answer.get(key)) != good
    ]
    report.add(name, not problems, "; ".join(problems) or "granted")


def _status(value: Any) -> str:
    return str(value.get("status") if isinstance(value, dict) else value)


def check_secrets(report: Report, secrets: Any, *, allow_loopback: bool = False) -> dict[str, Any]:
    """Each secret present and well formed; returns the values read (for the checks that need them)."""
    values: dict[str, Any] = {}
    for key, secret_name in SECRET_NAMES.items():
        try:
            raw = secrets.get_secret_value(SecretId=secret_name)["SecretString"]
        except Exception as exc:
            report.add(f"secret {secret_name}", False, f"not readable ({type(exc).__name__})")
            continue
        problem = _secret_problem(key, raw, allow_loopback)
        report.add(f"secret {secret_name}", problem is None, problem or "present and well formed")
        if problem is None:
            values[key] = json.loads(raw) if key == "webhooks" else raw.strip()
    return values


def _secret_problem(key: str, raw: str, allow_loopback: bool = False) -> str | None:
    if key == "webhooks":
        try:
            urls = json.loads(raw)
        except ValueError:
            return 'not JSON: expected {"critical": "<webhook url>", "heartbeat": "<webhook url>"}'
        if not isinstance(urls, dict):
            return "not a JSON object"
        for route in ("critical", "heartbeat"):
            url = urls.get(route)
            parsed = urlparse(url) if isinstance(url, str) else None
            loopback = allow_loopback and parsed is not None and parsed.hostname == "127.0.0.1"
            if not loopback and (parsed is None or parsed.scheme != "https" or parsed.hostname != "hooks.slack.com"):
                return f"{route!r} is not an https://hooks.slack.com/... webhook URL"
        return None
    value = raw.strip()
    if key == "signing":
        return None if len(value) >= 16 and value.isalnum() else "does not look like a Slack signing secret"
    return None if value.startswith("xoxb-") else "not a bot token (xoxb-...)"


def check_webhooks(report: Report, urls: dict[str, str], http: Http) -> None:
    for route in ("critical", "heartbeat"):
        status, body = http("POST", urls[route], b"{}", {"Content-Type": "application/json"})
        # An empty message is refused before it is posted: 400 no_text proves the webhook is live.
        ok = status == 400 and "no_text" in body
        detail = "answering (an empty message was refused, nothing posted)" if ok else f"HTTP {status} {body[:80]!r}"
        report.add(f"webhook {route}", ok, detail)


def check_bot_token(report: Report, token: str, api_url: str | None) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=token, base_url=api_url) if api_url else WebClient(token=token)
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        report.add("bot token", False, f"auth.test refused: {exc.response.get('error')}")
        return
    except Exception as exc:
        report.add("bot token", False, f"auth.test failed ({type(exc).__name__})")
        return
    who = answer.get("user") or answer.get("user_id")
    report.add(
        "bot token", True, f"valid (bot user {who}" + (f" in {answer.get('team')})" if answer.get("team") else ")")
    )


def check_topic_policies(report: Report, sns: Any, topic_arns: dict[str, str]) -> None:
    for label, arn in topic_arns.items():
        try:
            policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy") or "{}")
        except Exception as exc:
            report.add(f"topic {label}", False, f"policy not readable ({type(exc).__name__})")
            continue
        allowed = _publishers_allowed(policy)
        missing = [p for p in ALERT_PUBLISHERS if p not in allowed]
        detail = f"{', '.join(missing)} cannot publish" if missing else "Budgets, CloudWatch, Cost Anomaly Detection"
        report.add(f"topic {label}", not missing, detail)


def _publishers_allowed(policy: dict[str, Any]) -> set[str]:
    allowed: set[str] = set()
    statements = policy.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sns:Publish", "sns:*", "*") for a in actions):
            continue
        services = (statement.get("Principal") or {}).get("Service") or []
        allowed.update([services] if isinstance(services, str) else services)
    return allowed


def check_chat_url(report: Report, url: str, signing_secret: str, http: Http) -> None:
    body = json.dumps({"type": "url_verification", "token": "doctor", "challenge": "alert-intel-doctor"}).encode()
    timestamp = str(int(time.time()))
    basestring = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(signing_secret.encode(), basestring, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    status, answer = http("POST", url, body, headers)
    ok = status == 200 and "alert-intel-doctor" in answer
    report.add(
        "chat URL", ok, "verified (signed url_verification answered)" if ok else f"HTTP {status} {answer[:80]!r}"
    )


def run_doctor(
    env: str,
    *,
    region: str,
    model_id: str,
    bedrock_region: str,
    http: Http = http_request,
    client: Callable[[str, str], Any] | None = None,
    slack_api_url: str | None = None,
    allow_loopback: bool = False,
) -> Report:
    """Every check for environment `env`, with the operator's credentials from the default chain.

    `client(service, region)` makes the AWS clients (boto3's by default); `slack_api_url` points the bot-token
    check at another Slack Web API and `allow_loopback` accepts 127.0.0.1 webhooks (both for tests). Never raises
    for what it finds: each problem is a failed check.
    """
    if client is None:
        import boto3

        def client(service: str, client_region: str) -> Any:
            return boto3.client(service, region_name=client_region)

    report = Report()
    outputs: dict[str, str] = {}
    for suffix in ("Sns", "ChatHandler"):
        stack = f"AlertIntel-{env}-{suffix}"
        try:
            outputs.update(stack_outputs(client("cloudformation", region), stack))
            report.add(f"stack {stack}", True, "deployed")
        except Exception as exc:
            report.add(f"stack {stack}", False, f"not found ({type(exc).__name__})")
    check_model_access(report, client("bedrock", bedrock_region), model_id, bedrock_region)
    secrets = check_secrets(report, client("secretsmanager", region), allow_loopback=allow_loopback)
    if "webhooks" in secrets:
        check_webhooks(report, secrets["webhooks"], http)
    if "bot_token" in secrets:
        check_bot_token(report, secrets["bot_token"], slack_api_url)
    topics = {
        label: outputs[key]
        for label, key in (("critical", "CriticalAlertsTopicArn"), ("heartbeat", "HeartbeatAlertsTopicArn"))
        if key in outputs
    }
    check_topic_policies(report, client("sns", region), topics)
    if "SlackEventsUrl" not in outputs:
        report.add("chat URL", False, "no SlackEventsUrl output (is the ChatHandler stack deployed?)")
    elif "signing" in secrets:
        check_chat_url(report, outputs["SlackEventsUrl"], secrets["signing"], http)
    return report


def register(verbs: Any) -> None:
    parser = verbs.add_parser("doctor", help="check a deployed environment, read-only (operator credentials)")
    parser.add_argument("--env", default="dev", help="the environment's name (cdk -c env=...), default dev")
    parser.set_defaults(func=cmd_doctor)


def environment_config(name: str, cdk_json: Path = CDK_JSON) -> Any:
    """The deployment's own settings for `name` (region, model, Bedrock region): the CDK app's defaults with
    cdk.json's overrides, as `cdk -c env=<name>` would read them, without loading CDK itself.

    Raises:
        KeyError: no environment of that name.
    """
    from cdk.constants import CONTEXT_ENVIRONMENTS, ENVIRONMENT_DEFAULTS
    from cdk.regions import resolve_environment

    context = json.loads(cdk_json.read_text()).get("context", {}) if cdk_json.exists() else {}
    overrides = context.get(CONTEXT_ENVIRONMENTS, {})
    if name not in ENVIRONMENT_DEFAULTS and name not in overrides:
        raise KeyError(f"unknown environment {name!r}")
    # As the app resolves it: a default model's inference profile follows the Bedrock region.
    return resolve_environment(name, ENVIRONMENT_DEFAULTS.get(name, {}), overrides.get(name, {}))


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        config = environment_config(args.env)
    except KeyError as exc:
        print(f"alert-intel: {exc.args[0]}")
        return 2
    except ValueError as exc:  # cdk.regions.RegionLimitError: the app would not synthesise either
        print(f"alert-intel: {exc}")
        return 2
    report = run_doctor(
        args.env, region=config.region, model_id=config.model_id, bedrock_region=config.resolved_bedrock_region
    )
    print(report.render())
    return EXIT_OK if report.ok else EXIT_FAILED
