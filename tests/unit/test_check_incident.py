""" "Check Incident" (decision 0014): before any investigation, a re-fire, duplicate or resolution of an open
incident is routed to Post alone; a new incident, or a re-fire whose evidence changed materially, is investigated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.check_incident.logic import decide
from functions.local_runner.incident_memory import InMemoryIncidents
from functions.post.logic import post_incident
from functions.shared.incidents import (
    CLAIM_STALE_AFTER,
    INCIDENT_WINDOW,
    MAX_CLAIM_WAITS,
    RESOURCE_GROUPING_WINDOW,
    alert_signal,
    incident_ref,
    material_change,
)
from functions.shared.models import Alert, IncidentSignal, PostInput, SlackMessage

OPENED = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:alert-intel-pipeline:run-1"


def alarm(
    name: str = "Checkout-Errors",
    *,
    state: str = "ALARM",
    datapoints: str = "9.0 (25/11/26 06:00:00)",
    severity: str = "critical",
    function: str = "Checkout",
    at: datetime = OPENED,
    title: str | None = None,
) -> Alert:
    verb = "was not" if state == "OK" else "was"
    return Alert.model_validate(
        {
            "source": "cloudwatch_alarm",
            "alert_type": "alarm_state_change",
            "severity": severity,
            "title": title or f"{state}: {name}",
            "account_id": "123456789012",
            "region": "us-east-1",
            "occurred_at": at.isoformat(),
            "resource": {"type": "AWS::Lambda::Function", "name": function},
            "details": {
                "alarm_name": name,
                "alarm_arn": ARN + name,
                "state": state,
                "state_reason": f"Threshold Crossed: 1 datapoint [{datapoints}] {verb} greater than the threshold "
                "(1.0).",
                "threshold": 1.0,
                "metric_name": "Errors",
            },
            "dedup_key": f"{name}-{state}-{at:%H%M%S}",
        }
    )


class Store(InMemoryIncidents):
    """The incident records as the Conversations table keeps them (a JSON round trip, like DynamoDB's)."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail

    def incident(self, key: str) -> dict[str, Any] | None:
        if self.fail:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return super().incident(key)


class Web:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str]] = []  # (method, thread_ts, text)

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str:
        self.calls.append(("chat.postMessage", thread_ts, text))
        return f"1764050400.{len(self.calls):06d}"

    def update_message(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self.calls.append(("chat.update", ts, text))


def open_incident(store: Store, alert: Alert, web: Web | None = None) -> None:
    """The first alert of an incident, investigated and posted as Format and Post do it."""
    check = decide(alert, store)
    assert check.action == "investigate"
    incident = incident_ref(alert, evidence_digest="d1").model_copy(update={"signal": alert_signal(alert)})
    message = SlackMessage(
        text="🔴 CRITICAL Checkout failing",
        blocks=[{"type": "header", "text": {"type": "plain_text", "text": "🔴 CRITICAL Checkout failing"}}],
    )
    post_incident(
        PostInput(
            message=message, thread=SlackMessage(text="evidence", blocks=[{"type": "divider"}]), incident=incident
        ),
        web or Web(),
        "C0ALERTS",
        store,
    )


def test_a_new_incident_is_investigated() -> None:
    check = decide(alarm(), Store())
    assert (check.action, check.reason) == ("investigate", "new incident")
    assert check.message is None
    assert check.incident.signal == IncidentSignal(severity="critical", value=9.0, threshold=1.0)


def test_a_refire_with_the_same_evidence_only_updates_the_open_incident() -> None:
    # Given an open incident
    store = Store()
    open_incident(store, alarm())

    # When the alarm fires again ten minutes later, with the same breaching value
    check = decide(alarm(at=OPENED + timedelta(minutes=10)), store, execution_id=EXECUTION)

    # Then it is an update: no investigation, the compact line ready for Post
    assert check.action == "update"
    assert check.incident.investigated is False
    assert check.message is not None
    assert check.message.text == "🔁 Fired again 06:10 UTC: Checkout-Errors"
    assert "View run" in json.dumps(check.message.blocks)


@pytest.mark.parametrize(
    ("refire", "expected"),
    [
        (alarm(severity="critical"), "severity rose from warning to critical"),
        (alarm(severity="warning", datapoints="40.0 (25/11/26 06:10:00)"), "value moved from 9 to 40"),
        # +33 %: the same story, no new analysis
        (alarm(severity="warning", datapoints="0.0 (25/11/26 06:10:00), 12.0 (25/11/26 06:11:00)"), None),
    ],
)
def test_a_material_change_is_investigated_again(refire: Alert, expected: str | None) -> None:
    # Given an open incident opened by a warning with 9 errors
    store = Store()
    open_incident(store, alarm(severity="warning"))

    # When it fires again
    check = decide(refire.model_copy(update={"occurred_at": OPENED + timedelta(minutes=5)}), store)

    # Then a severity rise or a breaching value moved by half or more is investigated, with the reason
    if expected is None:
        assert check.action == "update"
    else:
        assert check.action == "investigate"
        assert check.incident.change == expected
        assert check.reason == f"re-fire with changed evidence: {expected}"


def test_material_change_rules() -> None:
    before = IncidentSignal(severity="warning", value=800.0, threshold=800.0)
    assert material_change(None, before) is None
    assert material_change(before, before) is None
    assert material_change(before, before.model_copy(update={"threshold": 1000.0})) == (
        "threshold changed from 800 to 1000"
    )
    assert material_change(before, before.model_copy(update={"value": 1300.0})) == "value moved from 800 to 1300"
    assert material_change(before, before.model_copy(update={"value": 500.0})) is None
    assert material_change(before.model_copy(update={"value": 0.0}), before) == "value rose from 0 to 800"
    assert material_change(before, before.model_copy(update={"severity": "info"})) is None


def test_a_resolution_never_runs_an_investigation_with_or_without_memory() -> None:
    store = Store()
    open_incident(store, alarm())
    ok = alarm(state="OK", datapoints="0.0", at=OPENED + timedelta(minutes=20))
    for memory in (store, None):
        check = decide(ok, memory)
        assert check.action == "update"
        assert check.incident.resolved
        assert check.message is not None and check.message.text == "✅ Resolved 06:20 UTC: Checkout-Errors"


def test_webhook_mode_investigates_every_firing_alert() -> None:
    # Without incident memory (no bot token) nothing can be threaded: a re-fire is a message of its own
    assert decide(alarm(), None).action == "investigate"
    assert decide(alarm(at=OPENED + timedelta(minutes=1)), None).reason == "no incident memory (webhook mode)"


def test_another_alarm_on_the_same_resource_joins_its_incident_within_the_grouping_window() -> None:
    store = Store()
    open_incident(store, alarm())
    soon = alarm("Checkout-Duration", at=OPENED + RESOURCE_GROUPING_WINDOW - timedelta(seconds=1))
    later = alarm("Checkout-Duration", at=OPENED + RESOURCE_GROUPING_WINDOW + timedelta(seconds=1))
    assert decide(soon, store).action == "update"
    assert decide(later, store).action == "investigate"


def test_another_alarm_on_the_resource_is_compared_by_severity_not_by_its_own_metric() -> None:
    # Given an incident opened by a warning on Checkout's errors (9 errors)
    store = Store()
    open_incident(store, alarm(severity="warning"))

    # When its latency alarm fires (another metric: 2,400 ms), first as a warning, then as critical
    latency = alarm("Checkout-Duration", datapoints="2400.0", severity="warning", at=OPENED + timedelta(minutes=2))

    # Then the other metric's number is not "a change"; a rise in severity is
    assert decide(latency, store).action == "update"
    rose = decide(latency.model_copy(update={"severity": "critical"}), store)
    assert (rose.action, rose.incident.change) == ("investigate", "severity rose from warning to critical")


def test_a_refire_after_the_incident_window_is_a_new_incident() -> None:
    store = Store()
    open_incident(store, alarm())
    assert decide(alarm(at=OPENED + INCIDENT_WINDOW + timedelta(minutes=1)), store).action == "investigate"


def test_an_unreadable_memory_means_investigate() -> None:
    check = decide(alarm(), Store(fail=True))
    assert check.action == "investigate"
    assert check.reason == "incident memory unreadable (RuntimeError)"


def test_the_compact_line_treats_the_alert_title_as_text() -> None:
    hostile = alarm(state="OK", title="OK: <!channel> *pay* <https://evil.example|click>")
    check = decide(hostile, None)
    assert check.message is not None
    text = json.dumps(check.message.blocks)
    assert "<!channel>" not in text and "<https://evil.example" not in text


def test_post_replies_in_the_thread_without_a_new_analysis_on_the_update_path() -> None:
    # Given an open incident
    store, web = Store(), Web()
    open_incident(store, alarm(), web)

    # When a re-fire with the same evidence goes from "Check Incident" straight to Post
    check = decide(alarm(at=OPENED + timedelta(minutes=26)), store)
    assert check.message is not None
    post_incident(PostInput(message=check.message, incident=check.incident), web, "C0ALERTS", store)

    # Then the header is edited and one note goes in the thread: no new top-level message, no analysis blocks
    top = [c for c in web.calls if c[0] == "chat.postMessage" and c[1] is None]
    assert len(top) == 1
    # (the reply before the edit: a refused reply is retried before the record counts the alert)
    (method, thread_ts, note), edit = web.calls[-2:]
    assert (method, thread_ts) == ("chat.postMessage", "1764050400.000001")
    assert note == "🔁 2nd alert: fired again at 06:26 UTC (2 in 26 min); same evidence, no new analysis"
    assert edit[0] == "chat.update" and edit[2].startswith("🔁 2x 🔴 CRITICAL")


def test_post_shows_the_new_analysis_and_records_its_signal_when_investigated_again() -> None:
    store, web = Store(), Web()
    open_incident(store, alarm(), web)
    refire = alarm(datapoints="90.0", at=OPENED + timedelta(minutes=5))
    check = decide(refire, store)
    assert check.action == "investigate"
    incident = incident_ref(refire, evidence_digest="d1").model_copy(
        update={"signal": alert_signal(refire), "change": check.incident.change}
    )
    analysis = SlackMessage(
        text="new", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "new analysis"}}]
    )
    post_incident(PostInput(message=analysis, incident=incident), web, "C0ALERTS", store)

    assert "the evidence changed (value moved from 9 to 90), the new analysis follows" in web.calls[-2][2]
    # And the next re-fire is compared with the new analysis' numbers, not the first one's
    assert decide(alarm(datapoints="95.0", at=OPENED + timedelta(minutes=6)), store).action == "update"


