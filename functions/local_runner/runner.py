"""Execute the real state machine definition offline, against a simulated AWS account.

The same `statemachines/alert_pipeline.asl.json` that CDK deploys runs in moto's Step Functions interpreter; each
Task invokes a moto Lambda function whose handler runs in this process (see `moto_lambda`), and the Post stage
sends the real webhook POST to a Slack endpoint on 127.0.0.1. CloudTrail's LookupEvents, which moto lacks, is served
from the seeded events by a loopback endpoint (`cloudtrail_server`). Nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto import mock_aws

from functions.local_runner.cloudtrail_server import ENDPOINT_VARIABLE as CLOUDTRAIL_ENDPOINT_VARIABLE
from functions.local_runner.cloudtrail_server import LOCAL_TRAIL, LocalCloudTrail
from functions.local_runner.moto_elasticache import cache_reads
from functions.local_runner.moto_lambda import InProcessLambdas, in_process_lambdas
from functions.local_runner.moto_wait import wall_clock_waits
from functions.local_runner.slack_sink import SlackWebhookSink
from functions.shared.models import PipelineInput
from functions.shared.stages import PIPELINE_STAGES

if TYPE_CHECKING:
    from functions.local_runner.iam_enforcement import IamEnforcement
    from functions.local_runner.scenario import Scenario

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFINITION_PATH = REPO_ROOT / "statemachines" / "alert_pipeline.asl.json"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STATE_MACHINE_NAME = "alert-intel-pipeline"
WEBHOOK_SECRET_NAME = "alert-intel/slack-webhooks"
EXECUTION_TIMEOUT_SECONDS = 180
# Step Functions' quota on one state's input or output (moto does not enforce it; `execute` checks it).
STEP_FUNCTIONS_PAYLOAD_LIMIT_BYTES = 256 * 1024

# ASL placeholder -> (simulated function name, handler). CDK substitutes the same placeholders with real ARNs.
PIPELINE_FUNCTIONS: dict[str, tuple[str, str]] = {
    stage.placeholder: (stage.local_function_name, stage.handler) for stage in PIPELINE_STAGES
}

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def placeholders(definition_text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(definition_text))


def substitute(definition_text: str, substitutions: dict[str, str]) -> str:
    """Replace every `${Name}`; a placeholder without a substitution is an error, as in CloudFormation."""
    missing = placeholders(definition_text) - substitutions.keys()
    if missing:
        raise KeyError(f"no substitution for placeholder(s): {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], definition_text)


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def local_definition(*, quick_retries: bool = False) -> str:
    """The ASL file with our simulated ARNs substituted.

    `quick_retries` caps every Retry interval at 1 s with no backoff growth: moto's interpreter really sleeps, and
    tests that provoke retries should not wait for production backoff. Nothing else in the definition changes.
    """
    text = substitute(
        DEFINITION_PATH.read_text(),
        {placeholder: function_arn(name) for placeholder, (name, _) in PIPELINE_FUNCTIONS.items()},
    )
    if not quick_retries:
        return text
    definition = json.loads(text)

    def visit(states: dict[str, Any]) -> None:
        for state in states.values():
            for retrier in state.get("Retry", []):
                retrier["IntervalSeconds"] = 1
                retrier["BackoffRate"] = 1.0
                retrier.pop("JitterStrategy", None)
            for branch in state.get("Branches", []):
                visit(branch["States"])

    visit(definition["States"])
    return json.dumps(definition)


@dataclass
class StateRecord:
    name: str
    status: str  # "succeeded", "failed" (caught or fatal), "running"
    duration_ms: int
    output_bytes: int
    output: Any = None
    error: str | None = None
    failures: int = 0  # failed attempts, retried or caught

    @property
    def attempts(self) -> int:
        return self.failures + (1 if self.status == "succeeded" else 0)


@dataclass
class RunResult:
    status: str
    execution_arn: str
    seconds: float
    states: list[StateRecord] = field(default_factory=list)
    slack_posts: list[dict[str, Any]] = field(default_factory=list)
    output: Any = None
    error: str | None = None
    cause: str | None = None
    analyze_input: dict[str, Any] | None = None
    analysis: dict[str, Any] | None = None
    invocations: list[Any] = field(default_factory=list)
    # What the failed-execution rule's recover stage did (None when the run succeeded).
    recovery: Any = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def slack_message(self) -> dict[str, Any] | None:
        return self.slack_posts[-1] if self.slack_posts else None

    @property
    def max_state_output_bytes(self) -> int:
        return max((s.output_bytes for s in self.states), default=0)

    def execution_document(self) -> dict[str, Any]:
        """What `execution.json` holds: status and the state-by-state history."""
        return {
            "status": self.status,
            "execution_arn": self.execution_arn,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "cause": self.cause,
            "max_state_output_bytes": self.max_state_output_bytes,
            "recovery": self.recovery,
            "states": [
                {
                    "name": s.name,
                    "status": s.status,
                    "duration_ms": s.duration_ms,
                    "output_bytes": s.output_bytes,
                    "attempts": s.attempts,
                    "error": s.error,
                    "output": s.output,
                }
                for s in self.states
            ],
            "output": self.output,
        }


def configure_local_environment(webhook_secret_name: str = WEBHOOK_SECRET_NAME) -> None:
    """Dummy credentials and quiet Powertools: the run must not find or use a real AWS account.

    Call it before importing the stages when their log output should stay quiet (the CLI does, first thing).
    """
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ["SLACK_WEBHOOKS_SECRET_NAME"] = webhook_secret_name
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    logging.getLogger("moto").setLevel(logging.CRITICAL)


def reset_local_caches() -> None:
    """Settings, clients and secrets are cached per container; a new simulated account needs fresh ones."""
    from functions.chat.settings import clear_chat_settings_caches
    from functions.shared.adapters.aws import reset_clients
    from functions.shared.settings import clear_settings_caches

    clear_settings_caches()
    clear_chat_settings_caches()
    reset_clients()
    from functions.shared.adapters.secrets import reset_secret_cache

    reset_secret_cache()
    from functions.shared.adapters.bedrock import reset_bedrock
    from functions.shared.adapters.conversations import conversation_table
    from functions.shared.cache import clear_cache

    reset_bedrock()
    clear_cache()
    conversation_table.cache_clear()


class SimulatedAccount:
    """An active moto account with the pipeline's functions, the state machine and the Slack secret in place."""

    def __init__(self, sink: SlackWebhookSink, lambdas: InProcessLambdas, *, quick_retries: bool) -> None:
        import boto3

        from functions.shared.observability import metrics

        self.sink = sink
        self.lambdas = lambdas
        # With metrics disabled locally, Powertools never flushes, so nothing would clear one invocation's
        # metrics and dimensions before the next: clear them as a flush would.
        lambdas.after_invoke = metrics.clear_metrics
        iam = boto3.client("iam", region_name=REGION)
        role_arn = iam.create_role(
            RoleName="alert-intel-local",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        self.role_arn = role_arn
        lambda_client = boto3.client("lambda", region_name=REGION)
        for name, handler in PIPELINE_FUNCTIONS.values():
            lambda_client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role_arn,
                Handler=handler,
                Code={"ZipFile": _placeholder_zip()},
                Timeout=60,
            )
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=WEBHOOK_SECRET_NAME,
            SecretString=json.dumps({route: sink.webhook_url(route) for route in ("critical", "heartbeat")}),
        )
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.state_machine_arn = self.sfn.create_state_machine(
            name=STATE_MACHINE_NAME,
            definition=local_definition(quick_retries=quick_retries),
            roleArn=role_arn,
            type="STANDARD",
        )["stateMachineArn"]

    def execute(self, pipeline_input: PipelineInput, *, name: str | None = None) -> RunResult:
        started = time.perf_counter()
        posts_before = len(self.sink.received)
        invocations_before = len(self.lambdas.invocations)
        execution_arn = self.start(pipeline_input, name=name)
        result = self._finish(execution_arn, pipeline_input, started)
        result.slack_posts = [post.body for post in self.sink.received[posts_before:]]
        result.invocations = self.lambdas.invocations[invocations_before:]
        return result

    def execute_together(self, runs: list[tuple[PipelineInput, str]]) -> list[RunResult]:
        """Start every execution at once, as alerts arriving in the same seconds do, then wait for each. Their
        webhook posts and invocations interleave, so no run gets any attributed (the sink has them all)."""
        started = time.perf_counter()
        arns = [(self.start(pipeline_input, name=name), pipeline_input) for pipeline_input, name in runs]
        return [self._finish(arn, pipeline_input, started) for arn, pipeline_input in arns]

    def start(self, pipeline_input: PipelineInput, *, name: str | None = None) -> str:
        """StartExecution, as ingest does (named by the alert's dedup key unless `name`); returns its ARN."""
        from functions.ingest.logic import execution_name

        return str(
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name or execution_name(pipeline_input),
                input=pipeline_input.model_dump_json(),
            )["executionArn"]
        )

    def _finish(self, execution_arn: str, pipeline_input: PipelineInput, started: float) -> RunResult:
        description = self.sfn.describe_execution(executionArn=execution_arn)
        deadline = time.monotonic() + EXECUTION_TIMEOUT_SECONDS
        while description["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
            description = self.sfn.describe_execution(executionArn=execution_arn)
        history = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        result = RunResult(
            status=description["status"],
            execution_arn=execution_arn,
            seconds=time.perf_counter() - started,
            states=states_from_history(history),
            output=json.loads(description["output"]) if description.get("output") else None,
            error=description.get("error"),
            cause=description.get("cause"),
        )
        _attach_stage_payloads(result, history)
        oversize = next((s for s in result.states if s.output_bytes > STEP_FUNCTIONS_PAYLOAD_LIMIT_BYTES), None)
        if oversize is not None:
            # moto does not enforce the payload quota; AWS would have failed the run there, uncatchably.
            result.status, result.error = "FAILED", "States.DataLimitExceeded"
            result.cause = f"state {oversize.name!r} output {oversize.output_bytes} bytes (emulated quota check)"
        if not result.succeeded:
            self._deliver_status_change(result, description, pipeline_input)
        return result

    def _deliver_status_change(
        self, result: RunResult, description: dict[str, Any], pipeline_input: PipelineInput
    ) -> None:
        """What the failed-execution EventBridge rule does on AWS: hand the status change to the recover stage."""
        event = {
            "version": "0",
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "account": ACCOUNT_ID,
            "region": REGION,
            "resources": [result.execution_arn],
            "detail": {
                "executionArn": result.execution_arn,
                "stateMachineArn": self.state_machine_arn,
                "name": description.get("name"),
                "status": result.status,
                "input": description.get("input") or pipeline_input.model_dump_json(),
                "error": result.error,
                "cause": result.cause,
            },
        }
        import boto3

        recover_name = PIPELINE_FUNCTIONS["RecoverFunctionArn"][0]
        response = boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=recover_name, Payload=json.dumps(event).encode()
        )
        result.recovery = json.loads(response["Payload"].read() or b"null")


