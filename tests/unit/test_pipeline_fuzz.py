"""Property-based fuzzing of the whole path before Post: ingest → Classify → (gathered context) → Analyze → Format.

Every real fixture in tests/events/ is mutated (fields removed, types swapped, huge strings, astral and control
characters, deep nesting, truncated JSON, wrapped in SNS) and sent through the stages' real handlers, composed as
the state machine composes their results. The gather branches need AWS, so their sections are generated instead
and bounded as the gather handlers bound them. Properties, for every generated event:

* nothing raises;
* every alert that arrived becomes exactly one postable message within Block Kit's limits;
* every state's output (as the ASL merges results into it) stays within MAX_STATE_OUTPUT_BYTES.

At least 1,000 events per run (`EXAMPLES`), in a few tens of seconds; hypothesis' database is off so each run
explores afresh and no file is written.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.analyze.handler import handler as analyze_handler
from functions.classify.handler import handler as classify_handler
from functions.format.handler import handler as format_handler
from functions.ingest.logic import read_event
from functions.local_runner.moto_lambda import FakeLambdaContext
from functions.shared.models import ContextSection, Fact
from functions.shared.payload_bounds import MAX_STATE_OUTPUT_BYTES, json_size
from functions.shared.state_bounds import bound_section
from tests.support.events import EVENTS_DIR
from tests.support.slack_limits import slack_limit_violations

EXAMPLES = 1_000
FIXTURES = sorted(p.name for p in EVENTS_DIR.glob("*.json") if not p.name.startswith("slack_"))
SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:critical-alerts"
ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\ud83d", "\udc00", "\u202e", "\u2066", "\u200b", "\ufeff", "\x00", "\x1b", "😀", "*", "`"]),
    ),
    max_size=40,
)


@pytest.fixture(autouse=True, scope="module")
def _no_model(request: pytest.FixtureRequest) -> None:
    """The rules analyse (no model configured): the fuzz is about shapes and sizes, not the model."""
    import os

    from functions.shared.settings import get_settings

    os.environ.pop("ALERT_INTEL_MODEL_ID", None)
    get_settings.cache_clear()


def _load(name: str) -> Any:
    return json.loads((EVENTS_DIR / name).read_text())


def _paths(value: Any, max_depth: int = 40) -> list[tuple[Any, ...]]:
    """Every path to a value inside `value` (dict keys and list indexes) down to `max_depth`, the root excluded."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        prefix, item = stack.pop()
        if len(prefix) >= max_depth:
            continue
        children = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, child in children:
            found.append((*prefix, key))
            stack.append(((*prefix, key), child))
    return sorted(found, key=repr)


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


@st.composite
def mutated_event(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(_load(draw(st.sampled_from(FIXTURES))))
    # An SNS record's Message is itself JSON text: mutate the alert inside it, then wrap it again.
    inner_sns = isinstance(document, dict) and isinstance(document.get("Records"), list)
    if inner_sns:
        record = document["Records"][0]["Sns"]
        parsed = json.loads(record["Message"]) if record["Message"].lstrip().startswith("{") else record["Message"]
        target: Any = parsed
    else:
        target = document
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(target)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(target, path)
        kind = draw(st.sampled_from(["remove", "swap", "huge", "odd", "nest"]))
        if kind == "remove" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif kind == "swap":
            parent[path[-1]] = draw(
                st.one_of(
                    st.none(),
                    st.booleans(),
                    st.integers(),
                    st.floats(allow_nan=True, allow_infinity=True),
                    ODD_TEXT,
                    st.lists(st.integers(), max_size=3),
                    st.dictionaries(ODD_TEXT, st.integers(), max_size=3),
                )
            )
        elif kind == "huge":
            unit = draw(st.sampled_from(["x", "😀", "é", "frame\n", "\u202e"]))
            parent[path[-1]] = unit * (draw(st.sampled_from([5_000, 60_000, 250_000])) // len(unit))
        elif kind == "odd":
            parent[path[-1]] = draw(ODD_TEXT) + str(parent[path[-1]])[:200] + draw(ODD_TEXT)
        elif kind == "nest":
            nested: Any = parent[path[-1]]
            for _ in range(draw(st.sampled_from([10, 200, 800]))):  # json.dumps itself stops near 1,000
                nested = [nested]
            parent[path[-1]] = nested
    if inner_sns:
        record["Message"] = target if isinstance(target, str) else json.dumps(target)
    shape = draw(st.sampled_from(["as is", "as is", "truncated text", "sns wrapped", "deeply nested text"]))
    if shape == "deeply nested text":  # deeper than any JSON parser recurses
        depth = draw(st.sampled_from([2_000, 100_000]))
        return "[" * depth + json.dumps(document) + "]" * depth
    if shape == "truncated text":
        text = json.dumps(document)
        return text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    if shape == "sns wrapped" and not inner_sns:
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "Sns": {"Type": "Notification", "TopicArn": SNS_TOPIC, "Message": json.dumps(document)},
                }
            ]
        }
    return document


