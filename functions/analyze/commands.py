"""The read-only allowlist every suggested `aws` CLI command must pass before it can reach Slack.

An on-call engineer copies diagnostics straight into a terminal, so a suggestion must be safe to paste: one `aws`
invocation, no shell syntax, options the operation really has (abbreviations resolved as the CLI resolves them),
nothing read from a file or URL, and an operation that only reads and prints no secrets. Claude's suggestions and
the rules' suggestions go through the same check. The check and the builder live in `functions.shared.aws_commands`
(the chat bot uses them too); this module keeps the names the Analyze stage has always imported.
"""

from __future__ import annotations

from functions.shared.aws_commands import (
    MAX_COMMAND_CHARS,
    UNSAFE_MARKER,
    BuiltCommand,
    CommandFilter,
    CommandVerdict,
    ValueKind,
    aws_commands_in_text,
    build_command,
    check_command,
    flag,
    is_read_only_command,
    opt,
)

__all__ = [
    "MAX_COMMAND_CHARS",
    "UNSAFE_MARKER",
    "BuiltCommand",
    "CommandFilter",
    "CommandVerdict",
    "ValueKind",
    "aws_commands_in_text",
    "build_command",
    "check_command",
    "flag",
    "is_read_only_command",
    "opt",
]
