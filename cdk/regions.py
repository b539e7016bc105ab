"""What depends on the region an environment is deployed to: the model's inference profile, Cost Anomaly Detection.

Plain Python (no CDK import), so `alert-intel doctor` resolves an environment exactly as the app does.

- A geography's cross-region inference profile (`us.`, `eu.`, `apac.`) can be called only from a source region of
  that geography. The default models are written as `us.` profiles; for an environment that does not set
  `model_id` itself, the profile of the Bedrock region's geography is picked. A `model_id` set explicitly is
  taken as written, and synth fails when it cannot be called from the Bedrock region.
- Cost Anomaly Detection delivers its events to EventBridge in us-east-1 only: the `CostAnomalies` rule exists
  there only, and synth says so elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdk.constants import EnvironmentConfig, foundation_model_id

# Cost Anomaly Detection (and AWS Health's global events) reach EventBridge in this region only.
COST_ANOMALY_EVENTS_REGION = "us-east-1"

# Geography profile prefix -> the region prefixes it can be called from (most specific prefix first).
PROFILE_SOURCE_REGIONS: dict[str, tuple[str, ...]] = {
    "us-gov.": ("us-gov-",),
    "us.": ("us-",),
    "eu.": ("eu-",),
    "apac.": ("ap-",),
    "ca.": ("ca-",),
}
# The geography picked for a default model, by the Bedrock region's prefix (most specific first). Others (ca-,
# sa-, me-, af-, il-, mx-) have no such profile for every default model: synth asks for a model_id instead.
_DEFAULT_GEOGRAPHY: tuple[tuple[str, str], ...] = (
    ("us-gov-", "us-gov."),
    ("us-", "us."),
    ("eu-", "eu."),
    ("ap-", "apac."),
)


class RegionLimitError(ValueError):
    """The environment's regions cannot work together (e.g. a `us.` inference profile called from Europe)."""


def geography_prefix(model_id: str) -> str | None:
    """`us.` for `us.anthropic...`; None for a foundation model id or a `global.` profile."""
    for prefix in sorted(PROFILE_SOURCE_REGIONS, key=len, reverse=True):
        if model_id.startswith(prefix):
            return prefix
    return None


def profile_for_region(model_id: str, bedrock_region: str, *, environment: str) -> str:
    """`model_id` as the inference profile of `bedrock_region`'s geography (`us.x` in eu-west-1 -> `eu.x`).

    A foundation model id or a `global.` profile is returned unchanged.

    Raises:
        RegionLimitError: no geography profile is known for the region.
    """
    if geography_prefix(model_id) is None:
        return model_id
    for region_prefix, profile_prefix in _DEFAULT_GEOGRAPHY:
        if bedrock_region.startswith(region_prefix):
            return profile_prefix + foundation_model_id(model_id)
    raise RegionLimitError(
        f"environment {environment!r}: no us./eu./apac. inference profile can be called from the Bedrock region "
        f"{bedrock_region}. Set model_id in cdk.json to a profile callable there (e.g. global."
        f"{foundation_model_id(model_id)}), or bedrock_region to a US, European or Asia Pacific region."
    )


def check_model_region(config: EnvironmentConfig) -> None:
    """Raises RegionLimitError when the model is a geography's profile and the Bedrock region is outside it."""
    prefix = geography_prefix(config.model_id)
    if prefix is None:
        return
    regions = PROFILE_SOURCE_REGIONS[prefix]
    bedrock_region = config.resolved_bedrock_region
    if prefix == "us." and bedrock_region.startswith("us-gov-"):
        regions = ()
    if not bedrock_region.startswith(regions):
        raise RegionLimitError(
            f"environment {config.name!r}: model {config.model_id} is a {prefix.rstrip('.')} cross-region "
            f"inference profile, callable only from {'/'.join(r + '*' for r in regions) or 'its own'} "
            f"regions, but the Bedrock region is {bedrock_region}. Set bedrock_region to one of them, or "
            "model_id to a profile of your geography (eu., apac., ...) in cdk.json, or leave model_id unset: the "
            "default model's profile follows the Bedrock region."
        )


def receives_cost_anomaly_events(config: EnvironmentConfig) -> bool:
    return config.region == COST_ANOMALY_EVENTS_REGION


def region_warnings(config: EnvironmentConfig) -> list[str]:
    """What will not work in this environment's region (printed at synth)."""
    if receives_cost_anomaly_events(config):
        return []
    return [
        f"environment {config.name!r} is in {config.region}: Cost Anomaly Detection (and AWS Health's global) "
        f"events are delivered to EventBridge in {COST_ANOMALY_EVENTS_REGION} only, so this environment has no "
        "CostAnomalies rule; subscribe the anomaly monitor to CriticalAlertsTopicArn (SNS) instead."
    ]


def resolve_environment(name: str, defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> EnvironmentConfig:
    """The environment from the app's defaults and cdk.json's overrides; a default model follows the region.

    Raises:
        RegionLimitError: the model cannot be called from the Bedrock region.
    """
    values: dict[str, Any] = {**defaults, **overrides}
    if "model_id" not in overrides and "model_id" in values:
        bedrock_region = str(values.get("bedrock_region") or values["region"])
        values["model_id"] = profile_for_region(str(values["model_id"]), bedrock_region, environment=name)
    config = EnvironmentConfig(name=name, **values)
    check_model_region(config)
    return config
