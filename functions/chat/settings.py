"""The chat bot's settings: one validated model read once per cold start (secrets are read by the adapter)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class ChatSettings(BaseModel):
    conversations_table: str = ""
    archive_bucket: str = ""
    worker_function_name: str = ""
    # Bounds on one specialist's Claude tool-use loop.
    max_agent_steps: int = Field(default=5, ge=1, le=12)
    max_output_tokens: int = Field(default=1_024, ge=128, le=4_096)
    max_total_tokens: int = Field(default=40_000, ge=1_000)
    # How much of one tool result goes back to the model.
    max_tool_result_chars: int = Field(default=6_000, ge=500)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name) or default


@lru_cache(maxsize=1)
def get_chat_settings() -> ChatSettings:
    return ChatSettings.model_validate(
        {
            "conversations_table": _env("CONVERSATIONS_TABLE"),
            "archive_bucket": _env("ARCHIVE_BUCKET"),
            "worker_function_name": _env("CHAT_WORKER_FUNCTION_NAME"),
            "max_agent_steps": _env("CHAT_MAX_AGENT_STEPS", "5"),
            "max_output_tokens": _env("CHAT_MAX_OUTPUT_TOKENS", "1024"),
            "max_total_tokens": _env("CHAT_MAX_TOTAL_TOKENS", "40000"),
            "max_tool_result_chars": _env("CHAT_MAX_TOOL_RESULT_CHARS", "6000"),
        }
    )
