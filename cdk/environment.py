"""Pick the deployment environment from CDK context (`-c env=dev|staging|prod`)."""

from __future__ import annotations

from typing import Any

from constructs import Node

from cdk.constants import CONTEXT_ENV, CONTEXT_ENVIRONMENTS, ENVIRONMENT_DEFAULTS, EnvironmentConfig


class UnknownEnvironmentError(ValueError):
    """`-c env=...` names an environment that neither constants nor cdk.json define."""


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
    return EnvironmentConfig(name=name, **values)
