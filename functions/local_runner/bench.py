"""`make bench`: the speed, size and cost numbers the issues set targets for.

Prints, for this machine:
- each stage handler's cold import time and memory (a fresh interpreter per handler, as a Lambda cold start
  imports it, from the code as deployed), as a ratio to `import boto3` in the same run (budget 1.5x), beside what
  the libraries alone cost; the Lambda init of the stages whose warm-ups load an SDK in one configuration (Analyze
  with a model configured, Check Incident in bot-token mode); what a gather stage's first AWS client adds (botocore
  loads with it); whether classify and format load boto3 or the X-Ray SDK; the critical path's total;
- for every built-in scenario: each state's output size, the estimated model input tokens and $ per alert, and an
  all-in cost per alert (model + Step Functions state transitions + Lambda GB-seconds);
- each Lambda function's zipped code size, when the CDK packaging is available;
- the storm benchmark (`functions.local_runner.storm`): 1,000 deliveries in a minute, executions, model calls and
  Slack calls per incident.
Targets are checked here, not in timed tests: state outputs < 32 KB, prompts <= 4,000 estimated input tokens.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from functions.local_runner.runner import PIPELINE_FUNCTIONS

STATE_OUTPUT_TARGET_BYTES = 32 * 1024
PROMPT_TARGET_TOKENS = 4_000
# AWS list prices (us-east-1) used for the all-in estimate.
STEP_FUNCTIONS_USD_PER_TRANSITION = 0.025 / 1000
LAMBDA_USD_PER_GB_SECOND = 0.0000166667
LAMBDA_USD_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_MEMORY_GB = 0.5  # the stages' memory size in the CDK app
HANDLER_MODULES = [handler.rpartition(".")[0] for _, handler in PIPELINE_FUNCTIONS.values()] + [
    "functions.ingest.handler"
]
IMPORT_SAMPLES = 5


def _lambda_environment() -> dict[str, str]:
    """This process's environment plus what CDK sets on every Lambda, so imports are measured as Lambda runs them."""
    import os

    from functions.shared.stages import COMMON_LAMBDA_ENVIRONMENT

    return {**os.environ, **COMMON_LAMBDA_ENVIRONMENT}


@contextmanager
def deployed_code() -> Iterator[Path]:
    """The function code as the CDK packaging ships it: `functions/` without the local runner, with bytecode.

    Imports are measured from this copy, not from the repository: Lambda loads the shipped bytecode
    (`cdk/packaging/bytecode.py`), while a checkout may have none (PYTHONDONTWRITEBYTECODE, a fresh clone), and
    measuring it would time the compiler. The dependencies come from this environment, whose bytecode pip wrote.
    """
    from cdk.packaging.assets import stage_function_code_into
    from cdk.packaging.bytecode import compile_tree

    with tempfile.TemporaryDirectory(prefix="alert-intel-bench-") as scratch:
        root = Path(scratch)
        stage_function_code_into(root)
        compile_tree(root, sys.executable)
        yield root


def _run_python(code: str, root: Path, extra_env: dict[str, str] | None = None) -> str:
    # The copy's folder first on sys.path, so `functions` resolves there and not to the editable install.
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={**_lambda_environment(), "PYTHONPATH": str(root), **(extra_env or {})},
    )
    return completed.stdout


def cold_import_ms(statement: str, root: Path, extra_env: dict[str, str] | None = None) -> float:
    """CPU time of running `statement` (an import, usually) in a fresh interpreter, best of IMPORT_SAMPLES.

    CPU time, not wall time: on a shared machine (CI runners, a laptop running the suite) wall time mostly measures
    who else had the cores; an import is CPU-bound work, so its CPU time is what Lambda pays. The best sample, not
    the median: contention (cache misses, a throttled core) only ever adds to an import's cost.
    """
    return min(_one_import_ms(statement, root, extra_env) for _ in range(IMPORT_SAMPLES))


def paired_ratio(statement: str, root: Path, extra_env: dict[str, str] | None = None) -> tuple[float, float]:
    """(`statement`'s CPU ms, its ratio to `import boto3`), each sample taken right after a boto3 sample, so a
    machine that slows down during the bench (another job starting) moves both sides alike."""
    handler, baseline = [], []
    for _ in range(IMPORT_SAMPLES):
        baseline.append(_one_import_ms("import boto3", root))
        handler.append(_one_import_ms(statement, root, extra_env))
    return min(handler), min(handler) / min(baseline)


def _one_import_ms(statement: str, root: Path, extra_env: dict[str, str] | None = None) -> float:
    code = f"import time\nt = time.process_time()\n{statement}\nprint((time.process_time() - t) * 1000)"
    return float(_run_python(code, root, extra_env).strip().splitlines()[-1])


