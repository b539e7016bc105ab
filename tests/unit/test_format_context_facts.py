"""The "What we looked at" section shows the evidence even when its console links are very long."""

from __future__ import annotations

from functions.format.logic import format_message
from functions.shared.models import Alert, ContextSection, Fact, FormatInput, GatheredContext

LONG_LINK = "https://us-east-1.console.aws.amazon.com/costmanagement/home#/cost-explorer?filter=" + "%5B" * 200


def _section(name: str, count: int, link: str | None) -> ContextSection:
    facts = [Fact(key=f"{name}.{i}", text=f"{name} fact number {i}", link=link) for i in range(count)]
    return ContextSection(name=name, status="ok", looked_at=[f"{name} sources"], facts=facts)  # type: ignore[arg-type]


def _context_text(fi: FormatInput) -> str:
    message = format_message(fi)
    return next(
        b["text"]["text"] for b in message.blocks if b.get("text", {}).get("text", "").startswith("*What we looked at*")
    )


def test_facts_whose_links_do_not_fit_are_shown_as_text() -> None:
    # Given cost facts whose console links are each longer than a section's share of the message
    alert = Alert(source="budget", alert_type="budget_exceeded", severity="critical", title="Budget", dedup_key="k")
    context = GatheredContext(
        cost=_section("cost", 4, LONG_LINK), compute=_section("compute", 2, None), logs=_section("logs", 2, None)
    )

    # When the message is formatted
    text = _context_text(FormatInput(alert=alert, context=context))

    # Then every cost fact is still there to read, and nothing is hidden behind "…N more"
    for i in range(4):
        assert f"cost fact number {i}" in text
    assert "more_" not in text
    assert len(text) <= 3000


def test_a_skipped_section_leaves_its_share_to_the_others() -> None:
    alert = Alert(source="custom", alert_type="app_error", severity="critical", title="Boom", dedup_key="k")
    skipped = ContextSection(name="cost", status="skipped", notes=["not a cost alert"])
    context = GatheredContext(cost=skipped, compute=_section("compute", 12, None), logs=_section("logs", 12, None))

    text = _context_text(FormatInput(alert=alert, context=context))

    assert "*Cost*: skipped" in text
    assert text.count("compute fact number") + text.count("logs fact number") == 24
