"""Settings read from the environment: each field's variable, defaults in one place, required fields and malformed
values failing with the variable's name (decision 0023: plain pydantic models, not pydantic-settings)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from functions.chat.settings import ChatEventsSettings, ChatSettings
from functions.shared.errors import ConfigurationError
from functions.shared.settings import IngestSettings, Settings, load_settings


def test_each_field_is_read_from_its_variable() -> None:
    settings = Settings.from_environment(
        {
            "ALERT_INTEL_ENV": "prod",
            "AWS_REGION": "eu-west-1",
            "GATHER_TIMEOUT_SECONDS": "3.5",
            "LOGS_QUERY_LOOKBACK_MINUTES": "15",
            "SLACK_ALERT_CHANNELS": json.dumps({"critical": "C0CRIT"}),
            "UNRELATED_VARIABLE": "ignored",
        }
    )
    assert settings.environment == "prod"
    assert settings.aws_region == "eu-west-1"
    assert settings.gather_timeout_seconds == 3.5
    assert settings.logs_query_lookback_minutes == 15
    assert settings.slack_alert_channels == {"critical": "C0CRIT"}


def test_a_missing_or_empty_variable_takes_the_default() -> None:
    settings = Settings.from_environment({"ALERT_INTEL_MODEL_ID": "", "AWS_DEFAULT_REGION": "ap-south-1"})
    assert settings.model_id == ""
    assert settings.aws_region == "ap-south-1"  # the second name Lambda and the CLI use
    assert settings.slack_alert_channels == {}
    assert settings.incident_claim_wait_seconds == 10
    assert Settings.from_environment({"AWS_REGION": ""}).aws_region == "us-east-1"


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGS_QUERY_LOOKBACK_MINUTES", "42")
    assert load_settings(Settings).logs_query_lookback_minutes == 42


def test_a_required_variable_that_is_missing_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    with pytest.raises(ConfigurationError, match="IngestSettings: STATE_MACHINE_ARN"):
        load_settings(IngestSettings)
    monkeypatch.setenv("STATE_MACHINE_ARN", "")
    with pytest.raises(ConfigurationError, match="STATE_MACHINE_ARN"):
        load_settings(IngestSettings)
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:alerts")
    assert load_settings(IngestSettings).state_machine_arn.endswith(":alerts")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLACK_ALERT_CHANNELS", "{not json"),
        ("SLACK_ALERT_CHANNELS", '["C0CRIT"]'),
        ("GATHER_TIMEOUT_SECONDS", "0"),
        ("INCIDENT_CLAIM_WAIT_SECONDS", "600"),
        ("ALERT_INTEL_ENV", "production"),
    ],
)
def test_a_malformed_value_is_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(Settings)


def test_settings_are_frozen_and_can_be_built_in_code() -> None:
    settings = Settings(slack_alert_channels={"heartbeat": "C0BEAT"}, gather_timeout_seconds=1.0)
    assert settings.slack_alert_channels == {"heartbeat": "C0BEAT"}
    with pytest.raises(ValidationError):
        settings.model_id = "changed"  # type: ignore[misc]


def test_the_chat_settings_read_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {"CONVERSATIONS_TABLE": "conversations", "SLACK_ALERT_CHANNELS": '{"critical": "C0CRIT"}'}
    assert ChatSettings.from_environment(environment).action_channels == frozenset({"C0CRIT"})
    with pytest.raises(ValidationError, match="CHAT_WORKER_FUNCTION_NAME"):
        ChatEventsSettings.from_environment(environment)