def without_bytecode_ms(module: str, root: Path) -> float:
    """The same import with no bytecode anywhere (project and dependencies), as a package shipped without it runs
    in Lambda: a bytecode cache folder that is empty and never written makes every module compile from source."""
    with tempfile.TemporaryDirectory(prefix="alert-intel-no-bytecode-") as empty:
        extra = {"PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"}
        return cold_import_ms(f"import {module}", root, extra)


def _estimate_tokens(analyze_input: dict[str, Any] | None) -> int:
    if not analyze_input:
        return 0
    from functions.analyze.logic import estimate_input_tokens

    return estimate_input_tokens(analyze_input)


def _model_cost(input_tokens: int, output_tokens: int) -> tuple[str, float]:
    from functions.analyze.logic import estimate_cost_usd, model_for_environment

    model_id = model_for_environment("prod")
    return model_id, float(estimate_cost_usd(model_id, input_tokens, output_tokens))


# Cold-start budget: every stage handler imports in at most this multiple of `import boto3`, measured in the
# same run on the same machine (a ratio, so it holds on a slow laptop and a fast CI runner alike).
COLD_IMPORT_BUDGET_RATIO = 1.5
# The stages an alert passes through one after another (the gather branches run in parallel: the slowest counts).
CRITICAL_PATH = (
    ("functions.classify.handler",),
    ("functions.check_incident.handler",),
    ("functions.gather_cost.handler", "functions.gather_compute.handler", "functions.gather_logs.handler"),
    ("functions.analyze.handler",),
    ("functions.format.handler",),
    ("functions.post.handler",),
)
# Stages that make no AWS call must not pay for boto3 or the X-Ray SDK at all.
NO_AWS_STAGES = ("functions.classify.handler", "functions.format.handler")


def imported_modules(module: str, names: tuple[str, ...], root: Path) -> list[str]:
    """Which of `names` a fresh interpreter has loaded after importing `module`."""
    return import_footprint(module, names, root)[0]


def import_footprint(module: str, names: tuple[str, ...], root: Path) -> tuple[list[str], float]:
    """(which of `names` are loaded, peak resident memory in MiB) in a fresh interpreter after importing `module`."""
    # VmHWM (this process's own peak), not getrusage's ru_maxrss: on Linux the latter carries the peak of the
    # process that forked the interpreter (this bench) across exec.
    code = (
        f"import sys\nimport {module}\n"
        f"print(' '.join(n for n in {names!r} if n in sys.modules))\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))"
    )
    loaded_line, peak_kib = _run_python(code, root).splitlines()[-2:]
    return loaded_line.split(), int(peak_kib) / 1024


# What every stage loads before any project code: pydantic with one model, Powertools' Logger, Metrics and parser;
# and that plus botocore, what a stage that calls AWS on every invocation loads in its init (Ingest, Post).
# Printed beside the handlers, so the budget can be read against what the libraries alone cost in this run.
LIBRARY_FLOOR = (
    "from aws_lambda_powertools import Logger, Metrics\n"
    "from aws_lambda_powertools.utilities.parser import parse\n"
    "from pydantic import BaseModel\n"
    "class Probe(BaseModel):\n"
    "    value: int\n"
    "Probe(value=1); Logger(); Metrics()"
)
SDK_FLOOR = LIBRARY_FLOOR + "\nimport botocore.config, botocore.session"
# And Post, which also sends to Slack on every invocation.
POST_FLOOR = SDK_FLOOR + "\nimport slack_sdk.webhook"
# Stages that call AWS for some alerts only load botocore with their first client, inside that invocation
# (decision 0021); the bench adds that first client to their import, so the critical path counts it.
FIRST_AWS_CLIENT_STAGES = (
    "functions.gather_cost.handler",
    "functions.gather_compute.handler",
    "functions.gather_logs.handler",
)
FIRST_AWS_CLIENT = "from functions.shared.adapters.aws import aws_client\naws_client('cloudwatch', 'us-east-1')"


