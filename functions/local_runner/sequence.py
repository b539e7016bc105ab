"""`alert-intel run FILE [FILE ...]`: several alerts, in order, against one simulated account and one local Slack.

With `--slack web`, Post uses the bot-token mode (decision 0013): a local Slack Web API server on 127.0.0.1
(`functions.local_runner.slack_web_api`), a channel per route and the Conversations table in the simulated
account, so a sequence (alarm, duplicate, OK, re-fire) shows one message per incident, its thread and its edits.
Every Web API call is written to `DIR/slack_calls.json` with `method`, `channel`, `ts`, `thread_ts`, `text`,
`blocks`. With `--slack webhook` (the default) the bodies posted to the local webhook are written to
`DIR/slack_messages.json`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from functions.local_runner.runner import RunResult, simulated_account
from functions.local_runner.scenario import Scenario
from functions.local_runner.slack_web_api import FakeSlackApi
from functions.shared.models import PipelineInput

if TYPE_CHECKING:
    from functions.local_runner.iam_enforcement import IamEnforcement

SlackMode = Literal["webhook", "web"]
LOCAL_BOT_TOKEN = "xoxb-alert-intel-local"
LOCAL_CHANNELS = {"critical": "C0LOCALCRIT", "heartbeat": "C0LOCALBEAT"}
LOCAL_TABLE = "alert-intel-local-conversations"


@dataclass
class SequenceResult:
    runs: list[RunResult] = field(default_factory=list)
    slack_calls: list[dict[str, Any]] = field(default_factory=list)
    webhook_posts: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0  # deliveries of an alert already started: no execution, as on AWS

    @property
    def succeeded(self) -> bool:
        return bool(self.runs) and all(run.succeeded for run in self.runs)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _create_table() -> None:
    import boto3

    boto3.client("dynamodb").create_table(
        TableName=LOCAL_TABLE,
        KeySchema=[
            {"AttributeName": "conversation_id", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "conversation_id", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def run_files(
    payloads: list[bytes],
    scenario: Scenario,
    *,
    slack: SlackMode = "webhook",
    out_dir: Path | None = None,
    quick_retries: bool = False,
    enforcement: IamEnforcement | None = None,
    together: bool = False,
) -> SequenceResult:
    """Run each payload's alerts, in order, through the state machine on `scenario`'s seeded account; with
    `together`, start them all at once (alerts arriving in the same seconds, decision 0020) and then wait for each.

    Raises:
        ValueError: a payload holds no alert to run.
    """
    from functions.ingest.logic import execution_name, pipeline_inputs_from_raw
    from functions.local_runner.seed import seed_account

    inputs = []
    for index, payload in enumerate(payloads):
        found = pipeline_inputs_from_raw(payload, default_route=scenario.route or "critical")
        if not found:
            raise ValueError(f"file {index + 1} holds no alert to run")
        inputs += found
    result = SequenceResult()
    with FakeSlackApi(token=LOCAL_BOT_TOKEN) as api:
        env = {}
        if slack == "web":
            env = {
                "SLACK_BOT_TOKEN": LOCAL_BOT_TOKEN,
                "SLACK_API_URL": api.api_url,
                "SLACK_ALERT_CHANNELS": json.dumps(LOCAL_CHANNELS),
                "CONVERSATIONS_TABLE": LOCAL_TABLE,
            }
        with (
            _environment(env),
            simulated_account(
                seed=lambda now: seed_account(scenario.account, now=now),
                quick_retries=quick_retries,
                enforcement=enforcement,
            ) as account,
        ):
            if slack == "web":
                _create_table()
            named: dict[str, PipelineInput] = {}
            for pipeline_input in inputs:
                # As ingest does: one execution per alert, named by its dedup key; a delivery of the same alert
                # again starts nothing (Step Functions' execution names are idempotent).
                name = execution_name(pipeline_input)
                if name in named:
                    result.duplicates += 1
                    continue
                named[name] = pipeline_input
                if not together:
                    result.runs.append(account.execute(pipeline_input, name=name))
            if together:
                result.runs = account.execute_together([(item, name) for name, item in named.items()])
            result.webhook_posts = [post.body for post in account.sink.received]
        result.slack_calls = [call.record() for call in api.calls]
    if out_dir is not None:
        write_sequence(result, out_dir, slack)
    return result


def write_sequence(result: SequenceResult, out_dir: Path, slack: SlackMode) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    executions = [run.execution_document() for run in result.runs]
    (out_dir / "executions.json").write_text(json.dumps(executions, indent=2, default=str) + "\n")
    if slack == "web":
        (out_dir / "slack_calls.json").write_text(json.dumps(result.slack_calls, indent=2) + "\n")
    else:
        (out_dir / "slack_messages.json").write_text(json.dumps(result.webhook_posts, indent=2) + "\n")
