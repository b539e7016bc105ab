"""Names and defaults of the CDK app, in one place.

Everything a platform team may want to change per environment lives in `ENVIRONMENT_DEFAULTS`; `cdk.json`'s
context (`alert-intel:environments`) overrides it per key, and `-c env=<name>` picks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from functions.shared.stages import PIPELINE_STAGES

REPO_ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = REPO_ROOT / "statemachines" / "alert_pipeline.asl.json"
PYPROJECT_PATH = REPO_ROOT / "pyproject.toml"
FUNCTIONS_DIR = REPO_ROOT / "functions"
BUILD_DIR = REPO_ROOT / "build" / "lambda"
STUB_LAYER_DIR = Path(__file__).resolve().parent / "packaging" / "stub_layer"
DEFAULT_OUTDIR = REPO_ROOT / "cdk.out"

PROJECT = "alert-intel"
# One Powertools service name for every function, so each custom metric has exactly one dimension set
# ({service: alert-intel}, plus AlertType where the code adds it) and the alarms below can match it.
SERVICE_NAME = "alert-intel"
METRICS_NAMESPACE = "AlertIntel"

# Context keys.
CONTEXT_ENV = "env"
CONTEXT_LAYERS = "layers"
CONTEXT_ENVIRONMENTS = "alert-intel:environments"
LAYERS_BUILT = "built"
LAYERS_STUB = "stub"
LAYERS_AUTO = "auto"

# Secrets the operator creates before deploying (see README, Deploy); the stacks only reference them by name.
SLACK_WEBHOOKS_SECRET_NAME = "alert-intel/slack-webhooks"  # {"critical": url, "heartbeat": url}
SLACK_SIGNING_SECRET_NAME = "alert-intel/slack-signing-secret"  # the Slack app's signing secret (string)
SLACK_BOT_TOKEN_SECRET_NAME = "alert-intel/slack-bot-token"  # the bot's xoxb- token (string)

# Lambda platform: the dependency layers are built with pip for exactly this platform.
LAMBDA_PYTHON_VERSION = "3.14"
LAMBDA_ARCHITECTURE = "arm64"  # Graviton: cheaper per GB-second; manylinux aarch64 wheels exist for every dep
PIP_PLATFORM = "manylinux2014_aarch64"

# Lambda handlers, module paths inside the code asset (whose root holds the `functions/` package).
# key: (handler, memory MB, timeout seconds), from the one stage table the local runner uses too.
PIPELINE_FUNCTIONS: dict[str, tuple[str, int, int]] = {
    stage.key: (stage.handler, stage.memory_mb, stage.timeout_seconds) for stage in PIPELINE_STAGES
}
INGEST_FUNCTION: tuple[str, int, int] = ("functions.ingest.handler.handler", 512, 30)
CHAT_FUNCTIONS: dict[str, tuple[str, int, int]] = {
    # Slack wants an answer within 3 s; API Gateway cuts at 29 s.
    "chat_events": ("functions.chat.events_handler.handler", 512, 10),
    "chat_worker": ("functions.chat.worker_handler.handler", 1024, 300),
    "chat_archiver": ("functions.chat.archiver_handler.handler", 512, 60),
}

# The ASL's placeholders and the pipeline function that fills each.
ASL_SUBSTITUTIONS: dict[str, str] = {stage.placeholder: stage.key for stage in PIPELINE_STAGES}

# Custom metrics the code emits (namespace AlertIntel).
METRIC_ALERTS_ANALYZED = "AlertsAnalyzed"
METRIC_ANALYSIS_LATENCY = "AnalysisLatency"
METRIC_LLM_TOKENS = "LLMTokensUsed"
METRIC_LLM_COST = "LLMCostUSD"
METRIC_TOOL_EXECUTIONS = "ToolExecutions"
METRIC_CONVERSATIONS = "Conversations"
METRIC_SLACK_POSTS = "SlackPosts"
METRIC_SLACK_POST_FAILURES = "SlackPostFailures"
METRIC_MODEL_ACCESS_DENIED = "ModelAccessDenied"  # functions/shared/adapters/bedrock.py

# Meta-alarm thresholds (the design's).
ANALYZER_FAILURE_RATE_PERCENT = 10
AVERAGE_LATENCY_SECONDS = 30
DAILY_LLM_COST_USD = 5

# Conversations table and archive.
CONVERSATIONS_PARTITION_KEY = "conversation_id"
CONVERSATIONS_SORT_KEY = "timestamp"
CONVERSATIONS_TTL_ATTRIBUTE = "ttl"
ARCHIVE_PREFIX = "conversations/"
ARCHIVE_TO_INFREQUENT_ACCESS_DAYS = 30
ARCHIVE_TO_GLACIER_DAYS = 90
ARCHIVE_EXPIRE_DAYS = 365

# Service principals allowed to publish to the alert topics.
ALERT_PUBLISHERS = ("budgets.amazonaws.com", "cloudwatch.amazonaws.com", "costalerts.amazonaws.com")

HAIKU_MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET_MODEL_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

# Cross-region inference profiles are named `<geo>.<foundation model id>`.
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "jp.", "au.", "ca.", "global.")


def foundation_model_id(model_id: str) -> str:
    """The foundation model behind a model id or a cross-region inference profile id."""
    for prefix in INFERENCE_PROFILE_PREFIXES:
        if model_id.startswith(prefix):
            return model_id.removeprefix(prefix)
    return model_id


def is_inference_profile(model_id: str) -> bool:
    return foundation_model_id(model_id) != model_id


def kebab_case(name: str) -> str:
    """`DailyLLMCost` -> `daily-llm-cost`: construct ids become physical names."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def function_construct_id(key: str) -> str:
    """`gather_cost` -> `GatherCostFunction`."""
    return "".join(part.capitalize() for part in key.split("_")) + "Function"


