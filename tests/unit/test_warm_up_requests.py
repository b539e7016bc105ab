"""The warm-up request the state machine sends the stages after "Gather Context" (decision 0026): recognised only
when it is exactly `{"warm_up": true}`, answered without running the stage."""

from __future__ import annotations

from typing import Any

import pytest

from functions.shared.stage_io import WARMED_UP, bounded_stage, is_warm_up


@pytest.mark.parametrize(
    "event",
    [
        {"warm_up": "true"},  # a string is not the flag
        {"warm_up": 1},
        {"warm_up": False},
        {"warm_up": True, "route": "critical"},  # a stage input that happens to carry the key
        {"route": "critical", "alert": {"warm_up": True}},  # alert text cannot make a warm-up
        [{"warm_up": True}],
        "warm_up",
        None,
        {},
    ],
)
def test_anything_but_the_exact_request_is_a_stage_input(event: Any) -> None:
    assert not is_warm_up(event)


def test_a_warm_up_request_returns_at_once_without_running_the_stage() -> None:
    calls: list[Any] = []

    @bounded_stage()
    def stage(event: Any, context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"ran": True}

    assert stage({"warm_up": True}, None) == WARMED_UP
    assert calls == []
    assert stage({"warm_up": True, "route": "critical"}, None) == {"ran": True}
    assert calls == [{"warm_up": True, "route": "critical"}]


def test_every_real_stage_answers_a_warm_up_without_reading_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    # No settings, no AWS, no Slack: a warm-up that reached any of them would fail here (no endpoint, no secret).
    import functions.analyze.handler as analyze
    import functions.format.handler as format_stage
    import functions.post.handler as post

    for module in (analyze, format_stage, post):
        assert module.handler({"warm_up": True}, None) == WARMED_UP
