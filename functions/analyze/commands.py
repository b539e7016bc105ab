"""The read-only allowlist every suggested `aws` CLI command must pass before it can reach Slack.

An on-call engineer copies diagnostics straight into a terminal, so a suggestion must be safe to paste: one `aws`
invocation, no shell syntax, and an operation that only reads. Claude's suggestions and the rules' suggestions go
through the same check.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

MAX_COMMAND_CHARS = 500

# Read-only operation shapes. Everything else (create/put/update/delete/terminate/stop/modify/invoke/...) is dropped.
_READ_ONLY_PREFIXES = ("describe-", "get-", "list-", "lookup-", "filter-", "search-", "batch-get-", "head-")
_READ_ONLY_OPERATIONS = frozenset({"start-query", "get-query-results", "tail", "ls", "wait"})

# Reads that hand out secrets or credentials: read-only in AWS's sense, but never something to paste in a channel.
_SECRET_REVEALING_OPERATIONS = frozenset(
    {
        "get-secret-value",
        "batch-get-secret-value",
        "get-parameter",
        "get-parameters",
        "get-parameters-by-path",
        "get-parameter-history",
        "get-login-password",
        "get-login",
        "get-authorization-token",
        "get-session-token",
        "get-federation-token",
        "get-credentials-for-identity",
        "get-open-id-token",
        "get-open-id-token-for-developer-identity",
        "get-password-data",
        "get-object",  # downloads the object's bytes to a local file
        "get-role-credentials",
        "get-cluster-credentials",
        "get-cluster-credentials-with-iam",
        "get-function-url-config",
    }
)

# `aws` options that point the CLI elsewhere or read local files: not something a diagnostic needs.
_FORBIDDEN_OPTIONS = ("--endpoint-url", "--cli-input-json", "--cli-input-yaml", "--ca-bundle")
_GLOBAL_OPTIONS_WITH_VALUE = frozenset(
    {"--region", "--output", "--query", "--color", "--cli-read-timeout", "--cli-connect-timeout"}
)

# Outside quotes these start shell syntax (chaining, pipes, redirection, substitution, globbing, escapes).
_UNQUOTED_SHELL_CHARS = set(";&|<>()$`\\{}*?!#~\n\r")
# Inside double quotes the shell still expands these.
_DOUBLE_QUOTED_SHELL_CHARS = set("$`\\!\n\r")

# `aws <service> <operation> ...` in prose, up to the end of the line or a closing backtick. Case-sensitive on
# purpose: "AWS Lambda costs rose" is prose, "aws lambda delete-function" is a command.
_AWS_COMMAND_IN_TEXT = re.compile(
    r"(?<![\w./-])aws(?:\s+--[a-z][a-z-]*(?:[ =][^\s`]+)?)*\s+[a-z0-9][a-z0-9.-]*\s+[a-z][a-z0-9-]*[^\n`]*"
)
# Relative dates are the one substitution a diagnostic may use: `$(date -d '-7 days' +%F)` only reads the clock.
_DATE_SUBSTITUTION = re.compile(r"\$\(date(?: -u)?(?: -d '[^'$`\\]*')? \+%[A-Za-z%:-]+\)")


@dataclass(frozen=True)
class CommandVerdict:
    command: str
    allowed: bool
    reason: str = ""


def check_command(command: str) -> CommandVerdict:
    """Decide whether `command` is a single read-only `aws` CLI invocation safe to suggest."""
    text = command.strip()
    if not text:
        return CommandVerdict(command, False, "empty")
    if len(text) > MAX_COMMAND_CHARS:
        return CommandVerdict(command, False, "too long")
    shell_problem = _shell_syntax_problem(_DATE_SUBSTITUTION.sub("DATE", text))
    if shell_problem:
        return CommandVerdict(command, False, shell_problem)
    try:
        tokens = shlex.split(_DATE_SUBSTITUTION.sub("DATE", text), posix=True)
    except ValueError as exc:
        return CommandVerdict(command, False, f"unparseable ({exc})")
    if not tokens or tokens[0] != "aws":
        return CommandVerdict(command, False, "not an aws CLI command")
    for token in tokens[1:]:
        if token.split("=", 1)[0] in _FORBIDDEN_OPTIONS:
            return CommandVerdict(command, False, f"option {token.split('=', 1)[0]} not allowed")
        if token.startswith(("file://", "fileb://")):
            return CommandVerdict(command, False, "reads local files")
    service, operation = _service_and_operation(tokens[1:])
    if not service or not operation:
        return CommandVerdict(command, False, "no service and operation")
    if operation in _SECRET_REVEALING_OPERATIONS:
        return CommandVerdict(command, False, f"{operation} reveals secrets or data")
    if service == "s3" and operation != "ls":
        return CommandVerdict(command, False, f"s3 {operation} is not read-only")
    if operation in _READ_ONLY_OPERATIONS or operation.startswith(_READ_ONLY_PREFIXES):
        return CommandVerdict(command, True)
    return CommandVerdict(command, False, f"{service} {operation} is not a read-only operation")


def is_read_only_command(command: str) -> bool:
    return check_command(command).allowed


@dataclass
class CommandFilter:
    """Collects what was dropped while filtering one analysis."""

    dropped: list[str] = field(default_factory=list)

    def _drop(self, note: str) -> None:
        if note not in self.dropped:
            self.dropped.append(note)

    def keep_commands(self, commands: list[str]) -> list[str]:
        """The read-only commands, stripped of surrounding backticks; the rest is recorded as dropped."""
        kept: list[str] = []
        for raw in commands:
            command = raw.strip().strip("`").strip()
            if command.startswith("$ "):
                command = command[2:].strip()
            verdict = check_command(command)
            if verdict.allowed:
                kept.append(command)
            else:
                self._drop(f"{command[:200]} ({verdict.reason})")
        return kept

    def clean_text(self, text: str) -> str | None:
        """`text` if every `aws` command it mentions is read-only; otherwise None and the commands are recorded."""
        unsafe = [c for c in aws_commands_in_text(text) if not check_command(c).allowed]
        if not unsafe:
            return text
        for command in unsafe:
            self._drop(f"{command[:200]} ({check_command(command).reason}; mentioned in text)")
        return None

    def redact_text(self, text: str) -> str:
        """`text` with every non-read-only `aws` command replaced by a marker, for fields that must stay."""
        for command in aws_commands_in_text(text):
            verdict = check_command(command)
            if not verdict.allowed:
                self._drop(f"{command[:200]} ({verdict.reason}; mentioned in text)")
                text = text.replace(command, "[unsafe command removed]")
        return text


def aws_commands_in_text(text: str) -> list[str]:
    """`aws ...` invocations mentioned in free text (up to the end of the line or a closing backtick)."""
    return [m.group(0).strip().rstrip(".,)") for m in _AWS_COMMAND_IN_TEXT.finditer(text)]


def _shell_syntax_problem(text: str) -> str:
    quote: str | None = None
    for char in text:
        if quote == "'":
            if char == "'":
                quote = None
            elif char in "\n\r":
                return "multi-line command"
            continue
        if quote == '"':
            if char == '"':
                quote = None
            elif char in _DOUBLE_QUOTED_SHELL_CHARS:
                return f"shell metacharacter {char!r}"
            continue
        if char in "'\"":
            quote = char
        elif char in _UNQUOTED_SHELL_CHARS:
            return f"shell metacharacter {char!r}"
    return "unbalanced quotes" if quote else ""


def _service_and_operation(args: list[str]) -> tuple[str, str]:
    positional: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
            continue
        if arg.startswith("--"):
            skip_value = arg in _GLOBAL_OPTIONS_WITH_VALUE and not positional
            continue
        positional.append(arg)
        if len(positional) == 2:
            break
    if len(positional) < 2:
        return (positional[0] if positional else "", "")
    return positional[0], positional[1]
