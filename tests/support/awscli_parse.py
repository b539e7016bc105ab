"""Parse `aws ...` commands with the AWS CLI's own argument parsers, without running them.

Run as a separate process (`python -m tests.support.awscli_parse`, a JSON request on stdin, one JSON result per
line on stdout): importing `awscli` installs an import alias that serves `botocore` from awscli's vendored
copy and sets `AWS_DATA_PATH`, neither of which may leak into the test process. `parse_with_awscli` does that.

Each command goes through the same three parsers the CLI's `main` uses: the top-level parser (global options and
the service), the service's parser (the operation), and the operation's parser built from its argument table (the
botocore model plus the CLI's customisations: pagination, `--cli-input-json`, ...). Nothing is called, so nothing
touches the network or the credentials. For every parsed value the result says whether it starts with a prefix
the CLI would load from a file or URL (`awscli.paramfile`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def parse_with_awscli(commands: list[str]) -> list[dict[str, Any]]:
    """One result per command, from a fresh process with no AWS configuration at all."""
    return _run({"commands": commands})


def awscli_operations(pairs: list[tuple[str, str]]) -> list[bool]:
    """Whether the AWS CLI has each (service, operation) in its command tables."""
    return [bool(r["exists"]) for r in _run({"operations": pairs})]


def _run(request: dict[str, Any]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "PYTHONPATH": str(REPO),
            "AWS_CONFIG_FILE": str(Path(home) / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(Path(home) / "no-credentials"),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        completed = subprocess.run(
            [sys.executable, "-m", "tests.support.awscli_parse"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=env,
            cwd=str(REPO),
            timeout=300,
            check=True,
        )
    return [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]


def _expected_values(canonical: str) -> dict[str, Any]:
    """Option -> value(s) as our check parsed them, from the canonical form (options and values alternate)."""
    tokens = shlex.split(canonical)[3:]
    expected: dict[str, Any] = {}
    name = None
    for token in tokens:
        if token.startswith("--"):
            name = token[2:]
            expected[name] = True
        elif name is not None:
            previous = expected[name]
            expected[name] = token if previous is True else [*_as_list(previous), token]
    return expected


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _normal(value: Any) -> Any:
    """Values as text (the CLI turns --max-items into an int), flags as booleans."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value if isinstance(value, bool) or value is None else str(value)


AWS_ENDPOINT = re.compile(r"https://[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?")
GLOBAL_DESTS = {"region": "region", "query": "query", "output": "output", "color": "color"}
SAFE_GLOBALS = {
    "endpoint_url": None,
    "profile": None,
    "ca_bundle": None,
    "verify_ssl": True,
    "debug": False,
    "v2_debug": False,
    "sign_request": True,
}


def assert_cli_parses_as_intended(result: dict[str, Any], canonical: str) -> None:
    """The AWS CLI parsed `canonical` into exactly the options we meant, with no forbidden global and no file."""
    assert result["ok"], result
    tokens = shlex.split(canonical)
    assert (result["service"], result["operation"]) == (tokens[1], tokens[2])
    assert result["remaining"] == [], result
    assert result["paramfile"] == [], result
    for dest, safe in SAFE_GLOBALS.items():
        if dest == "endpoint_url" and result["globals"][dest] is not None:
            # The CLI's own customisations pin some services to their AWS endpoint (Health to us-east-1).
            assert AWS_ENDPOINT.fullmatch(result["globals"][dest]), result
            continue
        assert result["globals"][dest] == safe, (dest, result)
    for name, value in _expected_values(canonical).items():
        if name in GLOBAL_DESTS:
            assert result["globals"][GLOBAL_DESTS[name]] == value, (name, result)
        elif name.startswith("no-") and value is True:
            assert result["args"].get(name) is False, (name, result)
        else:
            parsed = result["args"].get(name)
            assert _normal(parsed) == _normal(value) or _as_list(_normal(parsed)) == _as_list(_normal(value)), (
                name,
                value,
                result,
            )


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _parse_one(driver: Any, command: str) -> dict[str, Any]:  # pragma: no cover - runs in the child process
    from awscli.argparser import ArgTableArgParser
    from awscli.arguments import UnknownArgumentError
    from awscli.clidriver import ServiceCommand
    from awscli.paramfile import LOCAL_PREFIX_MAP, REMOTE_PREFIX_MAP

    prefixes = [*LOCAL_PREFIX_MAP, *REMOTE_PREFIX_MAP]
    tokens = shlex.split(command)
    if not tokens or tokens[0] != "aws":
        return {"command": command, "ok": False, "error": "not aws"}
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            command_table = driver._get_command_table()
            main_parser = driver._create_parser(command_table)
            parsed_globals, remaining = main_parser.parse_known_args(tokens[1:])
            service = command_table[parsed_globals.command]
            if isinstance(service, ServiceCommand):
                service_args, remaining = service._create_parser().parse_known_args(remaining)
                name = service_args.operation
                operation = service._get_command_table()[name]
                arg_table = operation.arg_table
                operation._emit(
                    f"before-building-argument-table-parser.{service.name}.{name}",
                    argument_table=arg_table,
                    args=remaining,
                    session=operation._session,
                    parsed_globals=parsed_globals,
                )
                parser = operation._create_operation_parser(arg_table)
                operation._add_help(parser)
            else:  # a CLI-only command such as `aws s3 ls`
                top_args, remaining = ArgTableArgParser(service.arg_table, service.subcommand_table).parse_known_args(
                    remaining
                )
                name = top_args.subcommand
                operation = service.subcommand_table[name]
                arg_table = operation.arg_table
                parser = ArgTableArgParser(arg_table, operation.subcommand_table)
            parsed_args, remaining = parser.parse_known_args(remaining)
    except (SystemExit, UnknownArgumentError, KeyError) as exc:
        return {"command": command, "ok": False, "error": f"{type(exc).__name__}: {errors.getvalue()[-500:]}"}
    # Each option (and positional) the operation's parser knows, by name, with what it parsed into its dest.
    values: dict[str, Any] = {}
    for action in parser._actions:
        names = [o[2:] for o in action.option_strings if o.startswith("--")] or [action.dest]
        value = getattr(parsed_args, action.dest, None)
        if value is not None and action.dest != "help":
            for option_name in names:
                values[option_name] = _plain(value)
    help_value = getattr(parsed_args, "help", None)
    return {
        "command": command,
        "ok": True,
        "service": parsed_globals.command,
        "operation": name,
        "globals": {k: _plain(v) for k, v in vars(parsed_globals).items() if k != "command"},
        "args": values,
        "remaining": [*remaining, *([help_value] if help_value else [])],
        "paramfile": [s for v in values.values() for s in _strings(v) if any(s.startswith(p) for p in prefixes)],
    }


def main() -> None:  # pragma: no cover - runs in the child process
    from awscli.clidriver import ServiceCommand, create_clidriver

    request = json.loads(sys.stdin.read())
    driver = create_clidriver()
    for command in request.get("commands", []):
        print(json.dumps(_parse_one(driver, command)), flush=True)
    table = driver._get_command_table()
    for service, operation in request.get("operations", []):
        command = table.get(service)
        if command is None:
            exists = False
        elif isinstance(command, ServiceCommand):
            exists = operation in command._get_command_table()
        else:
            exists = operation in command.subcommand_table
        print(json.dumps({"service": service, "operation": operation, "exists": exists}), flush=True)


if __name__ == "__main__":
    main()