def _placeholder_zip() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Runs in-process: see functions/local_runner/moto_lambda.py")
    return buffer.getvalue()


def states_from_history(events: list[dict[str, Any]]) -> list[StateRecord]:
    """Rebuild the console's state view from the execution history.

    Events of parallel branches interleave, so each event is attributed to its state by following
    `previousEventId` back to the state's StateEntered event. A Task whose last attempt failed is "failed" even when
    a Catch moved the run on (the history still shows it exiting).
    """
    records: list[StateRecord] = []
    owner: dict[int, StateRecord] = {}
    entered_at: dict[int, datetime] = {}
    last_attempt_failed: dict[int, bool] = {}
    for event in events:
        kind: str = event["type"]
        record = owner.get(event.get("previousEventId", 0))
        if kind.endswith("StateExited"):
            # A Parallel's exit follows its last branch's events: match exits by state name instead.
            exited = event["stateExitedEventDetails"]["name"]
            record = next((r for r in reversed(records) if r.name == exited and r.status == "running"), None)
        if kind.endswith("StateEntered"):
            record = StateRecord(
                name=event["stateEnteredEventDetails"]["name"], status="running", duration_ms=0, output_bytes=0
            )
            records.append(record)
            entered_at[id(record)] = event["timestamp"]
        if record is None:
            continue
        owner[event["id"]] = record
        if kind.endswith(("FunctionFailed", "FunctionTimedOut", "TaskFailed", "TaskTimedOut")):
            detail: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            record.error = detail.get("error")
            record.failures += 1
            last_attempt_failed[id(record)] = True
        elif kind.endswith(("FunctionSucceeded", "TaskSucceeded")):
            last_attempt_failed[id(record)] = False
        elif kind.endswith("StateExited"):
            output_text = event["stateExitedEventDetails"].get("output") or ""
            record.status = "failed" if last_attempt_failed.get(id(record)) else "succeeded"
            record.duration_ms = int((event["timestamp"] - entered_at[id(record)]).total_seconds() * 1000)
            record.output_bytes = len(output_text.encode())
            record.output = json.loads(output_text) if output_text else None
    last_time = events[-1]["timestamp"] if events else None
    for record in records:
        if record.status == "running":  # entered, never exited: the run failed here
            record.status = "failed"
            if last_time is not None:
                record.duration_ms = int((last_time - entered_at[id(record)]).total_seconds() * 1000)
    return records


