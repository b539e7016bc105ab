"""Settings: one validated model, read once per cold start."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field

Environment = Literal["local", "dev", "staging", "prod"]


class Settings(BaseModel):
    environment: Environment = "local"
    aws_region: str = "us-east-1"
    service_name: str = "alert-intel"
    # Secrets Manager secret holding {"critical": "<webhook url>", "heartbeat": "<webhook url>"}.
    slack_webhooks_secret_name: str = "alert-intel/slack-webhooks"
    # Bedrock model; empty means "no model configured": the rule-based analysis runs, labelled as such.
    model_id: str = ""
    bedrock_region: str | None = None
    # Bound on one Bedrock call (the Analyze Lambda may make two: the answer and one repair).
    bedrock_timeout_seconds: float = Field(default=25.0, gt=0)
    state_machine_arn: str | None = None
    # Bound on every AWS read a gather stage makes, so a slow API cannot eat the Lambda's timeout.
    gather_timeout_seconds: float = Field(default=8.0, gt=0)
    logs_query_lookback_minutes: int = Field(default=60, gt=0)
    console_base_url: str = "https://console.aws.amazon.com"
    # The chat bot's Conversations table: when set, Post remembers each posted alert there for follow-up questions.
    conversations_table: str | None = None


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    region = _env("AWS_REGION") or _env("AWS_DEFAULT_REGION") or "us-east-1"
    values = {
        "environment": _env("ALERT_INTEL_ENV", "local"),
        "aws_region": region,
        "slack_webhooks_secret_name": _env("SLACK_WEBHOOKS_SECRET_NAME", "alert-intel/slack-webhooks"),
        "model_id": _env("ALERT_INTEL_MODEL_ID", ""),
        "bedrock_region": _env("BEDROCK_REGION"),
        "bedrock_timeout_seconds": _env("BEDROCK_TIMEOUT_SECONDS", "25"),
        "state_machine_arn": _env("STATE_MACHINE_ARN"),
        "gather_timeout_seconds": _env("GATHER_TIMEOUT_SECONDS", "8"),
        "logs_query_lookback_minutes": _env("LOGS_QUERY_LOOKBACK_MINUTES", "60"),
        "conversations_table": _env("CONVERSATIONS_TABLE"),
    }
    return Settings.model_validate(values)
