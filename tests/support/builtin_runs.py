"""Every built-in scenario run once per test session, shared by the suites that judge the same runs.

The eval targets (`tests/eval/test_eval_builtin.py`), the main message and its thread
(`test_main_message_builtin.py`) and the posted commands (`test_posted_commands_awscli.py`) all look at the same
runs of the real state machine; running the ~45 scenarios once instead of three times keeps `make test` within
minutes. The runs are read, never changed, by those tests.
"""

from __future__ import annotations

from functools import cache

from functions.local_runner.runner import RunResult, run_scenario
from functions.local_runner.scenario import Scenario, builtin_scenarios


@cache
def _runs() -> tuple[tuple[Scenario, RunResult], ...]:
    return tuple((scenario, run_scenario(scenario, quick_retries=True)) for scenario in builtin_scenarios())


def builtin_runs() -> dict[str, RunResult]:
    """Each built-in scenario's run, by scenario name (run on first use, then shared)."""
    return {scenario.name: result for scenario, result in _runs()}


def builtin_scenarios_run() -> list[Scenario]:
    """The scenarios those runs were made from (the same objects, so their rendered times match the runs)."""
    return [scenario for scenario, _ in _runs()]
