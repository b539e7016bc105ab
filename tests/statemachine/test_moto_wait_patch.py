"""The local runner's Wait-state patch: it must wait the state's seconds, on any clock, and fail loudly if a moto
upgrade moves the method it replaces."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from functions.local_runner.moto_wait import wall_clock_waits

ONE_SECOND_WAIT = {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}}}


def test_the_patched_method_keeps_its_signature() -> None:
    assert list(inspect.signature(WaitFunction._wait_interval).parameters) == ["self", "env", "wait_seconds"]


def _run_wait_state() -> float:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    machine = client.create_state_machine(
        name="pause", definition=json.dumps(ONE_SECOND_WAIT), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    started = time.perf_counter()
    execution = client.start_execution(stateMachineArn=machine)["executionArn"]
    while client.describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.perf_counter() - started < 20, "the Wait state did not end"
        time.sleep(0.05)
    assert client.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    return time.perf_counter() - started


def test_a_wait_state_waits_its_seconds_and_no_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), wall_clock_waits():
        elapsed = _run_wait_state()
    assert 1.0 <= elapsed < 10


def test_a_wait_state_ends_when_the_process_clock_is_shifted() -> None:
    # libfaketime (how the suite runs on another date) shifts the monotonic clock too, and moto's own
    # Event.wait(seconds) then never returns; the patched Wait must still end. Skipped where faketime is absent.
    faketime = "/usr/bin/faketime"
    if not os.path.exists(faketime):
        pytest.skip("faketime is not installed")
    code = (
        "import os; os.environ['AWS_DEFAULT_REGION'] = 'us-east-1'\n"
        "from moto import mock_aws\n"
        "from functions.local_runner.moto_wait import wall_clock_waits\n"
        "from tests.statemachine.test_moto_wait_patch import _run_wait_state\n"
        "with mock_aws(config={'stepfunctions': {'execute_state_machine': True}}), wall_clock_waits():\n"
        "    print(_run_wait_state())\n"
    )
    completed = subprocess.run(
        [faketime, "2031-02-03 04:05:06", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert 1.0 <= float(completed.stdout.strip().splitlines()[-1]) < 20
