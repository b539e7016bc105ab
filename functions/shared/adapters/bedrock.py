"""Claude on Amazon Bedrock through `anthropic[bedrock]`: one client per container, errors in our own words.

The SDK signs every request with SigV4 from the standard AWS credential chain and sends it to
`bedrock-runtime.<region>.amazonaws.com`, or to `ANTHROPIC_BEDROCK_BASE_URL` when that is set (the SDK reads it
itself; tests point it at a loopback server). SDK retries are off: the state machine owns retrying a throttled
call, so a Lambda never sleeps through its own timeout.

`anthropic` is imported on first use: it takes about a second to import, and a container with no model configured
(the rule-based analysis) never needs it. With a model configured, Analyze's handler builds the client at Lambda
init (`functions.shared.init_phase`, decision 0021), so the import is not paid inside the first request.

Used by the Analyze stage and by the chat Lambda (`BedrockModel.create_message` is a plain Messages call, fit for a
tool-use loop).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from functions.shared.errors import AlertIntelError, BedrockThrottledError
from functions.shared.settings import Settings, get_settings

if TYPE_CHECKING:
    import anthropic
    from anthropic import AnthropicBedrock
    from anthropic.types import Message

# Bedrock model per environment (cross-region inference profiles, which the 4.x models need for on-demand use).
# ALERT_INTEL_MODEL_ID overrides; locally there is no default, so Claude runs only when the variable is set.
HAIKU_CLASS_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET_CLASS_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MODEL_BY_ENVIRONMENT: dict[str, str] = {
    "local": "",
    "dev": HAIKU_CLASS_MODEL,
    "staging": SONNET_CLASS_MODEL,
    "prod": SONNET_CLASS_MODEL,
}

# On-demand list prices in USD per million tokens (input, output), matched by the first key the model id contains.
# Check them against the Bedrock pricing page when you change models; unknown models are priced as Sonnet-class
# so a cost estimate errs high rather than reading zero.
PRICE_PER_MILLION_TOKENS: tuple[tuple[str, tuple[float, float]], ...] = (
    ("claude-haiku-4-5", (1.00, 5.00)),
    ("claude-3-5-haiku", (0.80, 4.00)),
    ("claude-3-haiku", (0.25, 1.25)),
    ("claude-sonnet-4", (3.00, 15.00)),
    ("claude-3-7-sonnet", (3.00, 15.00)),
    ("claude-3-5-sonnet", (3.00, 15.00)),
    ("claude-opus-4-6", (5.00, 25.00)),
    ("claude-opus-4-5", (5.00, 25.00)),
    ("claude-opus-4", (15.00, 75.00)),
    ("haiku", (1.00, 5.00)),
    ("opus", (15.00, 75.00)),
)
DEFAULT_PRICE_PER_MILLION_TOKENS = (3.00, 15.00)

CONNECT_TIMEOUT_SECONDS = 5.0


class BedrockCallError(AlertIntelError):
    """Claude on Bedrock could not answer, for a reason retrying right away would not fix; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BedrockTimeoutError(BedrockCallError):
    """Bedrock did not answer within the client's timeout."""


class BedrockUnavailableError(BedrockCallError):
    """Bedrock answered with a server error (5xx) or could not be reached."""


class BedrockRequestError(BedrockCallError):
    """Bedrock rejected the request (4xx other than throttling): access, model id, or request shape."""


def model_for_environment(environment: str) -> str:
    """The table's model for `environment` ("" for local: no model unless ALERT_INTEL_MODEL_ID names one)."""
    return MODEL_BY_ENVIRONMENT.get(environment, "")


def resolve_model_id(settings: Settings | None = None) -> str:
    """The Bedrock model id to use, or "" when none is configured (the rule-based analysis runs)."""
    settings = settings or get_settings()
    return settings.model_id or model_for_environment(settings.environment)


def price_per_million_tokens(model_id: str) -> tuple[float, float]:
    lowered = model_id.lower()
    for key, prices in PRICE_PER_MILLION_TOKENS:
        if key in lowered:
            return prices
    return DEFAULT_PRICE_PER_MILLION_TOKENS


def estimate_cost_usd(model_id: str, input_tokens: int, output_tokens: int) -> float:
    """List-price cost of one call (or several, summed), in USD, rounded to a millionth of a dollar."""
    input_price, output_price = price_per_million_tokens(model_id)
    return round((input_tokens * input_price + output_tokens * output_price) / 1_000_000, 6)


@lru_cache(maxsize=1)
def get_bedrock_client() -> AnthropicBedrock:
    """The process's Bedrock client, built on first use (region: BEDROCK_REGION, else AWS_REGION)."""
    import anthropic

    settings = get_settings()
    timeout = _timeout_seconds(settings)
    return anthropic.AnthropicBedrock(
        aws_region=settings.bedrock_region or settings.aws_region,
        timeout=anthropic.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)),
        max_retries=0,
    )


