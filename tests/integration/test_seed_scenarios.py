"""Scenario files parse, render their time placeholders, and seed the simulated account they describe."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from functions.local_runner.scenario import (
    DEFAULT_SCENARIO,
    builtin_scenario_names,
    builtin_scenarios,
    load_scenario,
    load_scenarios,
    render_times,
)
from functions.local_runner.seed import cost_results, seed_account
from functions.shared.adapters.aws import reset_clients
from functions.shared.cache import clear_cache
from functions.shared.investigate.cost_plan import cost_query_plan

NOW = datetime(2026, 11, 25, 19, 0, 30, 250_000, tzinfo=UTC)


def test_there_are_at_least_twelve_builtin_scenarios_and_the_default_is_one():
    names = builtin_scenario_names()
    assert len(names) >= 12
    assert DEFAULT_SCENARIO in names
    assert {s.name for s in builtin_scenarios()} == set(names)


def test_every_builtin_scenario_expects_facts_and_a_root_cause():
    for scenario in builtin_scenarios():
        assert scenario.expected.facts, scenario.name
        assert scenario.expected.root_cause.patterns, scenario.name
        assert "{{" not in json.dumps(scenario.alert), f"{scenario.name}: unrendered placeholder"


def test_time_placeholders_render_relative_to_now():
    rendered = render_times(
        {"a": "{{now-5m|cloudwatch}}", "b": ["{{today}}", "{{now+14d|http}}"], "c": "at {{now|long_date}}"}, NOW
    )
    assert rendered == {
        "a": "2026-11-25T18:55:30.250+0000",
        "b": ["2026-11-25", "Wed, 09 Dec 2026 19:00:30 GMT"],
        "c": "at November 25, 2026",
    }
    with pytest.raises(ValueError, match="unknown time format"):
        render_times("{{now|nope}}", NOW)


def test_unknown_scenario_lists_the_builtin_names():
    with pytest.raises(FileNotFoundError, match=DEFAULT_SCENARIO):
        load_scenario("no-such-scenario")


def test_a_folder_of_json_and_yaml_scenarios_loads(tmp_path: Path):
    (tmp_path / "one.json").write_text(json.dumps({"alert": "plain text alert", "expected": {"facts": ["x"]}}))
    (tmp_path / "two.yaml").write_text("name: second\nalert: {detail-type: X}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    scenarios = load_scenarios(tmp_path)
    assert [s.name for s in scenarios] == ["one", "second"]
    (tmp_path / "bad.yaml").write_text("name: bad\nalert: x\nunexpected: 1\n")
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        load_scenarios(tmp_path)


def test_cost_results_follow_the_query_plan():
    scenario = load_scenario(DEFAULT_SCENARIO)
    assert scenario.account.cost is not None
    results = cost_results(scenario.account.cost, NOW.date())
    plan = cost_query_plan(NOW.date())
    assert len(results) == len(plan)
    by_service = results[0]["ResultsByTime"]
    assert by_service[0]["TimePeriod"]["Start"] == plan[0].start.isoformat()
    lambda_yesterday = next(g for g in by_service[-1]["Groups"] if g["Keys"] == ["AWS Lambda"])
    assert lambda_yesterday["Metrics"]["UnblendedCost"]["Amount"] == "48.0000"
    assert results[2]["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"] == "1042.1700"


def test_seeding_the_default_scenario_creates_its_account():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    scenario = load_scenario(DEFAULT_SCENARIO)
    with mock_aws():
        try:
            seed_account(scenario.account, now=datetime.now(UTC))
            functions = boto3.client("lambda", "us-east-1").list_functions()["Functions"]
            assert {f["FunctionName"] for f in functions} == {"ImageProcessor", "OrdersApi"}
            groups = boto3.client("logs", "us-east-1").describe_log_groups()["logGroups"]
            assert [g["logGroupName"] for g in groups] == ["/aws/lambda/ImageProcessor"]
            budget = boto3.client("budgets", "us-east-1").describe_budgets(AccountId="123456789012")["Budgets"][0]
            assert budget["CalculatedSpend"]["ForecastedSpend"]["Amount"] == "1610.40"
        finally:
            clear_cache()
            reset_clients()


def test_seeded_instances_keep_their_id_launch_time_and_status_checks():
    from functions.shared.adapters.compute import Ec2Reader

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    scenario = load_scenario("ec2-status-check-failure")
    now = datetime.now(UTC)
    with mock_aws():
        try:
            seed_account(scenario.account, now=now)
            reader = Ec2Reader(region="us-east-1")
            status = reader.instance_status("i-0d2e3f4a5b6c7d8e9")
            instance = reader.instance("i-0d2e3f4a5b6c7d8e9")
        finally:
            clear_cache()
            reset_clients()
    assert status is not None and status["SystemStatus"]["Status"] == "impaired"
    assert status["InstanceStatus"]["Status"] == "ok"
    assert instance is not None and (now - instance["LaunchTime"]).days == 90
