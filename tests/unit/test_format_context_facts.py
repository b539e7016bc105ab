"""Without an analysis, the thread's evidence is the gathered facts: all of them, even when their links are long."""

from __future__ import annotations

from functions.format.logic import render_thread
from functions.shared.models import Alert, ContextSection, Fact, FormatInput, GatheredContext

LONG_LINK = "https://us-east-1.console.aws.amazon.com/costmanagement/home#/cost-explorer?filter=" + "%5B" * 200


def _section(name: str, count: int, link: str | None) -> ContextSection:
    facts = [Fact(key=f"{name}.{i}", text=f"{name} fact number {i}", link=link) for i in range(count)]
    return ContextSection(name=name, status="ok", looked_at=[f"{name} sources"], facts=facts)  # type: ignore[arg-type]


def _context_text(fi: FormatInput) -> str:
    """The thread's sections, as one text."""
    thread = render_thread(fi)
    assert thread is not None
    texts = [b["text"]["text"] for b in thread.blocks if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in texts)
    return "\n".join(texts)


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


def test_a_skipped_section_leaves_its_share_to_the_others() -> None:
    alert = Alert(source="custom", alert_type="app_error", severity="critical", title="Boom", dedup_key="k")
    skipped = ContextSection(name="cost", status="skipped", notes=["not a cost alert"])
    context = GatheredContext(cost=skipped, compute=_section("compute", 12, None), logs=_section("logs", 12, None))

    text = _context_text(FormatInput(alert=alert, context=context))

    assert "*Cost*: skipped" in text
    assert text.count("compute fact number") + text.count("logs fact number") == 24