# --- Claims of a new incident (decision 0020) ------------------------------------------------------------------

WALL = datetime(2026, 11, 25, 6, 0, 5, tzinfo=UTC)


def test_the_first_execution_of_a_new_incident_claims_it_and_investigates() -> None:
    store = Store()
    check = decide(alarm(), store, claims=store, execution_name="critical-a", clock=WALL)
    assert (check.action, check.reason, check.waits) == ("investigate", "new incident", 0)
    # And a retried invocation of the same execution still holds the claim
    assert decide(alarm(), store, claims=store, execution_name="critical-a", clock=WALL).action == "investigate"


def test_a_second_alert_of_the_incident_waits_for_the_first_ones_message_then_replies_in_its_thread() -> None:
    # Given the first alert's execution claimed the new incident and is investigating it
    store, web = Store(), Web()
    first = alarm()
    assert decide(first, store, claims=store, execution_name="critical-a", clock=WALL).action == "investigate"

    # When a second alert of the incident is checked seconds later
    second = alarm(at=OPENED + timedelta(seconds=3))
    check = decide(second, store, claims=store, execution_name="critical-b", wait_seconds=7, clock=WALL)

    # Then it does not investigate: it waits, counted, naming who holds the claim
    assert (check.action, check.waits, check.wait_seconds) == ("wait", 1, 7)
    assert "critical-a claimed it at 06:00:05 UTC" in check.reason
    # And once the first message is posted, the check after the wait is an update of that incident
    open_incident(store, first, web)
    again = decide(second, store, claims=store, execution_name="critical-b", waits=1, clock=WALL)
    assert (again.action, again.waits) == ("update", 1)
    assert again.message is not None