@dataclass(frozen=True)
class EnvironmentConfig:
    """One deployment target. Accounts here are placeholders: set yours in cdk.json."""

    name: str
    account: str
    region: str
    model_id: str
    bedrock_region: str = ""  # empty: the stack's region
    log_retention_days: int = 30
    retain_data: bool = False  # prod keeps the table and its data when the stack is deleted
    ops_email: str = ""  # optional e-mail subscription on the ops topic
    # Bot-token mode (decision 0014): route -> Slack channel ID, e.g. {"critical": "C0123ABC"}. Post then posts with
    # chat.postMessage and keeps one message per incident; these are also the only channels whose messages' buttons
    # act (Acknowledge, Mute 1 h, Analyze with AI: decision 0017). Empty: webhook-only mode, no click acts.
    slack_alert_channels: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def resolved_bedrock_region(self) -> str:
        return self.bedrock_region or self.region

    def resource_name(self, suffix: str) -> str:
        """Physical name shared by every resource of this environment: `alert-intel-<env>-<suffix>`."""
        return f"{PROJECT}-{self.name}-{suffix.replace('_', '-')}"

    def function_name(self, key: str) -> str:
        return self.resource_name(key)

    @property
    def state_machine_name(self) -> str:
        return self.resource_name("alert-pipeline")

    @property
    def ingest_dead_letters_name(self) -> str:
        return self.resource_name("ingest-dead-letters")

    @property
    def archiver_dead_letters_name(self) -> str:
        return self.resource_name("archiver-dead-letters")

    @property
    def chat_worker_dead_letters_name(self) -> str:
        return self.resource_name("chat-worker-dead-letters")

    def stack_name(self, suffix: str) -> str:
        return f"AlertIntel-{self.name}-{suffix}"


ENVIRONMENT_DEFAULTS: dict[str, dict[str, object]] = {
    "dev": {"account": "111111111111", "region": "us-east-1", "model_id": HAIKU_MODEL_ID, "log_retention_days": 14},
    "staging": {"account": "222222222222", "region": "us-east-1", "model_id": SONNET_MODEL_ID},
    "prod": {
        "account": "333333333333",
        "region": "us-east-1",
        "model_id": SONNET_MODEL_ID,
        "log_retention_days": 90,
        "retain_data": True,
    },
}
