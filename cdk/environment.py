"""Pick the deployment environment from CDK context (`-c env=dev|staging|prod`)."""

from __future__ import annotations

from typing import Any

from constructs import Node

from cdk.constants import CONTEXT_ENV, CONTEXT_ENVIRONMENTS, ENVIRONMENT_DEFAULTS, EnvironmentConfig


class UnknownEnvironmentError(ValueError):
    """`-c env=...` names an environment that neither constants nor cdk.json define."""


class RegionLimitError(ValueError):
    """The environment's regions cannot work together (e.g. a `us.` inference profile called from Europe)."""


# Cross-region inference profiles can be called only from a source region of their geography.
_PROFILE_SOURCE_REGIONS: dict[str, tuple[str, ...]] = {
    "us.": ("us-",),
    "us-gov.": ("us-gov-",),
    "eu.": ("eu-",),
    "apac.": ("ap-",),
    "ca.": ("ca-",),
}
# Regional services whose alert events reach EventBridge in one region only.
COST_ANOMALY_EVENTS_REGION = "us-east-1"


def check_region_limits(config: EnvironmentConfig) -> list[str]:
    """Warnings about what will not work in this environment's region; raises for what cannot work at all.

    Raises:
        RegionLimitError: the model is a geography's inference profile and the Bedrock region is outside it.
    """
    bedrock_region = config.resolved_bedrock_region
    for prefix, regions in sorted(_PROFILE_SOURCE_REGIONS.items(), key=lambda item: -len(item[0])):
        if config.model_id.startswith(prefix):
            if prefix == "us." and bedrock_region.startswith("us-gov-"):
                regions = ()
            if not bedrock_region.startswith(regions):
                raise RegionLimitError(
                    f"environment {config.name!r}: model {config.model_id} is a {prefix.rstrip('.')} cross-region "
                    f"inference profile, callable only from {'/'.join(r + '*' for r in regions) or 'its own'} "
                    f"regions, but the Bedrock region is {bedrock_region}. Set bedrock_region to one of them, or "
                    "model_id to a profile of your geography (eu., apac., ...) in cdk.json."
                )
            break
    warnings = []
    if config.region != COST_ANOMALY_EVENTS_REGION:
        warnings.append(
            f"environment {config.name!r} is in {config.region}: Cost Anomaly Detection (and AWS Health's global) "
            f"events are delivered to EventBridge in {COST_ANOMALY_EVENTS_REGION} only, so the CostAnomalies rule "
            "never fires here; subscribe the anomaly monitor to CriticalAlertsTopicArn instead. Every read the "
            "pipeline makes is scoped to this region: alerts about resources in other regions get no context."
        )
    return warnings


def load_environment(node: Node) -> EnvironmentConfig:
    """The environment named by the `env` context key (default `dev`), cdk.json overrides applied.

    Raises UnknownEnvironmentError for a name with no definition.
    """
    name = str(node.try_get_context(CONTEXT_ENV) or "dev")
    overrides: dict[str, Any] = dict(node.try_get_context(CONTEXT_ENVIRONMENTS) or {})
    if name not in ENVIRONMENT_DEFAULTS and name not in overrides:
        known = sorted(set(ENVIRONMENT_DEFAULTS) | set(overrides))
        raise UnknownEnvironmentError(f"unknown environment {name!r}; known: {', '.join(known)}")
    values: dict[str, Any] = {**ENVIRONMENT_DEFAULTS.get(name, {}), **overrides.get(name, {})}
    config = EnvironmentConfig(name=name, **values)
    check_region_limits(config)
    return config