def _attach_stage_payloads(result: RunResult, events: list[dict[str, Any]]) -> None:
    """Keep what the analysis was handed and what it produced, for the eval and the bench."""
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if not details:
            continue
        if details["name"] in ("Analyze Alert", "Summarize Without AI", "Fall Back To Rule-Based Analysis"):
            state = json.loads(details.get("input") or "{}")
            result.analyze_input = {k: state.get(k) for k in ("route", "alert", "context")}
        if details["name"] == "Format Slack Message":
            state = json.loads(details.get("input") or "{}")
            result.analysis = state.get("analysis")
            if result.analyze_input is None:
                result.analyze_input = {k: state.get(k) for k in ("route", "alert", "context")}


@contextmanager
def simulated_account(
    *,
    seed: Callable[[datetime], None] | None = None,
    quick_retries: bool = False,
    enforcement: IamEnforcement | None = None,
) -> Iterator[SimulatedAccount]:
    """A fresh moto account with the pipeline deployed; `seed(now)` fills it with a scenario's resources.

    With `enforcement` (see `iam_enforcement.for_simulated_account`), every AWS call a handler makes is
    authorised against that function's role from the synthesised templates, and a denied call fails as on AWS.
    """
    configure_local_environment()
    LOCAL_TRAIL.reset()
    with (
        SlackWebhookSink() as sink,
        LocalCloudTrail() as trail,
        mock.patch.dict(os.environ, {CLOUDTRAIL_ENDPOINT_VARIABLE: trail.url}),
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}),
        in_process_lambdas() as lambdas,
        wall_clock_waits(),
        cache_reads(),
    ):
        reset_local_caches()
        if seed is not None:
            seed(datetime.now(UTC))
        account = SimulatedAccount(sink, lambdas, quick_retries=quick_retries)
        if enforcement is None:
            yield account
        else:
            lambdas.around_invoke = enforcement.acting_as
            with enforcement:
                yield account
    reset_local_caches()


