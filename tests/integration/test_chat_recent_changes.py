"""The chat bot answers "what changed?": CloudTrail's recorded writes on the resource, its alarm and its secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.chat.agents import roster
from functions.chat.aws_tools import ChangesInput, default_toolbox
from functions.local_runner.chat_commands import simulated_chat_account
from functions.shared.chat_models import AlertContext

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _call(**arguments: object) -> list[str]:
    tool = default_toolbox().get(roster.RECENT_CHANGES)
    assert tool is not None
    finding = tool.call(dict(arguments))
    assert finding.ok, finding.error
    return finding.lines


def test_a_console_edit_of_the_function_is_named_with_who_and_what() -> None:
    # Given the account where someone shortened a function's timeout in the console 14 minutes ago
    with simulated_chat_account("lambda-config-change-console"):
        lines = _call(resource_name="InventorySync", hours=2)

    # Then the answer names the write, who made it and the setting it changed; reads are not changes
    text = "\n".join(lines)
    assert "UpdateFunctionConfiguration" in text
    assert "alice.nguyen" in text
    assert "timeout" in text
    assert "GetFunction" not in text
    # And with no alert to measure from, times are relative to now only
    assert "min ago" in text
    assert "before the alert" not in text


def test_a_rotated_secret_the_function_reads_is_a_change_to_the_function() -> None:
    # Given a function whose environment names a secret rotated 19 minutes ago (no write to the function itself)
    with simulated_chat_account("lambda-secret-rotation-db-auth"):
        lines = _call(resource_name="arn:aws:lambda:us-east-1:123456789012:function:OrdersApi", hours=3)

    text = "\n".join(lines)
    assert "prod/orders/db-credentials-Xy12Ab" in text
    assert "UpdateSecretVersionStage" in text


def test_nothing_recorded_is_said_plainly() -> None:
    with simulated_chat_account("lambda-config-change-console"):
        lines = _call(resource_name="SomeOtherFunction", hours=1)
    assert any("no write to SomeOtherFunction" in line for line in lines)


@pytest.mark.parametrize(
    "bad",
    ["", "name with spaces", "x" * 300, "$(rm -rf /)", "Orders\nApi", "<@U123>", "`ls`"],
)
def test_the_resource_name_is_validated_before_any_read(bad: str) -> None:
    with pytest.raises(ValidationError):
        ChangesInput(resource_name=bad)


def test_a_what_changed_question_under_an_alert_plans_the_change_lookup() -> None:
    alert = AlertContext(
        dedup_key="k", title="Errors on InventorySync", resource="arn:aws:lambda:us-east-1:1:function:InventorySync"
    )
    plan = roster.INFRA_EXPERT.plan("what changed?", alert)
    assert [(call.tool, call.args) for call in plan] == [(roster.RECENT_CHANGES, {"resource_name": "InventorySync"})]
    # A question about metrics still reads the metrics
    assert roster.INFRA_EXPERT.plan("how many invocations?", alert)[0].tool == roster.LAMBDA_METRICS


def test_under_an_alert_in_another_region_the_tools_read_that_region() -> None:
    # Given an alert raised in eu-west-1 while the bot runs in us-east-1
    alert = AlertContext(dedup_key="k", title="Errors on InventorySync", resource="InventorySync", region="eu-west-1")
    # Then every planned read names the alert's region, and a region that is not one is not passed on
    for specialist, question in ((roster.INFRA_EXPERT, "what changed?"), (roster.INFRA_EXPERT, "metrics?")):
        assert all(call.args.get("region") == "eu-west-1" for call in specialist.plan(question, alert))
    assert all(call.args.get("region") == "eu-west-1" for call in roster.LOGS_ANALYST.plan("errors?", alert))
    hostile = alert.model_copy(update={"region": "eu-west-1; rm -rf /"})
    assert all("region" not in call.args for call in roster.INFRA_EXPERT.plan("what changed?", hostile))


def test_a_tool_reads_the_region_it_is_given() -> None:
    # Given the changed function's account seeded in us-east-1
    with simulated_chat_account("lambda-config-change-console"):
        here = _call(resource_name="InventorySync", hours=2)
        elsewhere = _call(resource_name="InventorySync", hours=2, region="eu-west-1")
    # Then reading eu-west-1 finds no such change there (the seeded events are us-east-1's)
    assert any("UpdateFunctionConfiguration" in line for line in here)
    assert not any("UpdateFunctionConfiguration" in line for line in elsewhere)