def test_two_alarms_on_one_resource_at_once_are_one_incident() -> None:
    # Given the Errors alarm's execution claimed the new incident on the Checkout function and is investigating it
    store, web = Store(), Web()
    errors = alarm("Checkout-Errors")
    assert decide(errors, store, claims=store, execution_name="critical-a", clock=WALL).action == "investigate"

    # When the function's Duration alarm fires two seconds later
    duration = alarm("Checkout-Duration", at=OPENED + timedelta(seconds=2))
    check = decide(duration, store, claims=store, execution_name="critical-b", clock=WALL)

    # Then it waits for the first message instead of opening a second incident
    assert (check.action, check.waits) == ("wait", 1)
    assert "critical-a claimed it" in check.reason
    # And once that message exists it joins its thread (the resource grouping), without a second investigation
    open_incident(store, errors, web)
    again = decide(duration, store, claims=store, execution_name="critical-b", waits=1, clock=WALL)
    assert again.action == "update" and again.message is not None
    # While an alarm on another function claims its own incident at once
    other = alarm("Billing-Errors", function="Billing", at=OPENED + timedelta(seconds=2))
    assert decide(other, store, claims=store, execution_name="critical-c", clock=WALL).action == "investigate"
    # And a resource claim goes stale like any claim: a later alarm on the resource is never held up by it
    later = WALL + CLAIM_STALE_AFTER + timedelta(seconds=1)
    fresh = Store()
    decide(errors, fresh, claims=fresh, execution_name="critical-a", clock=WALL)
    assert decide(duration, fresh, claims=fresh, execution_name="critical-d", clock=later).action == "investigate"


