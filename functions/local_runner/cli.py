"""`alert-intel`: classify alerts and run them through the real state machine, offline.

Verbs: `classify FILE`, `run [FILE ...] [--scenario NAME] [--out DIR] [--slack webhook|web] [--together]
[--enforce-iam [--env NAME]]`, `demo [--out DIR]`, `eval [--scenarios DIR] [--json]`, `doctor [--env NAME]`
(`doctor.py`), and `chat`, `slack-server` (`chat_commands.py`, with the `chat` extra).
Exit codes: 0 success, 1 the run failed (or, with --enforce-iam, an AWS call was denied), 2 bad usage or
unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.local_runner.iam_enforcement import IamEnforcement

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unreadable input file: exit 2 with a clear message."""


def _read_file(path: str) -> bytes:
    file = Path(path)
    if not file.exists():
        raise UsageError(f"no such file: {path}")
    if not file.is_file():
        raise UsageError(f"not a file: {path}")
    return file.read_bytes()


def cmd_classify(args: argparse.Namespace) -> int:
    from functions.classify.logic import classify
    from functions.ingest.logic import pipeline_inputs_from_raw

    data = _read_file(args.file)
    alerts = [classify(item).model_dump(mode="json") for item in pipeline_inputs_from_raw(data)]
    print(json.dumps(alerts, indent=2))
    return EXIT_OK


def _print_run(result: Any, out_dir: Path | None) -> None:
    from functions.format.logic import block_kit_builder_url
    from functions.local_runner.terminal import message_preview, state_table
    from functions.shared.models import SlackMessage

    print(state_table(result))
    print()
    if result.slack_message is None:
        print("No Slack message was posted.")
    else:
        print("Slack message posted to the local webhook:")
        print()
        print(message_preview(result.slack_message))
        print()
        print("Block Kit Builder: " + block_kit_builder_url(SlackMessage.model_validate(result.slack_message)))
    if out_dir is not None:
        written = [out_dir / name for name in ("slack_message.json", "execution.json") if (out_dir / name).exists()]
        print("Wrote " + " and ".join(str(path) for path in written))


def cmd_run(args: argparse.Namespace) -> int:
    from functions.local_runner.runner import run_scenario
    from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario

    scenario = _load_scenario(args.scenario or DEFAULT_SCENARIO, load_scenario)
    files = list(args.files or [])
    sequence = len(files) > 1 or args.slack == "web" or args.together
    enforcement = _enforcement(args.env, web=args.slack == "web") if args.enforce_iam else None
    if sequence:
        code = _run_sequence(files, scenario, Path(args.out), args.slack, enforcement, together=args.together)
    else:
        payload = _read_file(files[0]) if files else None
        out_dir = Path(args.out)
        try:
            if enforcement is None:  # a plain run calls the runner exactly as before --enforce-iam existed
                result = run_scenario(scenario, alert_payload=payload, out_dir=out_dir)
            else:
                result = run_scenario(scenario, alert_payload=payload, out_dir=out_dir, enforcement=enforcement)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        _print_run(result, out_dir)
        code = EXIT_OK if result.succeeded else EXIT_FAILED
    if enforcement is None:
        return code
    return max(code, _report_enforcement(enforcement, args.env))


def _enforcement(env: str, *, web: bool) -> IamEnforcement:
    """IAM enforcement from environment `env`'s synthesised roles (offline; takes a few seconds)."""
    from functions.local_runner.enforced_run import LOCAL_CONVERSATIONS_TABLE, enforcement_for, synthesised_templates
    from functions.local_runner.sequence import LOCAL_TABLE

    try:
        config, templates = synthesised_templates(env)
    except ValueError as exc:  # an unknown environment, or region limits that cannot work
        raise UsageError(str(exc)) from exc
    return enforcement_for(templates, config, table=LOCAL_TABLE if web else LOCAL_CONVERSATIONS_TABLE)


def _report_enforcement(enforcement: IamEnforcement, env: str) -> int:
    """Print every denied call; EXIT_FAILED when there was one, as the run would have lost it in AWS."""
    from functions.local_runner.enforced_run import describe_denied

    denied = describe_denied(enforcement.denied_calls())
    print()
    if not denied:
        print(f"IAM enforcement ({env} roles): {len(enforcement.calls)} AWS calls, none denied")
        return EXIT_OK
    print(f"IAM enforcement ({env} roles): {len(denied)} denied of {len(enforcement.calls)} AWS calls")
    for line in denied:
        print(line)
    return EXIT_FAILED


def _incident_decision(run: Any) -> str:
    """ "; Check Incident: update (resolution: no investigation)" — how the run was routed (decision 0014); after a
    wait for another run's claim (decision 0020), the last check's decision and how often it waited."""
    checks = [s for s in run.states if s.name in ("Check Incident", "Check Incident Again")]
    state = checks[-1] if checks else None
    output = state.output if state is not None and isinstance(state.output, dict) else {}
    check = output.get("incident_check")
    if not isinstance(check, dict):
        return ""
    waited = f" after {check.get('waits')} wait(s)" if state is not None and state.name != "Check Incident" else ""
    return f"; Check Incident: {check.get('action')} ({check.get('reason')}){waited}"


