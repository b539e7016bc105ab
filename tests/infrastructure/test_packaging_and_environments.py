"""Packaging without Docker (offline parts: staging, stub layers, the rebuild stamp, sizes) and environments."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from cdk.app import default_layers_mode, parse_context_args
from cdk.components.permissions import invoke_model
from cdk.constants import (
    CHAT_FUNCTIONS,
    HAIKU_MODEL_ID,
    INGEST_FUNCTION,
    LAMBDA_PYTHON_VERSION,
    PIPELINE_FUNCTIONS,
    SONNET_MODEL_ID,
    STUB_LAYER_DIR,
    EnvironmentConfig,
)
from cdk.environment import UnknownEnvironmentError, load_environment
from cdk.packaging import build_layers
from cdk.packaging.assets import LayersNotBuiltError, layer_asset_dirs, stage_function_code
from cdk.packaging.sizes import function_layers, report
from cdk.stacks.storage_stack import StorageStack


def _module_file(root: Path, handler: str) -> Path:
    module = handler.rsplit(".", 1)[0]
    return root / (module.replace(".", "/") + ".py")


def test_code_asset_holds_every_handler_and_nothing_local() -> None:
    # When the function code is staged
    staged = stage_function_code()

    # Then every handler module is there, under the `functions` package at the asset's root
    handlers = [INGEST_FUNCTION[0], *(h for h, _, _ in PIPELINE_FUNCTIONS.values())]
    handlers += [h for h, _, _ in CHAT_FUNCTIONS.values()]
    for handler in handlers:
        assert _module_file(staged, handler).is_file(), handler
    # And the offline runner is not shipped, nor bytecode of any Python other than the Lambda's
    assert not (staged / "functions" / "local_runner").exists()
    lambda_tag = f"cpython-{LAMBDA_PYTHON_VERSION.replace('.', '')}"
    assert all(lambda_tag in pyc.name for pyc in staged.rglob("*.pyc"))


def test_staging_unchanged_code_twice_gives_the_same_folder() -> None:
    assert stage_function_code() == stage_function_code()


def test_stub_layers_are_a_tiny_placeholder_and_unknown_modes_fail() -> None:
    # When the stub layers are asked for, Then no pip runs and both layers point at the placeholder
    layers = layer_asset_dirs("stub")
    assert layers == {"pipeline": STUB_LAYER_DIR, "chat": STUB_LAYER_DIR}
    assert (STUB_LAYER_DIR / "python").is_dir()
    with pytest.raises(ValueError, match="unknown layers mode"):
        layer_asset_dirs("docker")


def test_layers_rebuild_only_when_pyproject_changes(tmp_path: Path) -> None:
    # Given two pyproject files that differ only in one dependency
    first = tmp_path / "a.toml"
    second = tmp_path / "b.toml"
    first.write_text('[project]\nname = "x"\ndependencies = ["pydantic>=2"]\n')
    second.write_text('[project]\nname = "x"\ndependencies = ["pydantic>=2", "pyyaml"]\n')

    # Then the build stamp follows the file's content, and is stable for the same content
    assert build_layers.expected_stamp(first) == build_layers.expected_stamp(first)
    assert build_layers.expected_stamp(first) != build_layers.expected_stamp(second)


def test_layer_requirements_come_from_pyproject_with_langgraph_only_in_chat() -> None:
    pipeline, chat = build_layers.runtime_requirements()
    assert any(req.startswith("pydantic") for req in pipeline)
    assert not any(req.startswith("langgraph") for req in pipeline)
    assert any(req.startswith("langgraph") for req in chat)


def test_size_report_lists_every_function_with_its_layers() -> None:
    # When the sizes are reported (offline: layers not built count as 0)
    rows = report()

    # Then each deployed function has a positive zipped size, chat functions at least as big as the others
    names = [name for name, _ in rows]
    assert names == ["ingest", *PIPELINE_FUNCTIONS, *CHAT_FUNCTIONS]
    sizes = dict(rows)
    assert all(size > 0 for size in sizes.values())
    assert sizes["chat_worker"] >= sizes["analyze"]
    assert function_layers()["chat_worker"] == ("pipeline", "chat")
    assert function_layers()["analyze"] == ("pipeline",)


def test_environments_pick_account_region_and_model_from_context() -> None:
    # Given cdk.json-style overrides for prod
    app = App(context={"env": "prod", "alert-intel:environments": {"prod": {"account": "444455556666"}}})

    # When the environment is loaded
    config = load_environment(app.node)

    # Then overrides win, defaults fill the rest
    assert (config.name, config.account, config.region) == ("prod", "444455556666", "us-east-1")
    assert config.model_id == SONNET_MODEL_ID
    assert config.retain_data is True
    assert load_environment(App(context={"env": "dev"}).node).model_id == HAIKU_MODEL_ID


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(UnknownEnvironmentError, match="known: dev, prod, staging"):
        load_environment(App(context={"env": "qa"}).node)


def test_context_arguments_are_parsed_like_the_cdk_cli() -> None:
    assert parse_context_args(["-c", "env=prod", "--context", "layers=stub"]) == {"env": "prod", "layers": "stub"}
    with pytest.raises(SystemExit):
        parse_context_args(["--profile", "x"])


def _prod() -> EnvironmentConfig:
    return load_environment(App(context={"env": "prod"}).node)


def test_prod_keeps_the_conversations_table_when_its_stack_is_deleted() -> None:
    # Given the storage stack for prod
    config = _prod()
    stack = StorageStack(App(), "Storage", config=config, env=Environment(account=config.account, region=config.region))

    # Then the table (and, as everywhere, the archive) survives a stack deletion
    template = Template.from_stack(stack)
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})
    template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})


def test_bedrock_permission_for_a_plain_foundation_model_names_only_that_model() -> None:
    # Given an environment configured with an in-region foundation model instead of a profile
    config = replace(_prod(), model_id="anthropic.claude-3-5-haiku-20241022-v1:0", bedrock_region="us-west-2")
    stack = Stack(App(), "Probe", env=Environment(account=config.account, region=config.region))

    # When the analyze permission is built
    (statement,) = invoke_model(stack, config)
    rendered = stack.resolve(statement.to_statement_json())

    # Then it is InvokeModel on that model in the Bedrock region, nothing else
    assert rendered["Action"] == "bedrock:InvokeModel"
    resource = "".join(p if isinstance(p, str) else "aws" for p in rendered["Resource"]["Fn::Join"][1])
    assert resource == "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"


def test_bedrock_permission_for_a_profile_is_conditioned_on_that_profile() -> None:
    config = _prod()
    stack = Stack(App(), "Probe", env=Environment(account=config.account, region=config.region))
    profile, model = (stack.resolve(s.to_statement_json()) for s in invoke_model(stack, config))
    assert "Condition" not in profile
    condition = model["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"]
    assert SONNET_MODEL_ID in json.dumps(condition)
    (suffix,) = model["Resource"]["Fn::Join"][1][2:]
    assert suffix == f":bedrock:*::foundation-model/{SONNET_MODEL_ID.removeprefix('us.')}"


def test_auto_layers_fall_back_to_placeholders_when_pip_cannot_build(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a pip that cannot reach PyPI
    def offline_build(*args: object, **kwargs: object) -> bool:
        raise build_layers.LayerBuildError("no network")

    monkeypatch.setattr(build_layers, "build", offline_build)

    # When `make synth`'s mode asks for layers, Then it gets the placeholders and a loud warning
    assert layer_asset_dirs("auto") == {"pipeline": STUB_LAYER_DIR, "chat": STUB_LAYER_DIR}
    assert "do not deploy" in capsys.readouterr().err
    # And the mode deploys use refuses instead
    with pytest.raises(LayersNotBuiltError, match="no network"):
        layer_asset_dirs("built")


def test_only_the_cdk_cli_insists_on_real_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_OUTDIR", "/tmp/cdk.out")
    assert default_layers_mode() == "built"
    monkeypatch.delenv("CDK_OUTDIR")
    assert default_layers_mode() == "auto"


def test_a_us_inference_profile_outside_us_regions_fails_at_synth_with_a_clear_error() -> None:
    import pytest

    from cdk.constants import HAIKU_MODEL_ID, EnvironmentConfig
    from cdk.environment import RegionLimitError, check_region_limits

    config = EnvironmentConfig(name="dev", account="111111111111", region="eu-west-1", model_id=HAIKU_MODEL_ID)
    with pytest.raises(RegionLimitError, match="callable only from us-"):
        check_region_limits(config)
    # A US Bedrock region for a European stack is allowed, with the Cost Anomaly Detection warning
    us_bedrock = EnvironmentConfig(
        name="dev", account="111111111111", region="eu-west-1", model_id=HAIKU_MODEL_ID, bedrock_region="us-east-1"
    )
    (warning,) = check_region_limits(us_bedrock)
    assert "Cost Anomaly Detection" in warning and "us-east-1" in warning
    assert (
        check_region_limits(EnvironmentConfig(name="dev", account="1", region="us-east-1", model_id=HAIKU_MODEL_ID))
        == []
    )


def test_the_cdk_cli_runs_the_app_with_the_projects_virtualenv() -> None:
    import json

    from cdk.constants import REPO_ROOT

    assert json.loads((REPO_ROOT / "cdk.json").read_text())["app"].startswith(".venv/bin/python ")
