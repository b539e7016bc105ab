"""Run our Lambda handlers in-process when moto's Step Functions interpreter invokes a function.

moto has no supported hook for in-process Lambda code: without Docker its Lambda backend
(`moto.awslambda_simple`) only echoes the payload. This module is the one place that patches it. The patched
`invoke` imports the function's handler (its `Handler` setting, e.g. `functions.classify.handler.handler`), calls
it with the decoded payload, and reports an exception the way Lambda does: header `x-amz-function-error` plus
`{"errorType": <class name>, "errorMessage": ...}`. Step Functions then sees our named errors
(`GatherThrottledError`, `SlackRateLimitedError`, ...) exactly as on AWS, so the ASL's Retry and Catch work.

The signature patched is `LambdaSimpleBackend.invoke(self, function_name, qualifier, body, headers,
response_headers)`, unchanged from moto 5.0 to 5.2.5; moto is pinned in pyproject.toml and
`tests/statemachine/test_moto_lambda_patch.py` fails loudly if an upgrade breaks it.
"""

from __future__ import annotations

import importlib
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class InvocationRecord:
    function_name: str
    duration_ms: float
    error_type: str | None


@dataclass
class FakeLambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class InProcessLambdas:
    """Registry of handlers by function name, plus a log of every invocation (for tests and the bench)."""

    def __init__(self) -> None:
        self.invocations: list[InvocationRecord] = []
        self.overrides: dict[str, Handler] = {}
        # Runs after every invocation, as the end of a Lambda invocation would (e.g. drop unflushed metrics).
        self.after_invoke: Callable[[], None] | None = None
        # Entered around every handler call with the function's name (e.g. IAM enforcement: "acting as" it).
        self.around_invoke: Callable[[str], AbstractContextManager[None]] | None = None
        self._lock = threading.Lock()

    def resolve(self, backend: LambdaSimpleBackend, function_name: str, qualifier: str | None) -> Handler:
        fn = backend.get_function(function_name, qualifier)
        name = fn.function_name
        if name in self.overrides:
            return self.overrides[name]
        if not fn.handler:
            raise ValueError(f"function {name} has no Handler setting to import")
        module_name, _, attribute = fn.handler.rpartition(".")
        return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]

    def invoke(
        self,
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        import time

        fn = backend.get_function(function_name, qualifier)
        handler = self.resolve(backend, function_name, qualifier)
        event = json.loads(body) if body else {}
        context = FakeLambdaContext(function_name=fn.function_name, invoked_function_arn=fn.function_arn)
        started = time.perf_counter()
        error_type: str | None = None
        around = self.around_invoke(fn.function_name) if self.around_invoke is not None else nullcontext()
        try:
            with around:
                result = handler(event, context)
            payload = json.dumps(result, default=str)
        except Exception as exc:  # report it as Lambda does: Step Functions matches errorType by name
            error_type = type(exc).__name__
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps(
                {
                    "errorType": error_type,
                    "errorMessage": str(exc)[:2000],
                    "stackTrace": traceback.format_exception(exc)[-3:],
                }
            )
        if self.after_invoke is not None:
            self.after_invoke()
        with self._lock:
            self.invocations.append(
                InvocationRecord(fn.function_name, (time.perf_counter() - started) * 1000, error_type)
            )
        return payload.encode()


@contextmanager
def in_process_lambdas() -> Iterator[InProcessLambdas]:
    """Patch moto's docker-less Lambda backend so invocations run our handlers in this process."""
    registry = InProcessLambdas()

    def invoke(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        return registry.invoke(self, function_name, qualifier, body, response_headers)

    # Keep the patcher referenced for the whole context: a collected patcher would undo itself.
    patcher = mock.patch.object(LambdaSimpleBackend, "invoke", invoke)
    patcher.start()
    try:
        yield registry
    finally:
        patcher.stop()
