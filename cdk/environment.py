"""Pick the deployment environment from CDK context (`-c env=dev|staging|prod`)."""

from __future__ import annotations

from typing import Any

from constructs import Node

from cdk.constants import CONTEXT_ENV, CONTEXT_ENVIRONMENTS, ENVIRONMENT_DEFAULTS, EnvironmentConfig
from cdk.regions import (
    COST_ANOMALY_EVENTS_REGION,
    RegionLimitError,
    check_model_region,
    region_warnings,
    resolve_environment,
)

__all__ = ["COST_ANOMALY_EVENTS_REGION", "RegionLimitError", "UnknownEnvironmentError", "check_region_limits"]


class UnknownEnvironmentError(ValueError):
    """`-c env=...` names an environment that neither constants nor cdk.json define."""


def check_region_limits(config: EnvironmentConfig) -> list[str]:
    """Warnings about what will not work in this environment's region; raises for what cannot work at all.

    Raises:
        RegionLimitError: the model is a geography's inference profile and the Bedrock region is outside it.
    """
    check_model_region(config)
    return region_warnings(config)


def load_environment(node: Node) -> EnvironmentConfig:
    """The environment named by the `env` context key (default `dev`), cdk.json overrides applied; a default
    model's inference profile follows the Bedrock region's geography (cdk/regions.py).

    Raises UnknownEnvironmentError for a name with no definition, RegionLimitError for regions that cannot work.
    """
    name = str(node.try_get_context(CONTEXT_ENV) or "dev")
    overrides: dict[str, Any] = dict(node.try_get_context(CONTEXT_ENVIRONMENTS) or {})
    if name not in ENVIRONMENT_DEFAULTS and name not in overrides:
        known = sorted(set(ENVIRONMENT_DEFAULTS) | set(overrides))
        raise UnknownEnvironmentError(f"unknown environment {name!r}; known: {', '.join(known)}")
    return resolve_environment(name, ENVIRONMENT_DEFAULTS.get(name, {}), overrides.get(name, {}))