def _timeout_seconds(settings: Settings) -> float:
    return settings.bedrock_timeout_seconds


@dataclass
class BedrockModel:
    """One Bedrock model, called through the shared client. `calls` counts requests sent, for usage reports."""

    model_id: str
    client_factory: Callable[[], AnthropicBedrock] = field(default=lambda: get_bedrock_client())
    calls: int = field(default=0, init=False)

    def create_message(
        self,
        *,
        system: str,
        messages: Iterable[dict[str, Any]],
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Message:
        """Send one Messages request to Bedrock InvokeModel and return Claude's message.

        `temperature=None` leaves the model's default; `messages` may hold tool_use / tool_result blocks (a tool loop).

        Raises:
            BedrockThrottledError: Bedrock answered 429 / ThrottlingException (the alert state machine retries it).
            BedrockTimeoutError: no answer within the client's timeout.
            BedrockUnavailableError: a 5xx answer, or Bedrock could not be reached.
            BedrockRequestError: any other rejection (access denied, unknown model, malformed request, ...), or no
                AWS credentials to sign with.
        """
        request: dict[str, Any] = {
            "model": self.model_id,
            "system": system,
            "messages": list(messages),
            "max_tokens": max_tokens,
        }
        if tools:
            request["tools"] = tools
        if tool_choice:
            request["tool_choice"] = tool_choice
        if temperature is not None:
            # The 2.x SDK dropped the keyword; Bedrock's Messages body still takes the field.
            request["extra_body"] = {"temperature": temperature}
        import anthropic

        self.calls += 1
        started = time.perf_counter()
        try:
            return self.client_factory().messages.create(**request)
        except anthropic.APITimeoutError as exc:
            waited = time.perf_counter() - started
            raise BedrockTimeoutError(f"Bedrock did not answer within {waited:.1f} s") from exc
        except anthropic.APIConnectionError as exc:
            raise BedrockUnavailableError(f"Bedrock could not be reached ({type(exc).__name__})") from exc
        except anthropic.APIStatusError as exc:
            raise _translate_status_error(exc) from exc
        except anthropic.AnthropicError as exc:
            raise BedrockRequestError(f"the Bedrock request failed ({type(exc).__name__}: {exc})"[:300]) from exc
        except RuntimeError as exc:
            # The SDK signs requests itself and says so with a bare RuntimeError when the chain has no credentials.
            if "credentials" not in str(exc).lower():
                raise
            raise BedrockRequestError(f"no AWS credentials for Bedrock ({exc})") from exc


def _translate_status_error(exc: anthropic.APIStatusError) -> Exception:
    error_type = exc.response.headers.get("x-amzn-errortype", "").split(":", 1)[0]
    message = _error_message(exc)
    described = f"HTTP {exc.status_code}{' ' + error_type if error_type else ''}: {message}"[:300]
    if exc.status_code == 429 or error_type == "ThrottlingException":
        return BedrockThrottledError(f"Bedrock throttled the request ({described})")
    if exc.status_code >= 500:
        return BedrockUnavailableError(f"Bedrock returned a server error ({described})")
    if exc.status_code == 403 or error_type == "AccessDeniedException":
        record_model_access_denied()
    return BedrockRequestError(f"Bedrock rejected the request ({described})")


METRIC_MODEL_ACCESS_DENIED = "ModelAccessDenied"


def record_model_access_denied() -> None:
    """One `ModelAccessDenied` data point (namespace AlertIntel, dimension service only, so the meta-alarm matches
    it whatever the alert type): model access not enabled for the account, or the role not allowed. Without it
    the system would fall back to the rules forever with only a Slack footer saying so."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    settings = get_settings()
    with single_metric(
        name=METRIC_MODEL_ACCESS_DENIED,
        unit=MetricUnit.Count,
        value=1,
        # Named here, not left to POWERTOOLS_METRICS_NAMESPACE: this may run before observability set its default.
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "AlertIntel",
        default_dimensions={"service": settings.service_name},
    ):
        pass


def _error_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        for key in ("message", "Message"):
            if isinstance(body.get(key), str):
                return str(body[key])
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return exc.message


@lru_cache(maxsize=1)
def get_bedrock_model() -> BedrockModel | None:
    """The configured model, or None when no model is configured (then the rule-based analysis runs)."""
    model_id = resolve_model_id()
    if not model_id:
        return None
    get_bedrock_client()  # build the client (and import the SDK) now, not inside the first timed call
    return BedrockModel(model_id)


def reset_bedrock() -> None:
    """Forget the cached client and model (tests change settings between cases)."""
    get_bedrock_client.cache_clear()
    get_bedrock_model.cache_clear()