def _section(name: str) -> st.SearchStrategy[dict[str, Any]]:
    fact = st.builds(
        Fact,
        key=st.text(max_size=30),
        text=st.one_of(ODD_TEXT, st.text(max_size=3_000)),
        value=st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), ODD_TEXT),
        link=st.one_of(st.none(), st.just("https://us-east-1.console.aws.amazon.com/cloudwatch/home"), ODD_TEXT),
    )
    return st.builds(
        ContextSection,
        name=st.just(name),
        status=st.sampled_from(["ok", "error", "skipped"]),
        looked_at=st.lists(ODD_TEXT, max_size=4),
        facts=st.lists(fact, max_size=60),
        notes=st.lists(st.one_of(ODD_TEXT, st.text(max_size=2_000)), max_size=4),
        error=st.one_of(st.none(), ODD_TEXT),
    ).map(lambda section: bound_section(section).model_dump(mode="json"))


def _context(name: str) -> FakeLambdaContext:
    return FakeLambdaContext(function_name=name)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(event=mutated_event(), sections=st.tuples(_section("cost"), _section("compute"), _section("logs")))
def test_any_mutated_alert_becomes_exactly_one_postable_message_within_bounds(
    event: Any, sections: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
) -> None:
    check_pre_post_path(event, sections)


EMPTY_SECTIONS = tuple(
    ContextSection(name=name, status="ok").model_dump(mode="json") for name in ("cost", "compute", "logs")
)


def test_an_alarm_on_a_function_named_in_emoji_stays_within_every_bound() -> None:
    # Found by the fuzzing: a 4,000-emoji FunctionName dimension is 48 KB escaped, and it is repeated in the
    # resource, the title and the root cause
    event = _load("cloudwatch_alarm_anomaly_detection_eventbridge.json")
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["FunctionName"] = "😀" * 4_000
    check_pre_post_path(event, EMPTY_SECTIONS)


def check_pre_post_path(event: Any, sections: tuple[dict[str, Any], ...]) -> None:
    """The properties of the module docstring, for one delivery."""
    # When ingest reads the delivery
    ingested = read_event(event)
    # Then every alert in it is an input (an SNS subscription confirmation is a notice, not an alert)
    if not ingested.inputs:
        assert ingested.notices, "a delivery produced neither an alert nor a notice"
        return
    for pipeline_input in ingested.inputs:
        execution_input = json.loads(pipeline_input.model_dump_json())
        assert json_size(execution_input) < 256 * 1024

        # Classify Alert: its output is the state
        state = classify_handler(execution_input, _context("classify"))
        assert json_size(state) <= MAX_STATE_OUTPUT_BYTES
        # Gather Context: the three sections under $.context
        state = {**state, "context": dict(zip(("cost", "compute", "logs"), sections, strict=True))}
        assert json_size(state) <= MAX_STATE_OUTPUT_BYTES
        # Analyze (the rules): ResultPath $.analysis
        analysis = analyze_handler(
            {"route": state["route"], "alert": state["alert"], "context": state["context"], "mode": "rules"},
            _context("analyze"),
        )
        state = {**state, "analysis": analysis}
        assert json_size(state) <= MAX_STATE_OUTPUT_BYTES
        # Format Slack Message: its output is the state Post reads
        formatted = format_handler(
            {"state": state, "execution_id": "arn:aws:states:us-east-1:123456789012:execution:p:x"},
            _context("format"),
        )
        assert json_size(formatted) <= MAX_STATE_OUTPUT_BYTES
        # exactly one message, postable
        message = formatted["message"]
        assert slack_limit_violations(message) == []
        json.dumps(message).encode("utf-8")  # encodable: no lone surrogate
