"""Smoke test for the one moto patch the local runner needs: it must fail loudly if a moto upgrade breaks it."""

import inspect
import json
import zipfile
from io import BytesIO

import boto3
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from functions.local_runner.moto_lambda import in_process_lambdas


class SampleThrottledError(Exception):
    pass


def echo_handler(event, context):
    return {"echo": event, "function": context.function_name}


def failing_handler(event, context):
    raise SampleThrottledError("slow down")


def _zip() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.txt", "x")
    return buffer.getvalue()


def _create(client, name: str, handler: str, role: str) -> None:
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, Code={"ZipFile": _zip()}
    )


def test_the_patched_method_keeps_its_signature():
    params = list(inspect.signature(LambdaSimpleBackend.invoke).parameters)
    assert params == ["self", "function_name", "qualifier", "body", "headers", "response_headers"]


@mock_aws(config={"lambda": {"use_docker": False}})
def test_invoke_runs_the_handler_in_process_and_reports_errors_by_class_name(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda", region_name="us-east-1")
    _create(client, "echo", f"{__name__}.echo_handler", role)
    _create(client, "fails", f"{__name__}.failing_handler", role)

    with in_process_lambdas() as registry:
        # When both functions are invoked through the Lambda API
        ok = client.invoke(FunctionName="echo", Payload=json.dumps({"n": 1}))
        bad = client.invoke(FunctionName="fails", Payload=b"{}")

    # Then the handler's own result comes back, and an exception arrives as Lambda reports it
    assert json.loads(ok["Payload"].read()) == {"echo": {"n": 1}, "function": "echo"}
    assert "FunctionError" not in ok
    assert bad["FunctionError"] == "Unhandled"
    error = json.loads(bad["Payload"].read())
    assert error["errorType"] == "SampleThrottledError"
    assert error["errorMessage"] == "slow down"
    assert [(i.function_name, i.error_type) for i in registry.invocations] == [
        ("echo", None),
        ("fails", "SampleThrottledError"),
    ]


@mock_aws(config={"lambda": {"use_docker": False}})
def test_without_the_patch_moto_only_echoes():
    # This is why the patch exists: if moto starts running handlers itself, revisit moto_lambda.py.
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda", region_name="us-east-1")
    _create(client, "echo", f"{__name__}.echo_handler", role)
    response = client.invoke(FunctionName="echo", Payload=json.dumps({"n": 1}))
    assert json.loads(response["Payload"].read()) == {"n": 1}
