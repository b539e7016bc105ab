"""Synthesise the whole CDK app once per test session, offline, with placeholder layers (`layers=stub`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Before aws_cdk starts its jsii (Node) process: Node 20 prints an end-of-life banner otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from cdk.app import build_app
from cdk.constants import EnvironmentConfig
from cdk.environment import load_environment

STACKS = ("Storage", "AlertAnalyzer", "Sns", "ChatHandler", "Monitoring")


@dataclass(frozen=True)
class Synthesis:
    config: EnvironmentConfig
    outdir: Path
    raw: dict[str, dict[str, Any]]  # stack suffix -> CloudFormation template

    def template(self, stack: str) -> Template:
        return Template.from_json(self.raw[stack])

    def resources(self, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.raw[stack]["Resources"].items()
            if resource["Type"] == resource_type
        }

    def logical_id_of_function(self, stack: str, function_key: str) -> str:
        name = self.config.function_name(function_key)
        for logical_id, resource in self.resources(stack, "AWS::Lambda::Function").items():
            if resource["Properties"].get("FunctionName") == name:
                return logical_id
        raise KeyError(f"no function {name} in {stack}")


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app({"env": "dev", "layers": "stub"}, outdir=outdir)
    config = load_environment(app.node)
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    raw = {}
    for suffix in STACKS:
        stack_name = config.stack_name(suffix)
        raw[suffix] = json.loads((Path(assembly.directory) / f"{stack_name}.template.json").read_text())
    return Synthesis(config=config, outdir=Path(assembly.directory), raw=raw)
