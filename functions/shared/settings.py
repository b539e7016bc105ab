"""Settings: one validated model per Lambda, read from the environment once per cold start.

`Settings` holds what every pipeline stage may read, each field with its environment variable and its default in
one place. A Lambda that cannot work without a value declares it required in its own subclass (`IngestSettings`),
so a missing variable fails at the first read with a `ConfigurationError` naming it, instead of a hand-written
"X is not set" check. An empty variable counts as unset.

The models are plain pydantic models validated from `os.environ` (`EnvironmentSettings.from_environment`), not
pydantic-settings: that library imports asyncio, argparse, python-dotenv and its own sources at every cold start
(about half of an `import boto3`, measured by `make bench`) for what a Lambda environment that CDK writes never
uses — dotenv files, a CLI, secret folders, case-insensitive names. Variable names are therefore exact, and a
mapping-valued variable is JSON (`JsonMapping`). docs/decisions/0023-settings-without-pydantic-settings.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from functions.shared.errors import ConfigurationError

Environment = Literal["local", "dev", "staging", "prod"]


def _json_text(value: Any) -> Any:
    """An environment variable holds text: a mapping arrives as JSON (a mapping given in code passes as it is)."""
    return json.loads(value) if isinstance(value, str) else value


# A mapping read from one environment variable as a JSON object ({"critical": "C0...", ...}).
JsonMapping = Annotated[dict[str, str], BeforeValidator(_json_text)]


class EnvironmentSettings(BaseModel):
    """A Lambda's settings: each field names its environment variable in `validation_alias`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The model validated from `environ` (the process environment when None); an empty variable is unset."""
        source = os.environ if environ is None else environ
        return cls.model_validate({name: value for name, value in source.items() if value != ""})


SettingsT = TypeVar("SettingsT", bound=EnvironmentSettings)


class Settings(EnvironmentSettings):
    environment: Environment = Field(default="local", validation_alias="ALERT_INTEL_ENV")
    aws_region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    service_name: str = Field(default="alert-intel", validation_alias="POWERTOOLS_SERVICE_NAME")
    # Secrets Manager secret holding {"critical": "<webhook url>", "heartbeat": "<webhook url>"}.
    slack_webhooks_secret_name: str = Field(
        default="alert-intel/slack-webhooks", validation_alias="SLACK_WEBHOOKS_SECRET_NAME"
    )
    # Bedrock model; empty means "no model configured": the rule-based analysis runs, labelled as such.
    model_id: str = Field(default="", validation_alias="ALERT_INTEL_MODEL_ID")
    bedrock_region: str | None = Field(default=None, validation_alias="BEDROCK_REGION")
    # Bound on one Bedrock call (the Analyze Lambda may make two: the answer and one repair).
    bedrock_timeout_seconds: float = Field(default=25.0, gt=0, validation_alias="BEDROCK_TIMEOUT_SECONDS")
    state_machine_arn: str | None = Field(default=None, validation_alias="STATE_MACHINE_ARN")
    # Bound on every AWS read a gather stage makes, so a slow API cannot eat the Lambda's timeout.
    gather_timeout_seconds: float = Field(default=8.0, gt=0, validation_alias="GATHER_TIMEOUT_SECONDS")
    logs_query_lookback_minutes: int = Field(default=60, gt=0, validation_alias="LOGS_QUERY_LOOKBACK_MINUTES")
    console_base_url: str = Field(default="https://console.aws.amazon.com", validation_alias="CONSOLE_BASE_URL")
    # The chat bot's Conversations table: when set, Post remembers each posted alert there for follow-up questions.
    conversations_table: str | None = Field(default=None, validation_alias="CONVERSATIONS_TABLE")
    # With the chat app's bot token: the channel ID per route ({"critical": "C0...", "heartbeat": "C0..."}, JSON).
    # A route with a channel is posted with chat.postMessage (main message, evidence in its thread); a route
    # without one keeps its incoming webhook (docs/decisions/0013-main-message-and-thread.md).
    slack_alert_channels: JsonMapping = Field(default_factory=dict, validation_alias="SLACK_ALERT_CHANNELS")
    # How long an execution that lost an incident's claim waits before it checks again for the first message
    # (decision 0020); the local runner's tests shorten it, since moto's Wait state really sleeps.
    incident_claim_wait_seconds: int = Field(default=10, ge=1, le=60, validation_alias="INCIDENT_CLAIM_WAIT_SECONDS")


class IngestSettings(Settings):
    """Ingest cannot start a run without the state machine."""

    state_machine_arn: str = Field(min_length=1, validation_alias="STATE_MACHINE_ARN")
    # The alert topics (comma-separated ARNs): an alarm whose actions name one is delivered by SNS, with its route.
    alert_topic_arns: str = Field(default="", validation_alias="ALERT_TOPIC_ARNS")
    # Alarms named with this prefix are alert-intel's own meta-alarms: they notify the ops topic only.
    own_alarm_prefix: str = Field(default="", validation_alias="OWN_ALARM_PREFIX")


def load_settings(model: type[SettingsT]) -> SettingsT:
    """`model` read from the environment.

    Raises:
        ConfigurationError: a required variable is missing or a value is malformed; the message names each one.
    """
    try:
        return model.from_environment()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in error['loc']) or '<settings>'}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigurationError(f"{model.__name__}: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings)


@lru_cache(maxsize=1)
def get_ingest_settings() -> IngestSettings:
    return load_settings(IngestSettings)


def clear_settings_caches() -> None:
    """Forget the settings read so far (tests and the local runner change the environment between runs)."""
    get_settings.cache_clear()
    get_ingest_settings.cache_clear()
