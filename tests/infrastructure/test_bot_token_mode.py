"""Bot-token mode in AWS (issue 14, decision 0014): with `slack_alert_channels` set, Post and Check Incident get the
channels, the table and (Post) the bot token's secret, and exactly the item reads and writes they make; without
it (the session's dev synthesis) they stay in webhook-only mode with none of that."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cdk.app import build_app
from cdk.constants import CONTEXT_ENVIRONMENTS, SLACK_BOT_TOKEN_SECRET_NAME, EnvironmentConfig
from cdk.environment import load_environment
from cdk.stacks.alert_analyzer_stack import bot_token_environment
from functions.local_runner import runner
from functions.shared.incidents import CLAIM_STALE_AFTER
from tests.infrastructure.conftest import STACKS, Synthesis
from tests.infrastructure.test_least_privilege import LOCAL_TABLE, _enforcement, _granted_by_function

CHANNELS = {"critical": "C0CRITICAL", "heartbeat": "C0HEARTBEAT"}


@pytest.fixture(scope="module")
def bot_synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    outdir = tmp_path_factory.mktemp("cdk.out.bot")
    environments = {"dev": {"account": "111111111111", "region": "us-east-1", "slack_alert_channels": CHANNELS}}
    app = build_app({"env": "dev", "layers": "stub", CONTEXT_ENVIRONMENTS: environments}, outdir=outdir)
    config = load_environment(app.node)
    assembly = app.synth()
    raw = {
        suffix: json.loads((Path(assembly.directory) / f"{config.stack_name(suffix)}.template.json").read_text())
        for suffix in STACKS
    }
    return Synthesis(config=config, outdir=Path(assembly.directory), raw=raw)


def _environment(synthesis: Synthesis, key: str) -> dict[str, Any]:
    logical_id = synthesis.logical_id_of_function("AlertAnalyzer", key)
    function = synthesis.raw["AlertAnalyzer"]["Resources"][logical_id]
    return dict(function["Properties"].get("Environment", {}).get("Variables", {}))


def test_the_incident_grants_are_conditioned_on_the_incident_records(bot_synthesis: Synthesis) -> None:
    enforcement = _enforcement(bot_synthesis)
    conditioned = [
        s.conditions
        for s in enforcement.policies["alert-intel-check-incident"]
        if any(a.startswith("dynamodb:") for a in s.actions)
    ]
    assert conditioned == [
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["incident#*"]}},
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["incident-claim#*"]}},
    ]
    # The prefixes are the ones the adapter writes under
    from cdk.components import permissions
    from functions.shared.adapters import conversations

    assert permissions.INCIDENT_CLAIM_KEY_PREFIX == conversations.INCIDENT_CLAIM_PREFIX
    assert permissions.INCIDENT_KEY_PREFIX == conversations.INCIDENT_KEY_PREFIX


def test_webhook_only_mode_without_a_channel() -> None:
    config = EnvironmentConfig(name="dev", account="1", region="us-east-1", model_id="m")
    assert bot_token_environment(config, "alert-intel-conversations") == {}


def test_the_channels_table_and_token_reach_post_and_check_incident(bot_synthesis: Synthesis) -> None:
    post = _environment(bot_synthesis, "post")
    check = _environment(bot_synthesis, "check_incident")
    assert json.loads(post["SLACK_ALERT_CHANNELS"]) == CHANNELS
    assert post["SLACK_BOT_TOKEN_SECRET_NAME"] == SLACK_BOT_TOKEN_SECRET_NAME
    # The table's generated name, from the Storage stack (a cross-stack reference, never a fixed name)
    assert isinstance(post["CONVERSATIONS_TABLE"], dict) and "Fn::ImportValue" in post["CONVERSATIONS_TABLE"]
    assert json.loads(check["SLACK_ALERT_CHANNELS"]) == CHANNELS
    assert check["CONVERSATIONS_TABLE"] == post["CONVERSATIONS_TABLE"]
    assert "SLACK_BOT_TOKEN_SECRET_NAME" not in check  # it posts nothing


def test_grants_in_each_mode(bot_synthesis: Synthesis, synthesis: Synthesis) -> None:
    bot = _granted_by_function(bot_synthesis)
    webhook = _granted_by_function(synthesis)
    assert {a for a in bot["check_incident"] if a.startswith(("dynamodb:", "secretsmanager:"))} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }
    assert {a for a in bot["post"] if a.startswith(("dynamodb:", "secretsmanager:"))} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
    }
    assert not {a for a in webhook["check_incident"] if a.startswith(("dynamodb:", "secretsmanager:"))}
    assert "dynamodb:GetItem" not in webhook["post"]


def test_under_enforcement_each_incident_call_is_allowed_and_nothing_more(bot_synthesis: Synthesis) -> None:
    from functions.shared.adapters.conversations import ConversationTable
    from functions.shared.adapters.slack_api import read_slack_secret
    from tests.support.chat_aws import create_table

    enforcement = _enforcement(bot_synthesis)
    runner.configure_local_environment()
    saved = os.environ.get("SLACK_BOT_TOKEN_SECRET_NAME")
    os.environ["SLACK_BOT_TOKEN_SECRET_NAME"] = SLACK_BOT_TOKEN_SECRET_NAME
    try:
        with mock_aws():
            runner.reset_local_caches()
            read_slack_secret.cache_clear()
            create_table(boto3.client("dynamodb", region_name=runner.REGION))
            boto3.client("secretsmanager", region_name=runner.REGION).create_secret(
                Name=SLACK_BOT_TOKEN_SECRET_NAME, SecretString="xoxb-local"
            )
            table = ConversationTable(LOCAL_TABLE)
            with enforcement:
                now = datetime.now(UTC)
                with enforcement.acting_as("alert-intel-check-incident"):
                    table.incident("alarm#arn:aws:cloudwatch:us-east-1:123456789012:alarm:x")
                    assert table.claim_incident("alarm#x", "critical-a", now, CLAIM_STALE_AFTER).won
                    assert not table.claim_incident("alarm#x", "critical-b", now, CLAIM_STALE_AFTER).won
                    with pytest.raises(Exception, match="AccessDenied"):
                        table.put_incident("alarm#x", {"status": "open"})
                    with pytest.raises(Exception, match="AccessDenied"):  # the incident records only
                        table.alert_context("alarm-x")
                with enforcement.acting_as("alert-intel-post"):
                    table.put_incident("alarm#x", {"status": "open", "ts": "1.1"}, replacing_ts="")
                    assert table.update_incident("alarm#x", {"fire_count": 2}, expect={"ts": "1.1"})["fire_count"] == 2
                    assert table.incident("alarm#x") == {"status": "open", "ts": "1.1", "fire_count": 2}
                    assert read_slack_secret("ALERT_INTEL_UNSET_TOKEN", "SLACK_BOT_TOKEN_SECRET_NAME") == "xoxb-local"
    finally:
        if saved is None:
            os.environ.pop("SLACK_BOT_TOKEN_SECRET_NAME", None)
        else:
            os.environ["SLACK_BOT_TOKEN_SECRET_NAME"] = saved
        read_slack_secret.cache_clear()
        runner.reset_local_caches()
    denied = [(c.function, c.request.action) for c in enforcement.denied_calls()]
    assert denied == [
        ("alert-intel-check-incident", "dynamodb:PutItem"),
        ("alert-intel-check-incident", "dynamodb:GetItem"),
    ]
