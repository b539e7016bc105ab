"""The storm benchmark's numbers (`make bench`, issue 14): ingest's names drop redeliveries, and every incident gets
one top-level Slack message, whatever the storm."""

from __future__ import annotations

from functions.local_runner.storm import run_storm, storm_deliveries


def test_the_storm_is_a_thousand_deliveries_of_a_hundred_distinct_alerts() -> None:
    deliveries = storm_deliveries()
    assert len(deliveries) == 1_000
    assert len(set(deliveries)) == 100


def test_one_top_level_message_per_incident_and_the_flaps_stay_in_their_threads() -> None:
    # When 1,000 deliveries arrive: 10 flapping alarms (5 state changes each), 50 alarms on one function
    report = run_storm()

    # Then redeliveries start no execution, and there are 11 incidents: one per flapping alarm, one for the function
    assert report.deliveries == 1_000
    assert report.executions == 100
    assert report.incidents == 11
    assert report.top_level_messages == report.incidents
    # The 50 alarms on one function are one thread: the first post, then a reply and an edit for each of the others
    assert max(report.calls_per_incident.values()) == 2 + 49 * 2
    # And "Check Incident" sends only each incident's first alert to the model: the flaps' re-fires and OKs and the 49
    # other alarms on the function go straight to Post
    assert report.model_calls == report.incidents == 11
    assert set(report.model_calls_per_incident.values()) == {1}
