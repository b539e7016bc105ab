"""Init-phase warm-up: what a configured mode needs is imported at Lambda init, and never in tests or local runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from functions.shared import init_phase

_PROBE = "import sys, functions.analyze.handler\nprint(json.dumps({'anthropic': 'anthropic' in sys.modules}))"


def _import_analyze(**env: str) -> dict[str, bool]:
    base = {
        k: v for k, v in os.environ.items() if k not in {"ALERT_INTEL_MODEL_ID", init_phase.INITIALIZATION_TYPE_ENV}
    }
    completed = subprocess.run(
        [sys.executable, "-c", "import json\n" + _PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={
            **base,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            **env,
        },
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_a_lambda_init_with_a_model_configured_imports_the_sdk_before_the_request() -> None:
    loaded = _import_analyze(
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand", ALERT_INTEL_MODEL_ID="us.anthropic.claude-haiku-4-5-20251001-v1:0"
    )
    assert loaded["anthropic"]


def test_no_model_configured_imports_no_sdk_even_in_a_lambda_init() -> None:
    assert not _import_analyze(AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")["anthropic"]


def test_tests_and_local_runs_never_warm_up_at_import() -> None:
    loaded = _import_analyze(ALERT_INTEL_MODEL_ID="us.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert not loaded["anthropic"]


def test_a_failing_warm_up_is_logged_and_left_for_the_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(init_phase.INITIALIZATION_TYPE_ENV, "on-demand")
    calls: list[str] = []

    def broken() -> None:
        calls.append("ran")
        raise ValueError("settings are invalid")

    assert init_phase.warm_up(broken, "probe") is False
    assert calls == ["ran"]
    assert init_phase.warm_up(lambda: None, "probe") is True
    monkeypatch.delenv(init_phase.INITIALIZATION_TYPE_ENV)
    assert init_phase.warm_up(broken, "probe") is False
    assert calls == ["ran"]


def _import_check_incident(**env: str) -> bool:
    base = {k: v for k, v in os.environ.items() if k not in {"CONVERSATIONS_TABLE", "SLACK_ALERT_CHANNELS"}}
    base.pop(init_phase.INITIALIZATION_TYPE_ENV, None)
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, functions.check_incident.handler; print('botocore.session' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**base, "AWS_DEFAULT_REGION": "us-east-1", **env},
    )
    return completed.stdout.strip().splitlines()[-1] == "True"


def test_check_incident_loads_botocore_at_init_only_in_bot_token_mode() -> None:
    # Webhook-only mode never reads the incident table: no botocore at all
    assert not _import_check_incident(AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    # Bot-token mode reads it on every invocation: its client is built at init
    bot_token_mode = {"CONVERSATIONS_TABLE": "t", "SLACK_ALERT_CHANNELS": '{"critical": "C0123"}'}
    assert _import_check_incident(AWS_LAMBDA_INITIALIZATION_TYPE="on-demand", **bot_token_mode)
    # And never when a test or the local runner imports the handler
    assert not _import_check_incident(**bot_token_mode)


@pytest.mark.parametrize(
    "expected", [("functions.analyze.handler", "anthropic"), ("functions.check_incident.handler", "botocore.session")]
)
def test_the_bench_measures_each_configured_init_with_its_warm_up(expected: tuple[str, str]) -> None:
    # The bench's "Lambda init in the other configurations" lines time what they say: the SDK is in the import.
    from functions.local_runner.bench import _deployed_configurations

    module, sdk = expected
    environment = next(env for _, handler, env in _deployed_configurations() if handler == module)
    base = {
        k: v for k, v in os.environ.items() if k not in {"ALERT_INTEL_MODEL_ID", init_phase.INITIALIZATION_TYPE_ENV}
    }
    code = f"import sys, {module}\nprint({sdk!r} in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={
            **base,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
            **environment,
        },
    )
    assert completed.stdout.strip().splitlines()[-1] == "True"
