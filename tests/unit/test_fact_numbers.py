"""Facts carry their numbers, and the rules decide from the numbers, not from the sentence."""

from __future__ import annotations

from functions.analyze.rules import analyze_with_rules
from functions.shared.models import ContextSection, Fact, GatheredContext, Measurement, ResourceRef
from tests.support.gather_fakes import alarm_alert, budget_alert


def _section(name: str, *facts: Fact) -> ContextSection:
    return ContextSection(name=name, status="ok", facts=list(facts))  # type: ignore[arg-type]


def test_a_lambda_storm_is_named_from_the_fact_subject_whatever_the_sentence_says() -> None:
    # Given facts whose sentences match none of the old patterns, but whose numbers and subjects are set
    mover = Fact(
        key="compute.lambda_mover",
        text="invocations quadrupled: 1,382,400 vs 345,600",
        subject="ImageProcessor",
        numbers=Measurement(value=1_382_400, baseline=345_600, unit="invocations", window="24h", change_pct=300),
    )
    cost = Fact(
        key="cost.top_mover",
        text="biggest mover: $48.00 vs $12.00",
        subject="AWS Lambda",
        numbers=Measurement(value=48, baseline=12, unit="USD", window="1d", change_pct=300),
    )
    context = GatheredContext(cost=_section("cost", cost), compute=_section("compute", mover))

    # When
    analysis = analyze_with_rules(budget_alert(), context)

    # Then
    assert analysis.root_cause.startswith("Invocation storm on Lambda ImageProcessor")
    assert analysis.confidence == "high"
    assert any("ImageProcessor" in command for command in analysis.diagnostics)


def test_a_threshold_not_crossed_is_read_from_the_numbers() -> None:
    # Given an alarm whose metric fact says in numbers (not words) that the threshold was not crossed
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "ReportGenerator"}).model_copy(
        update={"resource": ResourceRef(type="AWS::Lambda::Function", name="ReportGenerator")}
    )
    metric = Fact(
        key="compute.alarm_metric",
        text="Alarm metric Errors: 0 at the peak",
        numbers=Measurement(value=0, baseline=0, threshold=1, crossed=False),
    )
    clean_logs = Fact(key="logs.error_count", text="No error lines", value=0)
    context = GatheredContext(compute=_section("compute", metric), logs=_section("logs", clean_logs))

    # When
    analysis = analyze_with_rules(alert, context)

    # Then
    assert "false alarm" in analysis.root_cause


def test_numbers_survive_a_state_boundary() -> None:
    fact = Fact(key="k", text="t", subject="s", numbers=Measurement(value=1.5, unit="USD"))
    dumped = fact.model_dump(mode="json")
    assert dumped["numbers"] == {"value": 1.5, "unit": "USD"}
    assert Fact.model_validate(dumped) == fact
    assert "numbers" not in Fact(key="k", text="t").model_dump(mode="json")
