"""Alerts from another region (decision 0015): the gather stages read where the alert's resource is, and the roles
allow it. An alarm from eu-west-1, forwarded to a us-east-1 stack, runs under IAM enforcement."""

from __future__ import annotations

import json
from dataclasses import replace

from functions.local_runner import runner
from functions.local_runner.enforced_run import enforcement_for
from functions.local_runner.iam_enforcement import CallRecord, Request, is_allowed
from functions.local_runner.scenario import load_scenario
from tests.infrastructure.conftest import Synthesis

STACK_REGION, ALERT_REGION = runner.REGION, "eu-west-1"


def _in_alert_region(calls: list[CallRecord]) -> list[CallRecord]:
    return [call for call in calls if f":{ALERT_REGION}:" in call.request.resource]


def test_an_alarm_from_another_region_is_investigated_there_with_no_denied_call(synthesis: Synthesis) -> None:
    # Given a us-east-1 stack, and the Lambda errors incident happening in eu-west-1: the function, its metrics and
    # logs live there, and the alarm arrives forwarded from eu-west-1's event bus (the event and ARN name it)
    assert synthesis.config.region == STACK_REGION
    builtin = load_scenario("lambda-errors-after-deploy")
    scenario = builtin.model_copy(update={"account": builtin.account.model_copy(update={"region": ALERT_REGION})})
    alert = json.loads(json.dumps(builtin.alert).replace(STACK_REGION, ALERT_REGION))
    assert alert["region"] == ALERT_REGION
    enforcement = enforcement_for(synthesis.raw, synthesis.config)

    # When it runs under enforcement
    result = runner.run_scenario(scenario, alert_payload=alert, quick_retries=True, enforcement=enforcement)

    # Then no call was denied, and the gather stages read the function and its logs in eu-west-1
    assert result.status == "SUCCEEDED"
    assert [c.request for c in enforcement.denied_calls()] == []
    remote = _in_alert_region(enforcement.calls)
    assert {(c.function, c.request.action) for c in remote} >= {
        ("alert-intel-gather-compute", "lambda:GetFunction"),
        ("alert-intel-gather-logs", "logs:StartQuery"),
    }
    assert not [c for c in enforcement.calls if f":{STACK_REGION}:" in c.request.resource and "gather" in c.function]
    # And the evidence that lives there reached the analysis: the deploy's KeyError in the logs section
    context = json.dumps((result.analyze_input or {}).get("context"))
    assert "PAYMENT_API_URL" in context


def test_reads_scoped_to_the_stack_region_would_have_been_denied(synthesis: Synthesis) -> None:
    # Given the gather roles, and the same roles with their evidence reads scoped to the stack's region (as before)
    enforcement = enforcement_for(synthesis.raw, synthesis.config)
    function_arn = f"arn:aws:lambda:{ALERT_REGION}:{runner.ACCOUNT_ID}:function:CheckoutService"
    log_group_arn = f"arn:aws:logs:{ALERT_REGION}:{runner.ACCOUNT_ID}:log-group:/aws/lambda/CheckoutService"
    for function, request in (
        ("alert-intel-gather-compute", Request("lambda:GetFunction", function_arn)),
        ("alert-intel-gather-logs", Request("logs:StartQuery", log_group_arn)),
        ("alert-intel-chat-worker", Request("logs:StartQuery", log_group_arn)),
    ):
        statements = enforcement.policies[function]
        stack_scoped = [
            replace(s, resources=tuple(r.replace(":*:", f":{STACK_REGION}:", 1) for r in s.resources))
            for s in statements
        ]

        # Then the deployed roles allow the read in the alert's region, and stack-region scoping would not
        assert is_allowed(statements, request), (function, request)
        assert not is_allowed(stack_scoped, request), (function, request)
