"""Parse `aws ...` commands with the AWS CLI's own argument parsers, without running them.

Run as a separate process (`python -m tests.support.awscli_parse`, commands as a JSON list on stdin, one JSON result
per command on stdout): importing `awscli` installs an import alias that serves `botocore` from awscli's vendored
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
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def parse_with_awscli(commands: list[str]) -> list[dict[str, Any]]:
    """One result per command, from a fresh process with no AWS configuration at all."""
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
            input=json.dumps(commands),
            capture_output=True,
            text=True,
            env=env,
            cwd=str(REPO),
            timeout=300,
            check=True,
        )
    return [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]


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
    from awscli.clidriver import create_clidriver

    commands = json.loads(sys.stdin.read())
    driver = create_clidriver()
    for command in commands:
        print(json.dumps(_parse_one(driver, command)), flush=True)


if __name__ == "__main__":
    main()
