"""The analysis' typed verdict drives the presentation (issue 14): a false alarm or a no-problem verdict is not
posted as a page, whatever the root cause's wording; a problem stays red even when its wording mentions a false
alarm."""

from __future__ import annotations

from functions.format.logic import FALSE_ALARM_MARKER, format_message, verdict
from functions.shared.models import Analysis, FormatInput
from tests.unit.test_format_message import NOW, alarm_alert, claude_analysis, context


def _header(analysis: dict) -> str:
    fi = FormatInput.model_validate({"alert": alarm_alert(), "context": context(), "analysis": analysis})
    message = format_message(fi, now=NOW)
    return str(message.blocks[0]["text"]["text"])


def test_a_false_alarm_verdict_is_green_whatever_the_wording() -> None:
    # Given an analysis whose wording never says "false alarm", with the typed verdict false_alarm
    analysis = claude_analysis(
        root_cause="Errors on api stayed at zero; the threshold was not met.", verdict="false_alarm"
    )

    # Then the header is the green false-alarm marker, not the alert's critical severity
    header = _header(analysis)
    assert header.startswith(FALSE_ALARM_MARKER)
    assert "CRITICAL" not in header


def test_a_no_problem_verdict_is_not_a_page_either() -> None:
    analysis = claude_analysis(
        root_cause="The api function is healthy: invocations and latency are normal.", verdict="no_problem"
    )
    assert _header(analysis).startswith(FALSE_ALARM_MARKER)


def test_a_problem_that_mentions_a_false_alarm_stays_red() -> None:
    # Given a problem verdict whose wording contains "false alarm" (say, quoting an earlier message)
    analysis = claude_analysis(
        root_cause="This is not a false alarm: the 18:55 deploy of api broke the image decoder.", verdict="problem"
    )

    # Then the alert keeps its severity
    assert _header(analysis).startswith("🔴 CRITICAL")


def test_an_unknown_or_missing_verdict_keeps_the_alerts_severity() -> None:
    assert _header(claude_analysis(verdict="unknown")).startswith("🔴 CRITICAL")
    legacy = claude_analysis()
    legacy.pop("verdict", None)
    assert Analysis.model_validate(legacy).verdict == "unknown"
    assert verdict(Analysis.model_validate(legacy)) == "problem"
    assert verdict(None) == "problem"