def run_pipeline_input(
    pipeline_input: PipelineInput,
    *,
    seed: Callable[[datetime], None] | None = None,
    quick_retries: bool = False,
    enforcement: IamEnforcement | None = None,
) -> RunResult:
    with simulated_account(seed=seed, quick_retries=quick_retries, enforcement=enforcement) as account:
        return account.execute(pipeline_input)


def write_outputs(result: RunResult, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "execution.json").write_text(json.dumps(result.execution_document(), indent=2, default=str) + "\n")
    message_path = out_dir / "slack_message.json"
    if result.slack_message is not None:
        message_path.write_text(json.dumps(result.slack_message, indent=2) + "\n")
    else:  # never leave an earlier run's message behind as if this run had posted it
        message_path.unlink(missing_ok=True)


def run_scenario(
    scenario: Scenario,
    *,
    alert_payload: Any = None,
    out_dir: Path | None = None,
    quick_retries: bool = False,
    enforcement: IamEnforcement | None = None,
) -> RunResult:
    """Run a scenario's alert (or `alert_payload`, e.g. a user's file) through the pipeline on its seeded account.

    Raises:
        ValueError: the payload yields no alert to run (e.g. an SNS subscription confirmation).
    """
    from functions.ingest.logic import pipeline_inputs_from_raw
    from functions.local_runner.seed import seed_account

    payload = scenario.alert if alert_payload is None else alert_payload
    raw = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    inputs = pipeline_inputs_from_raw(raw, default_route=scenario.route or "critical")
    if not inputs:
        raise ValueError("the payload holds no alert to run")
    result = run_pipeline_input(
        inputs[0],
        seed=lambda now: seed_account(scenario.account, now=now),
        quick_retries=quick_retries,
        enforcement=enforcement,
    )
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result
