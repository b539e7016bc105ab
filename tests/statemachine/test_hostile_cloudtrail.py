"""What CloudTrail says is untrusted too: a user name or request parameter written by whoever made the change
reaches the context, the rules' root cause and Slack as data only, never as a mention, link or formatting."""

from __future__ import annotations

from functions.local_runner.cloudtrail_server import LOCAL_TRAIL
from functions.local_runner.runner import run_scenario
from functions.local_runner.scenario import load_scenario
from tests.support.slack_safety import slack_safety_violations

HOSTILE = "<!channel> *PWNED* <https://evil.example|Open the console> @here \u202eexe.gpj"


def test_hostile_change_text_is_evidence_not_markup():
    scenario = load_scenario("lambda-config-change-console")
    event = scenario.account.cloudtrail_events[0]
    event.username = f"alice {HOSTILE}"
    event.request_parameters = {"functionName": "InventorySync", "timeout": 3, "description": HOSTILE * 3}

    result = run_scenario(scenario, quick_retries=True)

    assert result.succeeded, result.error
    assert LOCAL_TRAIL.requests, "the compute branch looked up the changes through the loopback CloudTrail"
    assert result.analysis is not None and "configuration change" in result.analysis["root_cause"]
    compute = result.analyze_input["context"]["compute"]  # type: ignore[index]
    change = next(f for f in compute["facts"] if f["key"] == "compute.change.1")
    assert "PWNED" in change["text"]  # kept as evidence, bounded like every fact
    assert len(change["text"]) <= 240
    assert result.slack_posts
    for post in result.slack_posts:
        assert slack_safety_violations(post, posted=True, hostile_words=("PWNED",)) == []
