"""The three gather handlers at their boundary: parse the stage input, return a ContextSection as JSON."""

from __future__ import annotations

import pytest

from functions.gather_compute.handler import handler as compute_handler
from functions.gather_cost.handler import handler as cost_handler
from functions.gather_logs.handler import handler as logs_handler
from functions.local_runner.moto_lambda import FakeLambdaContext
from functions.shared.errors import InvalidStageInputError
from functions.shared.models import ContextSection
from tests.support.gather_fakes import budget_alert

HANDLERS = [("cost", cost_handler), ("compute", compute_handler), ("logs", logs_handler)]


@pytest.fixture(autouse=True)
def quiet_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


@pytest.mark.parametrize(("name", "handler"), HANDLERS)
def test_a_heartbeat_is_skipped_without_touching_aws(name, handler):
    # Given the Parallel branch's input for a heartbeat alert
    event = {"route": "heartbeat", "alert": budget_alert().model_dump(mode="json")}

    # When the handler runs
    result = handler(event, FakeLambdaContext(function_name=f"alert-intel-gather-{name}"))

    # Then it returns a skipped section of its own name, as plain JSON
    section = ContextSection.model_validate(result)
    assert (section.name, section.status) == (name, "skipped")
    assert section.notes and "Heartbeat" in section.notes[0]


@pytest.mark.parametrize(("name", "handler"), HANDLERS)
def test_a_malformed_input_is_a_named_error(name, handler):
    with pytest.raises(InvalidStageInputError):
        handler({"route": "critical"}, FakeLambdaContext(function_name=f"alert-intel-gather-{name}"))