def _run_sequence(
    files: list[str],
    scenario: Any,
    out_dir: Path,
    slack: str,
    enforcement: IamEnforcement | None = None,
    *,
    together: bool = False,
) -> int:
    """Several alerts in order (or all at once) on one simulated account and one local Slack
    (`functions.local_runner.sequence`)."""
    import json as json_module

    from functions.local_runner.sequence import SlackMode, run_files
    from functions.local_runner.terminal import message_preview

    payloads = [_read_file(path) for path in files] or [json_module.dumps(scenario.alert).encode()]
    try:
        mode: SlackMode = "web" if slack == "web" else "webhook"
        if enforcement is None:
            result = run_files(payloads, scenario, slack=mode, out_dir=out_dir, together=together)
        else:
            result = run_files(
                payloads, scenario, slack=mode, out_dir=out_dir, enforcement=enforcement, together=together
            )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    for number, run in enumerate(result.runs, start=1):
        print(
            f"run {number}: {run.status} in {run.seconds:.1f} s ({run.execution_arn.rsplit(':', 1)[-1]})"
            + _incident_decision(run)
        )
    if result.duplicates:
        print(f"{result.duplicates} repeated deliveries started no execution (same alert, same execution name)")
    if slack == "web":
        print()
        for call in result.slack_calls:
            where = f"thread {call['thread_ts']}" if call["thread_ts"] else "channel"
            print(f"{call['method']} {call['channel']} ts={call['ts']} ({where})")
            if call.get("blocks"):
                print("  " + message_preview({"text": call["text"], "blocks": call["blocks"]}).replace("\n", "\n  "))
        print(f"\nWrote {out_dir / 'slack_calls.json'} and {out_dir / 'executions.json'}")
    else:
        print(f"Wrote {out_dir / 'slack_messages.json'} and {out_dir / 'executions.json'}")
    return EXIT_OK if result.succeeded else EXIT_FAILED


def _load_scenario(name: str, loader: Any) -> Any:
    try:
        return loader(name)
    except (FileNotFoundError, KeyError) as exc:
        raise UsageError(f"unknown scenario {name!r}: {exc}") from exc


def cmd_demo(args: argparse.Namespace) -> int:
    from functions.local_runner.runner import run_scenario
    from functions.local_runner.scenario import DEFAULT_SCENARIO, builtin_scenarios

    scenarios = sorted(builtin_scenarios(), key=lambda s: (s.name != DEFAULT_SCENARIO, s.name))
    out_root = Path(args.out)
    failures = 0
    summary: list[tuple[str, str, str, int]] = []
    for index, scenario in enumerate(scenarios):
        result = run_scenario(scenario, out_dir=out_root / scenario.name)
        failures += 0 if result.succeeded else 1
        if index == 0:
            print(f"== Scenario {scenario.name}: {scenario.description}")
            _print_run(result, out_root / scenario.name)
            print()
        header = next(
            (b["text"]["text"] for b in (result.slack_message or {}).get("blocks", []) if b.get("type") == "header"),
            "(nothing posted)",
        )
        summary.append((scenario.name, result.status, header, result.max_state_output_bytes))
    print(f"== All {len(scenarios)} built-in scenarios (messages in {out_root}/<scenario>/slack_message.json)")
    width = max(len(name) for name, *_ in summary)
    for name, status, header, biggest in summary:
        print(f"{name.ljust(width)}  {status:<9}  largest state output {biggest:>6,} B  {header}")
    return EXIT_OK if failures == 0 else EXIT_FAILED


def cmd_eval(args: argparse.Namespace) -> int:
    from functions.local_runner.eval import run_eval

    scenarios_dir = Path(args.scenarios) if args.scenarios else None
    if scenarios_dir is not None and not scenarios_dir.is_dir():
        raise UsageError(f"no such scenarios folder: {args.scenarios}")
    return run_eval(scenarios_dir, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alert-intel", description="AWS alert intelligence: run alerts through the pipeline locally."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    classify = verbs.add_parser("classify", help="print the normalised alert(s) in FILE as a JSON array")
    classify.add_argument("file", metavar="FILE")
    classify.set_defaults(func=cmd_classify)

    run = verbs.add_parser("run", help="run one alert through the state machine against a simulated account")
    run.add_argument(
        "files", metavar="FILE", nargs="*", help="alert payloads, run in order (default: the scenario's own alert)"
    )
    run.add_argument(
        "--slack",
        choices=("webhook", "web"),
        default="webhook",
        help="post through the local webhook (default) or the local Slack Web API with the bot token "
        "(writes DIR/slack_calls.json)",
    )
    run.add_argument(
        "--together",
        action="store_true",
        help="start every FILE's execution at once, as alerts arriving in the same seconds (decision 0020)",
    )
    run.add_argument("--scenario", metavar="NAME", help="built-in scenario name or a scenario file to seed from")
    run.add_argument("--out", metavar="DIR", default="out", help="where to write slack_message.json and execution.json")
    run.add_argument(
        "--enforce-iam",
        action="store_true",
        help="authorise every AWS call against its function's role from the synthesised CDK app; print the denied "
        "calls and exit 1 when there is one",
    )
    run.add_argument("--env", default="dev", help="whose roles --enforce-iam uses (cdk -c env=...), default dev")
    run.set_defaults(func=cmd_run)

    demo = verbs.add_parser("demo", help="run the built-in scenarios end to end")
    demo.add_argument("--out", metavar="DIR", default="out/demo")
    demo.set_defaults(func=cmd_demo)

    evaluate = verbs.add_parser("eval", help="score the context and analysis of each scenario")
    evaluate.add_argument("--scenarios", metavar="DIR", help="a folder of scenario files (default: built-in)")
    evaluate.add_argument("--json", action="store_true", help="print the results as JSON")
    evaluate.set_defaults(func=cmd_eval)

    from functions.local_runner.doctor import register as register_doctor

    register_doctor(verbs)

    try:
        from functions.local_runner.chat_commands import register
    except ImportError:  # the chat verbs need the `chat` extra (LangGraph)
        pass
    else:
        register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from functions.local_runner.runner import configure_local_environment

    configure_local_environment()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"alert-intel: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
