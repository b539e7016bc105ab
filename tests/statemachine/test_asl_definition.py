"""The ASL file is the one definition CDK deploys and the local runner executes: lint it and check its seams."""

import json

import pytest
from statelint.linter import Linter

from functions.local_runner.runner import (
    DEFINITION_PATH,
    PIPELINE_FUNCTIONS,
    local_definition,
    placeholders,
    substitute,
)
from functions.shared import errors


def _all_states(states: dict) -> dict:
    found = dict(states)
    for state in states.values():
        for branch in state.get("Branches", []):
            found.update(_all_states(branch["States"]))
    return found


def test_every_placeholder_has_a_substitution_and_vice_versa():
    # Given the ASL text and the runner's substitutions
    text = DEFINITION_PATH.read_text()
    # Then they name exactly the same placeholders
    assert placeholders(text) == set(PIPELINE_FUNCTIONS)


def test_a_missing_substitution_is_an_error():
    with pytest.raises(KeyError, match="ClassifyFunctionArn"):
        substitute(DEFINITION_PATH.read_text(), {})


def test_statelint_accepts_the_substituted_definition():
    assert Linter.validate(json.loads(local_definition())) == []


def test_statelint_would_catch_a_dangling_next():
    # Given the definition with one transition pointing nowhere
    definition = json.loads(local_definition())
    definition["States"]["Classify Alert"]["Next"] = "No Such State"
    # Then the lint test above is able to fail
    assert any("No Such State" in problem for problem in Linter.validate(definition))


def test_the_definition_is_jsonpath_only():
    definition = json.loads(DEFINITION_PATH.read_text())
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert all(s.get("QueryLanguage", "JSONPath") == "JSONPath" for s in _all_states(definition["States"]).values())


def test_state_names_read_like_a_runbook():
    names = set(_all_states(json.loads(DEFINITION_PATH.read_text())["States"]))
    assert {
        "Classify Alert",
        "Check Incident",
        "Open Incident?",
        "Wait For The First Message",
        "Check Incident Again",
        "Post Incident Update",
        "Gather Context",
        "Gather Cost Context",
        "Gather Compute Context",
        "Gather Log Context",
        "Needs AI Analysis?",
        "Analyze Alert",
        "Format Slack Message",
        "Post To Slack",
    } <= names


def test_a_run_that_lost_the_incidents_claim_waits_then_checks_again_as_check_incident_does():
    # Given the definition's wait loop (decision 0020)
    states = json.loads(DEFINITION_PATH.read_text())["States"]
    wait_choice = [c for c in states["Open Incident?"]["Choices"] if c.get("StringEquals") == "wait"]
    wait, again, first = (
        states["Wait For The First Message"],
        states["Check Incident Again"],
        states["Check Incident"],
    )

    # Then "wait" leads through the Wait state (its seconds from the check) back to the same Choice
    assert [c["Next"] for c in wait_choice] == ["Wait For The First Message"]
    assert (wait["Type"], wait["SecondsPath"], wait["Next"]) == (
        "Wait",
        "$.incident_check.wait_seconds",
        "Check Incident Again",
    )
    assert again["Next"] == "Open Incident?"
    # And the check again is the same Lambda with the same inputs, plus the count that bounds the loop
    assert again["Resource"] == first["Resource"]
    assert again["Parameters"] == {**first["Parameters"], "waits.$": "$.incident_check.waits"}
    assert again["Catch"] == first["Catch"] and again["Retry"] == first["Retry"]


def test_every_task_retries_lambda_transient_errors():
    states = _all_states(json.loads(DEFINITION_PATH.read_text())["States"])
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        retried = {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}
        assert "Lambda.ServiceException" in retried, name
        assert "Lambda.TooManyRequestsException" in retried, name


def test_every_error_name_in_the_definition_exists_in_python():
    # The ASL retries our exceptions by class name: a rename on one side must break this test.
    states = _all_states(json.loads(DEFINITION_PATH.read_text())["States"])
    named = {
        error
        for state in states.values()
        for rule in state.get("Retry", []) + state.get("Catch", [])
        for error in rule["ErrorEquals"]
        if not error.startswith(("Lambda.", "States."))
    }
    assert named == {"GatherThrottledError", "BedrockThrottledError", "SlackRateLimitedError"}
    assert all(hasattr(errors, name) for name in named)


def test_each_gather_branch_catches_its_own_failure():
    definition = json.loads(DEFINITION_PATH.read_text())
    for branch in definition["States"]["Gather Context"]["Branches"]:
        task = branch["States"][branch["StartAt"]]
        assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"]
        assert task["Catch"][0]["ResultPath"] == "$.failure"
