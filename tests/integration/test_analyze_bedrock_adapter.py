"""The Bedrock adapter on its own: the request it signs and sends, and each failure in our own words."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from anthropic.types import Message

from functions.shared.adapters.bedrock import (
    HAIKU_CLASS_MODEL,
    SONNET_CLASS_MODEL,
    BedrockModel,
    BedrockRequestError,
    BedrockUnavailableError,
    get_bedrock_client,
    get_bedrock_model,
    reset_bedrock,
    resolve_model_id,
)
from functions.shared.errors import BedrockThrottledError
from functions.shared.settings import get_settings
from tests.support.fake_bedrock import FakeBedrock

MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in (
        "AWS_PROFILE",
        "AWS_BEARER_TOKEN_BEDROCK",
        "BEDROCK_REGION",
        "ALERT_INTEL_MODEL_ID",
        "ALERT_INTEL_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    get_settings.cache_clear()
    reset_bedrock()
    yield monkeypatch
    get_settings.cache_clear()
    reset_bedrock()


@pytest.fixture
def bedrock(env: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        env.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake.url)
        yield fake


def _ask(model: BedrockModel, temperature: float | None = None) -> Message:
    return model.create_message(
        system="You answer briefly.",
        messages=[{"role": "user", "content": "Hello"}],
        max_tokens=50,
        temperature=temperature,
    )


def test_locally_no_model_runs_unless_one_is_named(env: pytest.MonkeyPatch) -> None:
    # Given / When / Then: local without ALERT_INTEL_MODEL_ID means rules only
    assert resolve_model_id() == ""
    assert get_bedrock_model() is None

    # Given: a deployed environment picks from the table, and the variable overrides it
    env.setenv("ALERT_INTEL_ENV", "dev")
    get_settings.cache_clear()
    assert resolve_model_id() == HAIKU_CLASS_MODEL
    env.setenv("ALERT_INTEL_ENV", "prod")
    get_settings.cache_clear()
    assert resolve_model_id() == SONNET_CLASS_MODEL
    env.setenv("ALERT_INTEL_MODEL_ID", "us.anthropic.claude-sonnet-4-6")
    get_settings.cache_clear()
    assert resolve_model_id() == "us.anthropic.claude-sonnet-4-6"


def test_the_client_is_built_once_with_the_bedrock_region_and_no_sdk_retries(env: pytest.MonkeyPatch) -> None:
    # Given
    env.setenv("BEDROCK_REGION", "eu-central-1")
    env.setenv("BEDROCK_TIMEOUT_SECONDS", "7")
    get_settings.cache_clear()

    # When
    client = get_bedrock_client()

    # Then
    assert client is get_bedrock_client()
    assert client.aws_region == "eu-central-1"
    assert client.max_retries == 0
    assert str(client.base_url).startswith("https://bedrock-runtime.eu-central-1.amazonaws.com")


def test_a_tool_loop_message_is_sent_signed_with_an_optional_temperature(bedrock: FakeBedrock) -> None:
    # Given
    bedrock.answer_text("Hi.")
    model = BedrockModel(MODEL_ID)

    # When
    message = _ask(model, temperature=0.2)

    # Then
    request = bedrock.requests[0]
    assert request.path == f"/model/{MODEL_ID}/invoke"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert request.body["temperature"] == 0.2
    assert request.body["system"] == "You answer briefly." and request.body["max_tokens"] == 50
    assert message.content[0].type == "text" and message.content[0].text == "Hi."
    assert model.calls == 1


@pytest.mark.parametrize(
    ("answer", "expected_error", "fragment"),
    [
        (lambda fake: fake.throttle(), BedrockThrottledError, "HTTP 429 ThrottlingException"),
        (lambda fake: fake.server_error(503), BedrockUnavailableError, "HTTP 503 ServiceUnavailableException"),
        (
            lambda fake: fake.error(403, "AccessDeniedException", "not authorized to invoke this model"),
            BedrockRequestError,
            "not authorized to invoke this model",
        ),
        (
            lambda fake: fake.error(400, "ValidationException", "The provided model identifier is invalid."),
            BedrockRequestError,
            "HTTP 400 ValidationException",
        ),
    ],
)
def test_failures_are_translated_into_named_errors(
    bedrock: FakeBedrock, answer: object, expected_error: type[Exception], fragment: str
) -> None:
    # Given
    answer(bedrock)  # type: ignore[operator]

    # When / Then
    with pytest.raises(expected_error, match=fragment):
        _ask(BedrockModel(MODEL_ID))
    assert len(bedrock.requests) == 1


def test_an_unreachable_endpoint_is_unavailable(env: pytest.MonkeyPatch) -> None:
    # Given: a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env.setenv("ANTHROPIC_BEDROCK_BASE_URL", f"http://127.0.0.1:{port}")

    # When / Then
    with pytest.raises(BedrockUnavailableError, match="could not be reached"):
        _ask(BedrockModel(MODEL_ID))


def test_missing_credentials_are_a_request_error_not_a_crash(bedrock: FakeBedrock, env: pytest.MonkeyPatch) -> None:
    # Given: no credentials anywhere in the chain (a region of its own: the SDK caches one boto3 session per region)
    env.setenv("BEDROCK_REGION", "ap-southeast-4")
    get_settings.cache_clear()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.delenv(name, raising=False)
    env.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    env.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    env.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    env.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)

    # When / Then: nothing is sent unsigned
    with pytest.raises(BedrockRequestError, match="no AWS credentials"):
        _ask(BedrockModel(MODEL_ID))
    assert bedrock.requests == []
