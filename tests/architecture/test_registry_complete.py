"""The registry is complete: every alert source and resource type has every part, and every part it names exists.

`functions/shared/registry.py` declares, per alert source and per resource type, its parts; those that live in a
stage are declared by name, and each stage keeps its implementations in a table keyed by those names. This test
walks the registry and fails, naming the source or type, when a part is missing, when a name is one no stage
implements, or when a stage implements a part nothing registers. See CONTRIBUTING.md for the recipes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import get_args

import pytest

from functions.analyze import rules
from functions.gather_compute import logic as gather_compute
from functions.gather_cost import logic as gather_cost
from functions.gather_logs import logic as gather_logs
from functions.shared import registry
from functions.shared.alert_details import DETAILS_MODELS
from functions.shared.classification import PARSERS
from functions.shared.models import AlertSource, SectionName
from functions.shared.registry import ALL_SOURCES, RESOURCE_TYPES, ResourceKind, ResourceTypeSpec, SourceSpec

# Each named part of a source, and the stage table that must implement it.
SOURCE_PARTS: dict[str, Mapping[str, object]] = {
    "rules": rules.RULES,
    "next_steps": rules.NEXT_STEPS,
    "diagnostics": rules.DIAGNOSTICS,
}
INVESTIGATOR_TABLES: dict[SectionName, Mapping[str, object]] = {
    "cost": gather_cost.INVESTIGATORS,
    "compute": gather_compute.INVESTIGATORS,
    "logs": gather_logs.INVESTIGATORS,
}
RESOURCE_PARTS: dict[str, Mapping[str, object]] = {
    "investigator": gather_compute.RESOURCE_INVESTIGATORS,
    "diagnostics": rules.RESOURCE_DIAGNOSTICS,
}


def _id(spec: SourceSpec | ResourceTypeSpec) -> str:
    return spec.source if isinstance(spec, SourceSpec) else spec.kind


def test_every_alert_source_is_registered_once_and_unknown_comes_last() -> None:
    sources = [spec.source for spec in ALL_SOURCES]
    assert len(sources) == len(set(sources)), "a source is registered twice"
    assert set(sources) == set(get_args(AlertSource)), "models.AlertSource and the registry disagree"
    assert set(sources) == set(DETAILS_MODELS), "alert_details.DETAILS_MODELS and the registry disagree"
    assert ALL_SOURCES[-1] is registry.UNKNOWN


def test_classification_tries_the_registered_parsers_in_registry_order() -> None:
    assert tuple(spec.parser for spec in registry.SOURCES) == PARSERS


@pytest.mark.parametrize("spec", ALL_SOURCES, ids=_id)
def test_a_source_has_every_part(spec: SourceSpec) -> None:
    assert spec.label.strip(), f"{spec.source}: no label"
    assert callable(spec.parser), f"{spec.source}: no parser"
    assert callable(spec.console_link), f"{spec.source}: no console link"
    assert spec.details is DETAILS_MODELS[spec.source], f"{spec.source}: details model is not its DETAILS_MODELS one"
    assert spec.details.model_fields["source"].default == spec.source
    assert set(spec.investigators) == set(registry.SECTIONS), f"{spec.source}: not one investigator per section"
    for section, name in spec.investigators.items():
        assert name in INVESTIGATOR_TABLES[section], (
            f"{spec.source}: investigators[{section!r}] = {name!r}, which gather_{section} does not implement"
        )
    for part, table in SOURCE_PARTS.items():
        name = getattr(spec, part)
        assert name in table, f"{spec.source}: {part} = {name!r}, which functions/analyze/rules/ does not implement"


def test_every_resource_type_is_registered_once() -> None:
    kinds = [spec.kind for spec in RESOURCE_TYPES]
    assert len(kinds) == len(set(kinds)), "a resource type is registered twice"
    assert set(kinds) == set(get_args(ResourceKind)), "registry.ResourceKind and RESOURCE_TYPES disagree"
    # A dimension may name different types in different namespaces (LoadBalancer: an ALB or an NLB), not in one.
    dimensions = [(spec.namespace, d) for spec in RESOURCE_TYPES for d in spec.dimensions]
    assert len(dimensions) == len(set(dimensions)), "one CloudWatch dimension names two resource types"
    for spec in RESOURCE_TYPES:
        assert not set(spec.qualifiers) & set(spec.dimensions), f"{spec.kind}: a qualifier that is also its name"


@pytest.mark.parametrize("spec", RESOURCE_TYPES, ids=_id)
def test_a_resource_type_has_every_part(spec: ResourceTypeSpec) -> None:
    assert spec.label.strip(), f"{spec.kind}: no label"
    assert re.fullmatch(r"AWS::\w+::\w+", spec.cfn_type), f"{spec.kind}: {spec.cfn_type!r} is not a CloudFormation type"
    if spec.arn_pattern is not None:
        re.compile(spec.arn_pattern)
    if spec.namespace is not None:
        # A type whose metrics are read is found by its dimensions and has metrics to read next to the alarm.
        assert spec.namespace.startswith("AWS/"), f"{spec.kind}: {spec.namespace!r} is not an AWS namespace"
        assert spec.dimensions, f"{spec.kind}: a namespace but no dimension that names one resource"
        assert spec.related_metrics, f"{spec.kind}: a namespace but no related metrics"
    else:
        assert not spec.dimensions and not spec.related_metrics, f"{spec.kind}: metrics without a namespace"
    for part, table in RESOURCE_PARTS.items():
        name = getattr(spec, part)
        assert name in table, f"{spec.kind}: {part} = {name!r}, which no stage implements"


@pytest.mark.parametrize(
    ("tables", "used"),
    [
        *(
            (table, {spec.investigators[section] for spec in ALL_SOURCES})
            for section, table in INVESTIGATOR_TABLES.items()
        ),
        *((table, {getattr(spec, part) for spec in ALL_SOURCES}) for part, table in SOURCE_PARTS.items()),
        *((table, {getattr(spec, part) for spec in RESOURCE_TYPES}) for part, table in RESOURCE_PARTS.items()),
    ],
    ids=[
        *(f"gather_{section}.INVESTIGATORS" for section in INVESTIGATOR_TABLES),
        *(f"rules.{part.upper()}" for part in SOURCE_PARTS),
        *(f"{part}-of-resource-types" for part in RESOURCE_PARTS),
    ],
)
def test_no_stage_implements_a_part_nothing_registers(tables: Mapping[str, object], used: set[str]) -> None:
    assert set(tables) <= used, f"implemented but never registered: {sorted(set(tables) - used)}"


@pytest.mark.parametrize("spec_type", [SourceSpec, ResourceTypeSpec])
def test_a_spec_that_forgets_a_part_does_not_construct(spec_type: type[SourceSpec] | type[ResourceTypeSpec]) -> None:
    example = ALL_SOURCES[0] if spec_type is SourceSpec else RESOURCE_TYPES[0]
    parts = {field.name: getattr(example, field.name) for field in dataclasses.fields(example)}
    for name in parts:
        with pytest.raises(TypeError, match=name):
            spec_type(**{k: v for k, v in parts.items() if k != name})  # type: ignore[arg-type]