def test_the_wait_is_bounded_and_a_stale_claim_is_taken_over() -> None:
    store = Store()
    decide(alarm(), store, claims=store, execution_name="critical-a", clock=WALL)
    second = alarm(at=OPENED + timedelta(seconds=3))

    # Given the holder posts nothing: each check waits again, up to MAX_CLAIM_WAITS, then investigates by itself
    waits = 0
    check = decide(second, store, claims=store, execution_name="critical-b", waits=waits, clock=WALL)
    while check.action == "wait":
        waits = check.waits
        check = decide(second, store, claims=store, execution_name="critical-b", waits=waits, clock=WALL)
    assert waits == MAX_CLAIM_WAITS
    assert check.action == "investigate" and "posted nothing after 6 checks" in check.reason

    # And a claim older than CLAIM_STALE_AFTER (its execution died) is taken over at once
    later = WALL + CLAIM_STALE_AFTER + timedelta(seconds=1)
    takeover = decide(second, store, claims=store, execution_name="critical-c", waits=1, clock=later)
    assert takeover.action == "investigate" and "taken over" in takeover.reason
    assert decide(second, store, claims=store, execution_name="critical-d", clock=later).action == "wait"


def test_a_claim_that_cannot_be_written_means_investigate() -> None:
    class Unclaimable(Store):
        def claim_incident(self, key: str, execution_name: str, now: datetime, stale_after: timedelta) -> Any:
            raise RuntimeError("AccessDeniedException")

    store = Unclaimable()
    check = decide(alarm(), store, claims=store, execution_name="critical-a", clock=WALL)
    assert check.action == "investigate" and "claim failed: RuntimeError" in check.reason


def test_only_a_new_incident_is_claimed() -> None:
    # Given an open incident: its re-fires and its resolution are updates, whoever holds a claim
    store, web = Store(), Web()
    open_incident(store, alarm(), web)
    store.claims[incident_ref(alarm()).key] = ("critical-other", WALL)
    refire = decide(alarm(at=OPENED + timedelta(minutes=1)), store, claims=store, execution_name="critical-b")
    ok = decide(alarm(state="OK", at=OPENED + timedelta(minutes=2)), store, claims=store, execution_name="critical-c")
    assert (refire.action, ok.action) == ("update", "update")
