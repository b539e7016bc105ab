"""moto's Wait state, made to wait on the wall clock in short sleeps.

moto's interpreter waits with `threading.Event.wait(seconds)`, which blocks on a monotonic-clock deadline. Where the
clock is shifted for the process (`faketime`, used to run the suite on another date), that deadline never comes and
a Wait state hangs for ever, while `time.sleep` still sleeps the right time. The patch sleeps in slices of at most
`SLICE_SECONDS` until the Wait state's seconds have passed, and stops early when the execution stops — the same
behaviour as moto's, without the clock dependency. The runner applies it with `in_process_lambdas` (decision 0007);
`tests/statemachine/test_moto_wait_patch.py` fails loudly if a moto upgrade moves the method.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment

SLICE_SECONDS = 0.05


def _wait_interval(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
    # Elapsed time as the sum of the sleeps, not read from a clock a shifted process may not trust.
    slept = 0.0
    while slept < wait_seconds and env.is_running():
        step = min(SLICE_SECONDS, wait_seconds - slept)
        time.sleep(step)
        slept += step


@contextmanager
def wall_clock_waits() -> Iterator[None]:
    """Patch moto's Wait state for the duration of the context."""
    patcher = mock.patch.object(WaitFunction, "_wait_interval", _wait_interval)
    patcher.start()
    try:
        yield
    finally:
        patcher.stop()
