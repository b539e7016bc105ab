"""Changing `region` (issue 11, defect 8): the model's profile follows the geography, or synth says why it cannot;
Cost Anomaly Detection's rule exists only where its events arrive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from cdk.constants import HAIKU_MODEL_ID, SONNET_MODEL_ID, EnvironmentConfig, foundation_model_id
from cdk.environment import check_region_limits, load_environment
from cdk.regions import COST_ANOMALY_EVENTS_REGION, RegionLimitError
from cdk.stacks.sns_stack import COST_ANOMALY_RULE, event_sources


def _load(env: str, **overrides: Any) -> EnvironmentConfig:
    return load_environment(App(context={"env": env, "alert-intel:environments": {env: overrides}}).node)


@pytest.mark.parametrize(
    ("region", "bedrock_region", "prefix"),
    [
        ("eu-west-1", "", "eu."),
        ("eu-central-2", "", "eu."),
        ("ap-southeast-2", "", "apac."),
        ("ap-northeast-1", "", "apac."),
        ("us-west-2", "", "us."),
        ("eu-west-1", "us-east-1", "us."),  # a European stack calling Bedrock in the US
        ("us-east-1", "eu-west-1", "eu."),
    ],
)
def test_the_default_model_takes_the_profile_of_the_bedrock_regions_geography(
    region: str, bedrock_region: str, prefix: str
) -> None:
    # Given an environment that changes only its region (and perhaps its Bedrock region), not its model
    overrides: dict[str, Any] = {"region": region}
    if bedrock_region:
        overrides["bedrock_region"] = bedrock_region

    # When it is loaded
    config = _load("staging", **overrides)

    # Then its model is the default model's profile for that geography, which synth accepts
    assert config.model_id == prefix + foundation_model_id(SONNET_MODEL_ID)
    check_region_limits(config)


def test_an_explicit_model_is_taken_as_written_and_a_mismatch_fails_synth_clearly() -> None:
    # Given a European stack whose cdk.json names the US profile itself
    with pytest.raises(RegionLimitError) as raised:
        _load("dev", region="eu-west-1", model_id=HAIKU_MODEL_ID)

    # Then synth fails naming the model, the regions it works from and the fix
    message = str(raised.value)
    assert HAIKU_MODEL_ID in message and "callable only from us-*" in message and "eu-west-1" in message
    # And an explicit profile that fits is kept as written
    eu_haiku = "eu." + foundation_model_id(HAIKU_MODEL_ID)
    assert _load("dev", region="eu-west-1", model_id=eu_haiku).model_id == eu_haiku
    assert _load("dev", region="sa-east-1", model_id="global." + foundation_model_id(HAIKU_MODEL_ID)).model_id


def test_a_region_with_no_geography_profile_fails_synth_naming_the_way_out() -> None:
    with pytest.raises(RegionLimitError, match=r"sa-east-1.*global\."):
        _load("dev", region="sa-east-1")


def test_the_cost_anomaly_rule_exists_only_where_its_events_arrive_and_synth_says_so() -> None:
    # Given the same environment in us-east-1 and in eu-west-1
    east = _load("dev")
    west = _load("dev", region="eu-west-1")
    assert east.region == COST_ANOMALY_EVENTS_REGION

    # Then only us-east-1 has the Cost Anomaly Detection rule; every other source has its rule in both
    assert COST_ANOMALY_RULE in event_sources(east)
    assert COST_ANOMALY_RULE not in event_sources(west)
    assert set(event_sources(east)) - set(event_sources(west)) == {COST_ANOMALY_RULE}
    # And synth warns in eu-west-1 only, with what to do instead
    assert check_region_limits(east) == []
    (warning,) = check_region_limits(west)
    assert "us-east-1 only" in warning and "no CostAnomalies rule" in warning and "CriticalAlertsTopicArn" in warning


def test_doctor_resolves_the_environment_as_the_app_does(tmp_path: Path) -> None:
    # Given a cdk.json that moves prod to Frankfurt without naming a model
    from functions.local_runner.doctor import environment_config

    cdk_json = tmp_path / "cdk.json"
    environments = {"prod": {"account": "444455556666", "region": "eu-central-1"}}
    cdk_json.write_text(json.dumps({"context": {"alert-intel:environments": environments}}))

    # Then doctor checks the same (European) model the app deploys
    doctor_config = environment_config("prod", cdk_json)
    app_config = _load("prod", **environments["prod"])
    assert doctor_config.model_id == app_config.model_id == "eu." + foundation_model_id(SONNET_MODEL_ID)
