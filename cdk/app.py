"""The alert-intel CDK app: five stacks per environment, checked by cdk-nag, synthesised offline.

    python cdk/app.py [-c env=dev|staging|prod] [-c layers=built|auto|stub]

Run directly (no CDK CLI needed) it reads cdk.json's context itself, writes `cdk.out/`, and needs neither AWS
credentials nor a network (layers: `auto`); under the CLI (`cdk synth|deploy -c env=prod`) the CLI's context and
output folder win, and the layers must be really built (`built`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# jsii warns on every start under Node 20; the app works there (see TOOLING.md).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_cdk import Annotations, App, Environment, Tags

from cdk.constants import CONTEXT_LAYERS, DEFAULT_OUTDIR, LAYERS_AUTO, LAYERS_BUILT, PROJECT, REPO_ROOT
from cdk.environment import check_region_limits, load_environment
from cdk.nag import add_checks
from cdk.packaging.assets import prepare_asset_dirs
from cdk.stacks.alert_analyzer_stack import AlertAnalyzerStack
from cdk.stacks.chat_handler_stack import ChatHandlerStack
from cdk.stacks.monitoring_stack import MonitoringStack
from cdk.stacks.sns_stack import SnsStack
from cdk.stacks.storage_stack import StorageStack


def cdk_json_context(path: Path = REPO_ROOT / "cdk.json") -> dict[str, Any]:
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text()).get("context", {}))


def default_layers_mode() -> str:
    """Under the CDK CLI (which sets CDK_OUTDIR: synth, diff, deploy) only real layers will do; run directly,
    `python cdk/app.py` must also work offline, so it falls back to placeholder layers, loudly."""
    return LAYERS_BUILT if os.environ.get("CDK_OUTDIR") else LAYERS_AUTO


def build_app(context: Mapping[str, Any] | None = None, outdir: str | Path | None = None) -> App:
    """The app with every stack of the selected environment; `context` overrides cdk.json's."""
    app = App(
        context={**cdk_json_context(), **(context or {})},
        outdir=str(outdir or os.environ.get("CDK_OUTDIR") or DEFAULT_OUTDIR),
    )
    config = load_environment(app.node)
    asset_dirs = prepare_asset_dirs(str(app.node.try_get_context(CONTEXT_LAYERS) or default_layers_mode()))
    env = Environment(account=config.account, region=config.region)
    common: dict[str, Any] = {"env": env}

    storage = StorageStack(
        app, config.stack_name("Storage"), config=config, description="alert-intel conversations and archive", **common
    )
    analyzer = AlertAnalyzerStack(
        app,
        config.stack_name("AlertAnalyzer"),
        config=config,
        asset_dirs=asset_dirs,
        conversations=storage.conversations,
        description="alert-intel pipeline: stage Lambdas and the Step Functions state machine",
        **common,
    )
    sns_stack = SnsStack(
        app,
        config.stack_name("Sns"),
        config=config,
        asset_dirs=asset_dirs,
        state_machine=analyzer.state_machine,
        description="alert-intel alert intake: SNS topics, EventBridge rules and the ingest Lambda",
        **common,
    )
    chat = ChatHandlerStack(
        app,
        config.stack_name("ChatHandler"),
        config=config,
        asset_dirs=asset_dirs,
        conversations=storage.conversations,
        archive_bucket=storage.archive_bucket,
        description="alert-intel Slack bot: events endpoint, LangGraph worker, conversation archiver",
        **common,
    )
    monitoring = MonitoringStack(
        app,
        config.stack_name("Monitoring"),
        config=config,
        conversations_table_name=storage.conversations.table_name,
        description="alert-intel dashboard and meta-alarms",
        **common,
    )
    # Metrics and log groups are addressed by name: deploy what they watch first.
    for watched in (analyzer, chat, storage, sns_stack):
        monitoring.add_stack_dependency(watched)
    for warning in check_region_limits(config):
        Annotations.of(sns_stack).add_warning_v2("alert-intel:region-limits", warning)
    Tags.of(app).add("project", PROJECT)
    Tags.of(app).add("environment", config.name)
    for key, value in config.tags.items():
        Tags.of(app).add(key, value)
    add_checks(app)
    return app


def parse_context_args(argv: Sequence[str]) -> dict[str, str]:
    """`-c key=value` / `--context key=value` pairs, as the CDK CLI accepts them."""
    context: dict[str, str] = {}
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag in ("-c", "--context") and args:
            key, _, value = args.pop(0).partition("=")
            context[key] = value
        else:
            raise SystemExit(f"unexpected argument {flag!r}; usage: app.py [-c key=value ...]")
    return context


def main(argv: Sequence[str] | None = None) -> int:
    app = build_app(parse_context_args(sys.argv[1:] if argv is None else argv))
    assembly = app.synth()
    print(f"synthesised {len(assembly.stacks)} stacks into {assembly.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
