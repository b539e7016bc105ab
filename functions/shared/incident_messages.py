"""The compact lines posted for an alert that needs no investigation (decision 0014): a resolution ("✅ Resolved
06:41 UTC: api-errors") and a re-fire of an open incident ("🔁 Fired again 06:41 UTC: api-errors").

They are built here, in `shared`, because two stages post them: "Check Incident" (the update path, which skips
Gather, Analyze and Format) and Format (which still renders the resolution line when the update path is not taken,
e.g. after "Check Incident" itself failed). Alert text is escaped like every other part of a message
(`functions.shared.slack_text`); the only link is the console link to the run, built here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from functions.shared import console_links
from functions.shared.models import Alert, SlackMessage
from functions.shared.slack_text import clip, escape, link, one_line

MAX_LINE_CHARS = 150  # a header's length: the line stands in for one
MAX_URL_CHARS = 3000
_TITLE_PREFIX = re.compile(r"^(?:ALARM|ALERT|OK|INSUFFICIENT_DATA): ", re.I)


def alert_name(alert: Alert) -> str:
    """The alert's title without its state prefix ("ALARM: ", "OK: "), untrusted and not yet escaped."""
    title = one_line(alert.title[:400])
    return _TITLE_PREFIX.sub("", title) or alert.alert_type or "Alert"


def resolution_line(alert: Alert, *, execution_id: str | None = None, now: datetime | None = None) -> SlackMessage:
    """ "✅ Resolved 06:41 UTC: api-errors (Errors on api)", at the alert's own time. With the bot token, Post also
    edits the incident's message."""
    return _line("✅ Resolved", alert, execution_id=execution_id, now=now)


def refire_line(alert: Alert, *, execution_id: str | None = None, now: datetime | None = None) -> SlackMessage:
    """ "🔁 Fired again 06:41 UTC: api-errors": what a re-fire posts when its open incident is not found by Post
    after all (its record expired in between); normally Post replies in the incident's thread instead."""
    return _line("🔁 Fired again", alert, execution_id=execution_id, now=now)


def _line(label: str, alert: Alert, *, execution_id: str | None, now: datetime | None) -> SlackMessage:
    moment = alert.occurred_at or now or datetime.now(UTC)
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    text = clip(f"{label} {moment:%H:%M} UTC: {escape(alert_name(alert))}", MAX_LINE_CHARS)
    elements = [text]
    if execution_id:
        url = console_links.stepfunctions_execution_url(execution_id)
        if len(url) <= MAX_URL_CHARS and console_links.is_console_url(url):
            elements.append(link(url, "View run"))
    return SlackMessage(
        text=text, blocks=[{"type": "context", "elements": [{"type": "mrkdwn", "text": e} for e in elements]}]
    )
