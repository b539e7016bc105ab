"""The chat bot's settings: one validated model per Lambda, read once per cold start (see
`functions.shared.settings` for why these are plain pydantic models read from the environment).

Secrets are read by the adapters. Each Lambda's own model declares what it cannot work without, so a missing
variable is a `ConfigurationError` naming it (see `functions.shared.settings.load_settings`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from functions.shared.settings import EnvironmentSettings, JsonMapping, load_settings


class ChatSettings(EnvironmentSettings):
    conversations_table: str = Field(default="", validation_alias="CONVERSATIONS_TABLE")
    archive_bucket: str = Field(default="", validation_alias="ARCHIVE_BUCKET")
    worker_function_name: str = Field(default="", validation_alias="CHAT_WORKER_FUNCTION_NAME")
    # Bounds on one specialist's Claude tool-use loop.
    max_agent_steps: int = Field(default=5, ge=1, le=12, validation_alias="CHAT_MAX_AGENT_STEPS")
    max_output_tokens: int = Field(default=1_024, ge=128, le=4_096, validation_alias="CHAT_MAX_OUTPUT_TOKENS")
    max_total_tokens: int = Field(default=40_000, ge=1_000, validation_alias="CHAT_MAX_TOTAL_TOKENS")
    # How much of one tool result goes back to the model.
    max_tool_result_chars: int = Field(default=6_000, ge=500, validation_alias="CHAT_MAX_TOOL_RESULT_CHARS")
    # The alert channels per route, as Post reads them ({"critical": "C0...", "heartbeat": "C0..."}, JSON): the only
    # messages whose buttons (Acknowledge, Mute 1 h, Analyze with AI) act. None configured: no click acts.
    slack_alert_channels: JsonMapping = Field(default_factory=dict, validation_alias="SLACK_ALERT_CHANNELS")
    # The alert pipeline, which Analyze with AI starts for a heartbeat alert.
    state_machine_arn: str = Field(default="", validation_alias="STATE_MACHINE_ARN")

    @property
    def action_channels(self) -> frozenset[str]:
        return frozenset(channel for channel in self.slack_alert_channels.values() if channel)


class ChatEventsSettings(ChatSettings):
    """The events endpoint claims events in the table and hands questions to the worker."""

    conversations_table: str = Field(min_length=1, validation_alias="CONVERSATIONS_TABLE")
    worker_function_name: str = Field(min_length=1, validation_alias="CHAT_WORKER_FUNCTION_NAME")


class ChatWorkerSettings(ChatSettings):
    conversations_table: str = Field(min_length=1, validation_alias="CONVERSATIONS_TABLE")


class ArchiverSettings(ChatSettings):
    archive_bucket: str = Field(min_length=1, validation_alias="ARCHIVE_BUCKET")


@lru_cache(maxsize=1)
def get_chat_settings() -> ChatSettings:
    return load_settings(ChatSettings)


@lru_cache(maxsize=1)
def get_events_settings() -> ChatEventsSettings:
    return load_settings(ChatEventsSettings)


@lru_cache(maxsize=1)
def get_worker_settings() -> ChatWorkerSettings:
    return load_settings(ChatWorkerSettings)


@lru_cache(maxsize=1)
def get_archiver_settings() -> ArchiverSettings:
    return load_settings(ArchiverSettings)


def clear_chat_settings_caches() -> None:
    """Forget the chat settings read so far (tests and the local runner change the environment between runs)."""
    for cached in (get_chat_settings, get_events_settings, get_worker_settings, get_archiver_settings):
        cached.cache_clear()
