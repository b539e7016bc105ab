"""The real ASL, executed by moto's Step Functions interpreter, with our handlers running in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from functions.ingest.logic import pipeline_inputs_from_raw
from functions.local_runner.runner import RunResult, SimulatedAccount, simulated_account
from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario
from functions.local_runner.seed import seed_account
from functions.shared.models import PipelineInput
from tests.support.events import load_event

STATE_OUTPUT_TARGET_BYTES = 32 * 1024


@pytest.fixture(scope="module")
def account() -> Iterator[SimulatedAccount]:
    scenario = load_scenario(DEFAULT_SCENARIO)
    with simulated_account(seed=lambda now: seed_account(scenario.account, now=now), quick_retries=True) as acct:
        yield acct


@pytest.fixture(autouse=True)
def _no_overrides(account: SimulatedAccount) -> Iterator[None]:
    yield
    account.lambdas.overrides.clear()
    account.sink.queued.clear()


def _input_from_event(name: str, route: str = "critical") -> PipelineInput:
    event = load_event(name)
    raw = event if isinstance(event, str) else json.dumps(event)
    inputs = pipeline_inputs_from_raw(raw, default_route=route)  # type: ignore[arg-type]
    assert inputs, f"fixture {name} produced no pipeline input"
    return inputs[0]


def _run(account: SimulatedAccount, pipeline_input: PipelineInput) -> RunResult:
    # A unique name per test: the same alert twice would otherwise be de-duplicated, as on AWS.
    return account.execute(pipeline_input, name=f"test-{uuid.uuid4().hex[:12]}")


def _names(result: RunResult) -> list[str]:
    return [s.name for s in result.states]


def _state(result: RunResult, name: str):
    return next(s for s in result.states if s.name == name)


def test_a_critical_alert_goes_through_every_stage_and_is_posted(account: SimulatedAccount) -> None:
    # Given the demo scenario's own alert
    scenario = load_scenario(DEFAULT_SCENARIO)
    pipeline_input = pipeline_inputs_from_raw(json.dumps(scenario.alert))[0]

    # When it runs through the state machine
    result = _run(account, pipeline_input)

    # Then every stage ran, the three gather branches in parallel, and the model path was chosen
    assert result.status == "SUCCEEDED", result.cause
    names = _names(result)
    for expected in (
        "Classify Alert",
        "Check Incident",
        "Open Incident?",
        "Gather Context",
        "Gather Cost Context",
        "Gather Compute Context",
        "Gather Log Context",
        "Needs AI Analysis?",
        "Analyze Alert",
        "Format Slack Message",
        "Post To Slack",
    ):
        assert expected in names
    assert "Summarize Without AI" not in names
    assert "Post Incident Update" not in names  # a new incident is investigated
    assert names.index("Gather Context") < names.index("Gather Cost Context") < names.index("Needs AI Analysis?")
    assert all(state.status == "succeeded" for state in result.states)
    gathered = _state(result, "Gather Context").output["context"]
    assert [gathered[name]["name"] for name in ("cost", "compute", "logs")] == ["cost", "compute", "logs"]
    # And exactly the formatted message was posted to the critical webhook
    assert len(result.slack_posts) == 1
    # (the adapters add Slack's no-unfurl flags to every body: alert text must never unfurl a link)
    # (webhooks cannot thread: the thread's evidence follows the main message below a divider, decision 0013)
    output = result.output
    blocks = [*output["message"]["blocks"], {"type": "divider"}, *output["thread"]["blocks"]]
    posted_body: dict[str, Any] = {
        "text": output["message"]["text"],
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    assert result.slack_posts[0] == posted_body
    assert len(output["message"]["blocks"]) <= 6
    assert result.output["post"]["posted"] is True
    assert account.sink.received[-1].path.endswith("/B000CRITICAL/local-webhook")
    # And every state's output stays far below Step Functions' 256 KB limit
    assert result.max_state_output_bytes < STATE_OUTPUT_TARGET_BYTES
    # And all three context sections reached the analysis
    assert result.analyze_input is not None
    assert {k for k, v in result.analyze_input["context"].items() if v} == {"cost", "compute", "logs"}


def test_an_info_alert_skips_the_model(account: SimulatedAccount) -> None:
    # Given an info-level alert (the heartbeat alarm's payload) on the critical route
    result = _run(account, _input_from_event("heartbeat_sns.json").model_copy(update={"route": "critical"}))

    assert result.status == "SUCCEEDED", result.cause
    assert "Summarize Without AI" in _names(result)
    assert "Analyze Alert" not in _names(result)
    assert result.analysis is not None
    assert result.analysis["method"] == "rule_based"
    assert len(result.slack_posts) == 1


def test_a_resolution_goes_from_check_incident_straight_to_post(account: SimulatedAccount) -> None:
    # Given an alarm back to OK, in webhook-only mode (no incident memory)
    result = _run(account, _input_from_event("cloudwatch_alarm_ok_sns.json"))

    # Then no context is gathered, nothing is analysed or formatted: one compact line is posted
    assert result.status == "SUCCEEDED", result.cause
    names = _names(result)
    assert names[:4] == ["Classify Alert", "Check Incident", "Open Incident?", "Post Incident Update"]
    assert not {"Gather Context", "Analyze Alert", "Summarize Without AI", "Format Slack Message"} & set(names)
    check = _state(result, "Check Incident").output["incident_check"]
    assert (check["action"], check["reason"]) == ("update", "resolution: no investigation")
    [post] = result.slack_posts
    assert post["text"].startswith("✅ Resolved ")
    assert len(post["blocks"]) == 1 and post["blocks"][0]["type"] == "context"


def test_an_unreadable_incident_memory_investigates_the_alert(
    account: SimulatedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given bot-token settings naming a table that does not exist
    from functions.shared.settings import clear_settings_caches

    monkeypatch.setenv("SLACK_ALERT_CHANNELS", json.dumps({"critical": "C0NOWHERE"}))
    monkeypatch.setenv("CONVERSATIONS_TABLE", "no-such-table")
    clear_settings_caches()
    account.lambdas.overrides["alert-intel-post"] = lambda event, context: {
        "posted": True,
        "route": "critical",
        "status_code": 200,
    }
    try:
        result = _run(account, _input_from_event("cloudwatch_alarm_sns.json"))
    finally:
        monkeypatch.undo()
        clear_settings_caches()

    # Then "Check Incident" fails open: the alert is investigated as without the memory
    assert result.status == "SUCCEEDED", result.cause
    check = _state(result, "Check Incident").output["incident_check"]
    assert check["action"] == "investigate"
    assert check["reason"].startswith("incident memory unreadable")
    assert "Gather Context" in _names(result) and "Post To Slack" in _names(result)


def test_the_heartbeat_route_passes_through_without_the_model(account: SimulatedAccount) -> None:
    pipeline_input = _input_from_event("cloudwatch_alarm_sns.json").model_copy(update={"route": "heartbeat"})

    result = _run(account, pipeline_input)

    assert result.status == "SUCCEEDED", result.cause
    assert "Summarize Without AI" in _names(result)
    assert "Analyze Alert" not in _names(result)
    assert account.sink.received[-1].path.endswith("/B000HEARTBEAT/local-webhook")


def test_a_failing_gather_branch_is_recorded_and_the_alert_still_posts(account: SimulatedAccount) -> None:
    # Given the logs branch crashes outright
    def broken_logs_handler(event, context):
        raise RuntimeError("Logs Insights exploded")

    account.lambdas.overrides["alert-intel-gather-logs"] = broken_logs_handler

    # When an alert runs
    result = _run(account, _input_from_event("cloudwatch_alarm_sns.json"))

    # Then the branch's Catch recorded the failure in the state, and the run still posted
    assert result.status == "SUCCEEDED", result.cause
    assert _state(result, "Gather Log Context").status == "failed"
    assert _state(result, "Log Context Unavailable").status == "succeeded"
    assert result.analyze_input is not None
    logs = result.analyze_input["context"]["logs"]
    assert logs["status"] == "error"
    assert logs["error"] == "RuntimeError"
    assert "Logs Insights exploded" in logs["cause"]
    assert result.analyze_input["context"]["cost"]["status"] in ("ok", "skipped")
    assert len(result.slack_posts) == 1


def test_a_throttled_gather_branch_is_retried_by_name(account: SimulatedAccount) -> None:
    from functions.gather_compute.handler import handler as real_handler
    from functions.shared.errors import GatherThrottledError

    calls: list[int] = []

    def throttled_once(event, context):
        calls.append(1)
        if len(calls) == 1:
            raise GatherThrottledError("Rate exceeded")
        return real_handler(event, context)

    account.lambdas.overrides["alert-intel-gather-compute"] = throttled_once

    result = _run(account, _input_from_event("cloudwatch_alarm_sns.json"))

    assert result.status == "SUCCEEDED", result.cause
    assert len(calls) == 2
    compute = _state(result, "Gather Compute Context")
    assert compute.status == "succeeded"
    assert compute.attempts == 2
    assert result.analyze_input is not None
    assert result.analyze_input["context"]["compute"]["status"] != "error"


def test_a_slack_429_is_retried_honouring_retry_after(account: SimulatedAccount) -> None:
    # Given Slack rate-limits twice: the SDK honours Retry-After once, the state machine retries the rest
    account.sink.queue(429, "rate_limited", {"Retry-After": "1"})
    account.sink.queue(429, "rate_limited", {"Retry-After": "1"})
    posts_before = len(account.sink.received)

    # When an alert runs
    result = _run(account, _input_from_event("cloudwatch_alarm_sns.json"))

    # Then the message got through on the state machine's retry
    assert result.status == "SUCCEEDED", result.cause
    post = _state(result, "Post To Slack")
    assert post.error == "SlackRateLimitedError"
    assert post.attempts == 2
    assert len(account.sink.received) - posts_before == 3
    assert result.output["post"]["posted"] is True


def test_a_slack_rejection_fails_the_run_loudly(account: SimulatedAccount) -> None:
    account.sink.queue(404, "no_service")

    result = _run(account, _input_from_event("cloudwatch_alarm_sns.json"))

    assert result.status == "FAILED"
    assert result.error == "SlackPostError"


def test_an_unrecognised_alert_is_still_posted_raw(account: SimulatedAccount) -> None:
    # Given bytes no classifier understands
    pipeline_input = pipeline_inputs_from_raw(b"disk almost full on host db-7 \xff\xfe (legacy monitor)")[0]

    result = _run(account, pipeline_input)

    assert result.status == "SUCCEEDED", result.cause
    posted = json.dumps(result.slack_posts[0])
    assert "disk almost full on host db-7" in posted


def _real_handler(function_name: str) -> Any:
    import importlib

    from functions.local_runner.runner import PIPELINE_FUNCTIONS

    handler = next(path for name, path in PIPELINE_FUNCTIONS.values() if name == function_name)
    module, _, attribute = handler.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


WARM_UPS = {
    "Warm Up Analysis": "alert-intel-analyze",
    "Warm Up Formatting": "alert-intel-format",
    "Warm Up Posting": "alert-intel-post",
}


def test_the_stages_after_gathering_start_their_init_while_the_context_is_gathered(account: SimulatedAccount) -> None:
    # Given a critical alert, and a record of what each function is sent
    seen: list[tuple[str, Any]] = []
    for function_name in WARM_UPS.values():
        real = _real_handler(function_name)

        def recording(event: Any, context: Any, real: Any = real, function_name: str = function_name) -> Any:
            seen.append((function_name, event))
            return real(event, context)

        account.lambdas.overrides[function_name] = recording

    # When it runs
    result = _run(account, _input_from_event("cloudwatch_alarm_eventbridge.json"))

    # Then each later stage got exactly one warm-up request inside "Gather Context", before its real input
    assert result.succeeded, result.cause
    names = _names(result)
    for state, function_name in WARM_UPS.items():
        assert names.index("Gather Context") < names.index(state) < names.index("Needs AI Analysis?")
        assert _state(result, state).output == {"warmed_up": True}
        events = [event for name, event in seen if name == function_name]
        assert events[0] == {"warm_up": True} and all(e != {"warm_up": True} for e in events[1:]), function_name
        assert len(events) >= 2, f"{function_name} was warmed up but never ran"
    # And the gathered context holds the three evidence sections only
    assert set(_state(result, "Gather Context").output["context"]) == {"cost", "compute", "logs"}
    assert len(result.slack_posts) == 1


def test_a_failing_warm_up_changes_nothing_but_the_stage_starting_cold(account: SimulatedAccount) -> None:
    # Given an Analyze function whose warm-up fails (its init raised, say) but whose analysis works
    real = _real_handler("alert-intel-analyze")

    def failing_warm_up(event: Any, context: Any) -> Any:
        if event == {"warm_up": True}:
            raise RuntimeError("init failed")
        return real(event, context)

    account.lambdas.overrides["alert-intel-analyze"] = failing_warm_up

    # When an alert runs
    result = _run(account, _input_from_event("cloudwatch_alarm_eventbridge.json"))

    # Then the run still analyses and posts one message, and says which warm-up did not happen
    assert result.succeeded, result.cause
    names = _names(result)
    assert "Analysis Not Warmed Up" in names and "Analyze Alert" in names
    assert "Post Minimal Message" not in names
    assert len(result.slack_posts) == 1