# Lambda sets AWS_LAMBDA_INITIALIZATION_TYPE in an init (`functions/shared/init_phase.py`): with it, a handler's
# import also runs its warm-ups, what every invocation needs in one configuration only. The bench's handler lines
# are the configuration without them (no model: the rules; webhook-only); these are the init in the others.
IN_LAMBDA_INIT = {"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}


def _deployed_configurations() -> list[tuple[str, str, dict[str, str]]]:
    """(label, handler module, environment) of each stage whose init warms something up in a configuration."""
    import json

    from functions.analyze.logic import model_for_environment

    bot_token_mode = {
        "CONVERSATIONS_TABLE": "alert-intel-conversations",
        "SLACK_ALERT_CHANNELS": json.dumps({"critical": "C0ALERTS"}),
    }
    return [
        (
            "analyze, a model configured (Anthropic SDK)",
            "functions.analyze.handler",
            {**IN_LAMBDA_INIT, "ALERT_INTEL_MODEL_ID": model_for_environment("prod")},
        ),
        ("check_incident, bot-token mode", "functions.check_incident.handler", {**IN_LAMBDA_INIT, **bot_token_mode}),
    ]


def _memory_mb(module: str) -> int:
    """The memory size CDK gives the function whose handler is in `module`."""
    from functions.shared.stages import PIPELINE_STAGES

    sizes = {stage.handler.rpartition(".")[0]: stage.memory_mb for stage in PIPELINE_STAGES}
    return sizes.get(module, int(LAMBDA_MEMORY_GB * 1024))


def _lambda_python() -> str:
    from cdk.constants import LAMBDA_PYTHON_VERSION

    return LAMBDA_PYTHON_VERSION


def print_imports() -> bool:
    """Cold import per handler as a ratio to `import boto3`; True when every handler is within budget."""
    with deployed_code() as root:
        return _print_imports(root)


def _print_imports(root: Path) -> bool:
    baseline = cold_import_ms("import boto3", root)
    print(
        f"Cold import per stage handler, from the code as deployed (with bytecode; CPU time, best of"
        f" {IMPORT_SAMPLES} fresh interpreters), vs import boto3"
    )
    print(f"  {'import boto3 (baseline)':<40} {baseline:8.1f} ms   1.00x")
    floor, floor_ratio = paired_ratio(LIBRARY_FLOOR, root)
    print(f"  {'libraries alone (every stage)':<40} {floor:8.1f} ms  {floor_ratio:5.2f}x")
    floor, floor_ratio = paired_ratio(SDK_FLOOR, root)
    print(f"  {'  + botocore (AWS on every invocation)':<40} {floor:8.1f} ms  {floor_ratio:5.2f}x")
    floor, floor_ratio = paired_ratio(POST_FLOOR, root)
    print(f"  {'    + slack_sdk (Post)':<40} {floor:8.1f} ms  {floor_ratio:5.2f}x")
    within = True
    times: dict[str, float] = {}
    for module in HANDLER_MODULES:
        times[module], ratio = paired_ratio(f"import {module}", root)
        ok = ratio <= COLD_IMPORT_BUDGET_RATIO
        within &= ok
        print(f"  {module:<40} {times[module]:8.1f} ms  {ratio:5.2f}x  {'ok' if ok else 'OVER BUDGET'}")
    print("  Lambda init in the other configurations (the handler's import with its warm-ups):")
    in_configuration: dict[str, float] = {}
    for label, module, environment in _deployed_configurations():
        init_ms, ratio = paired_ratio(f"import {module}", root, environment)
        in_configuration[module] = init_ms
        ok = ratio <= COLD_IMPORT_BUDGET_RATIO
        within &= ok
        print(f"    {label:<46} {init_ms:8.1f} ms  {ratio:5.2f}x  {'ok' if ok else 'OVER BUDGET'}")
    with_client: dict[str, float] = {}
    for module in FIRST_AWS_CLIENT_STAGES:
        with_client[module], ratio = paired_ratio(f"import {module}\n{FIRST_AWS_CLIENT}", root)
        label = f"{module.split('.')[1]} + its first AWS client"
        print(f"  {label:<40} {with_client[module]:8.1f} ms  {ratio:5.2f}x  (in the invocation that reads AWS)")
    for module in NO_AWS_STAGES:
        loaded = imported_modules(module, ("boto3", "aws_xray_sdk"), root)
        within &= not loaded
        print(f"  {module} imports boto3 / aws_xray_sdk: {', '.join(loaded) or 'neither'}")
    # What each handler's cold start carries (botocore clients need no boto3: decision 0016), and the memory it
    # holds before the first request, against `import boto3`'s and the function's memory size.
    heavy = ("boto3", "botocore.session", "s3transfer", "aws_xray_sdk", "slack_sdk", "pydantic_settings", "anthropic")
    _, boto3_rss = import_footprint("boto3", (), root)
    print(f"  memory after import (peak RSS): import boto3 {boto3_rss:.0f} MiB")
    for module in HANDLER_MODULES:
        loaded, rss = import_footprint(module, heavy, root)
        size = _memory_mb(module)
        print(
            f"  {module:<40} {rss:5.0f} MiB ({rss / boto3_rss:.2f}x, {rss / size:.0%} of its {size} MiB)"
            f"; loads {', '.join(loaded) or 'none of ' + '/'.join(heavy)}"
        )
    path = sum(max(times.get(m, 0.0) for m in step) for step in CRITICAL_PATH)
    path_with_client = sum(max(with_client.get(m, times.get(m, 0.0)) for m in step) for step in CRITICAL_PATH)
    deployed = {**times, **with_client, **in_configuration}
    path_deployed = sum(max(deployed.get(m, 0.0) for m in step) for step in CRITICAL_PATH)
    # Analyze, Format and Post start their init while the context is gathered (decision 0026): after the gather step
    # only what is slower than it remains on the path.
    gather_step, later_steps = CRITICAL_PATH[2], CRITICAL_PATH[3:]
    before = sum(max(deployed.get(m, 0.0) for m in step) for step in CRITICAL_PATH[:2])
    slowest_gather = max(deployed.get(m, 0.0) for m in gather_step)
    warmed_alongside = max([slowest_gather, *(deployed.get(m, 0.0) for step in later_steps for m in step)])
    print(
        f"  critical path (classify, check incident, slowest gather, analyze, format, post): {path:.0f} ms of"
        f" imports; {path_with_client:.0f} ms with the gather's first AWS client; {path_deployed:.0f} ms with a"
        f" model configured and in bot-token mode as well; {before + warmed_alongside:.0f} ms of it on the path with"
        " the later stages warmed up during the gathering (imports only: gathering's AWS reads, which the warm-ups"
        " overlap, are not in these numbers)"
    )
    slowest = max(times, key=times.__getitem__)
    source_only = without_bytecode_ms(slowest, root)
    print(
        f"  {slowest} without bytecode (a package built with no Python {_lambda_python()}):"
        f" {source_only:.0f} ms, {source_only / times[slowest]:.1f}x its import with bytecode"
    )
    print(f"  budget: each handler <= {COLD_IMPORT_BUDGET_RATIO}x import boto3: {'met' if within else 'NOT met'}")
    print()
    return within


def print_scenarios() -> bool:
    from functions.local_runner.runner import run_scenario
    from functions.local_runner.scenario import builtin_scenarios

    within_targets = True
    print("Per scenario: state output sizes, prompt size and cost per alert")
    assumed_output_tokens = 600
    for scenario in builtin_scenarios():
        result = run_scenario(scenario)
        tokens = _estimate_tokens(result.analyze_input)
        model_id, model_usd = _model_cost(tokens, assumed_output_tokens)
        transitions = len(result.states) + sum(s.failures for s in result.states)
        lambda_seconds = sum(i.duration_ms for i in result.invocations) / 1000
        lambda_usd = lambda_seconds * LAMBDA_MEMORY_GB * LAMBDA_USD_PER_GB_SECOND
        lambda_usd += len(result.invocations) * LAMBDA_USD_PER_REQUEST
        sfn_usd = transitions * STEP_FUNCTIONS_USD_PER_TRANSITION
        print(f"  {scenario.name}: {result.status}, {result.seconds:.2f} s")
        for state in result.states:
            print(f"    {state.name:<34} {state.output_bytes:>7,} B  {state.duration_ms:>6} ms")
        print(
            f"    prompt ~{tokens:,} input tokens; {model_id}: ${model_usd:.5f} (at {assumed_output_tokens} output"
            f" tokens); {transitions} transitions ${sfn_usd:.5f}; Lambda {lambda_seconds:.2f} s ${lambda_usd:.6f};"
            f" all-in ${model_usd + sfn_usd + lambda_usd:.5f} per alert"
        )
        if result.max_state_output_bytes >= STATE_OUTPUT_TARGET_BYTES or tokens > PROMPT_TARGET_TOKENS:
            within_targets = False
            print("    ^ OVER TARGET")
    print()
    return within_targets


def print_package_sizes() -> None:
    try:
        from cdk.packaging.sizes import report
    except ImportError:
        print("Function package sizes: CDK packaging not available (install the `cdk` extra)")
        return
    print("Zipped Lambda code (+ layers) per function")
    for name, size in report():
        print(f"  {name:<40} {size / 1024:10,.1f} KiB")
    print()


def main() -> int:
    from functions.local_runner.runner import configure_local_environment

    # As the CLI does first: dummy credentials, and the stages' loggers quiet before any of them is imported.
    configure_local_environment()
    imports_ok = print_imports()
    ok = print_scenarios()
    print_package_sizes()
    try:
        from functions.local_runner.eval import run_eval
    except ImportError:
        pass
    else:
        print("Eval (built-in scenarios)")
        run_eval(None, as_json=False)
    from functions.local_runner.storm import print_storm

    storm_ok = print_storm()
    print("Targets: state outputs < 32 KB, prompts <= 4,000 tokens:", "met" if ok else "NOT met")
    print(
        "Target: <= 1 top-level message and <= 1 model call per incident in the storm:",
        "met" if storm_ok else "NOT met",
    )
    print(f"Target: cold imports <= {COLD_IMPORT_BUDGET_RATIO}x import boto3:", "met" if imports_ok else "NOT met")
    return 0 if ok and imports_ok and storm_ok else 1


if __name__ == "__main__":
    sys.exit(main())
