"""Shortening a log line around its error, so the decisive part survives: a line cut at a fixed length drops the
tail that names what went wrong ("FATAL: password a…", "Status: timeou…", a Lambda REPORT line cut before
"Error Type: Runtime.OutOfMemory").

`shorten_line` keeps the head (timestamp, level, logger), the error (its type and message: the deepest "Caused by"
of a Java stack trace, the exception of a Python traceback, a JSON log's error fields, a REPORT line's status and
error type) and elides the middle, within a byte budget.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_LINE_BYTES = 200
HEAD_BYTES = 56
ELISION = " … "

# The decisive part of an error line, most specific first. Each match starts where the kept tail starts.
_CAUSED_BY = re.compile(r"Caused by: ")
_STACK_FRAME = re.compile(r"\s(?:at [\w$.<>/]+\(|\.\.\. \d+ more|File \"[^\"]+\", line \d+)")
# A Lambda platform line (REPORT, the runtime's own): its status and error type are what matter.
_PLATFORM = [
    re.compile(r"Task timed out after [\d.]+ seconds"),
    re.compile(r"Status: (?:timeout|error)\b", re.IGNORECASE),
    re.compile(r"Error Type: \S+"),
]
# Any other line: the first of these names the error (its type and message follow).
_ERROR_START = [
    re.compile(r"\bFATAL:\s"),
    re.compile(r"\b(?:[a-z_$][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error|Exit|OutOfMemory|Timeout|Fault)\b:?"),
    re.compile(r"\b(?:Runtime|Sandbox)\.[A-Z]\w+"),
]
_LEVEL = re.compile(r"\b(?:ERROR|FATAL|CRITICAL|PANIC)\b")
_JSON_LEVEL = ("level", "levelname", "severity", "log.level")
_JSON_MESSAGE_ONLY = ("message", "msg")
_JSON_ERROR_TYPE = ("errorType", "error_type", "exception_name", "exceptionType", "error.type", "error.kind")
_JSON_ERROR_MESSAGE = ("errorMessage", "error_message", "exception_message", "error.message")
_JSON_TRACE = ("exception", "stack", "stack_trace", "stackTrace", "traceback", "error.stack")


def _cut(text: str, limit: int) -> str:
    """`text` within `limit` UTF-8 bytes, never splitting a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")


def _size(text: str) -> int:
    return len(text.encode())


def _field(record: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value: Any = record
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None and "." in name:
            value = record.get(name)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return " ".join(" ".join(value).split())
    return None


def _last_trace_line(trace: str) -> str | None:
    """A traceback's decisive line: the exception it ends with (Python), or its first line (Java, Node)."""
    lines = [line.strip() for line in trace.replace("\\n", "\n").splitlines() if line.strip()]
    if not lines:
        return None
    if lines[0].startswith("Traceback"):
        return lines[-1]
    caused = [line for line in lines if line.startswith("Caused by:")]
    return caused[-1] if caused else lines[0]


def _from_json(message: str) -> str | None:
    """A JSON log line as "LEVEL message ErrorType: error message", or None when it is not a JSON object."""
    text = message.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    error_type, error_message = _field(record, _JSON_ERROR_TYPE), _field(record, _JSON_ERROR_MESSAGE)
    if error_message is None and isinstance(record.get("error"), str):
        error_message = " ".join(str(record["error"]).split())
    trace = _last_trace_line(_raw_trace(record))
    if error_type and error_message:
        error = f"{error_type}: {error_message}"
    elif trace:  # a traceback ends with the exception's type and message
        error = trace
    else:
        error = error_type or error_message or ""
    what = _field(record, _JSON_MESSAGE_ONLY)
    if what and what in error:  # said once
        what = None
    parts = [p for p in (_field(record, _JSON_LEVEL), what, error) if p]
    return " ".join(parts) if parts else None


def _raw_trace(record: dict[str, Any]) -> str:
    for name in _JSON_TRACE:
        value = record.get(name)
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
    return ""


def _decisive_start(flat: str) -> int | None:
    """Where the error's type and message start in a flattened line: the deepest cause of a stack trace first."""
    caused = list(_CAUSED_BY.finditer(flat))
    if caused:
        return caused[-1].end()
    for pattern in _PLATFORM:
        if (match := pattern.search(flat)) is not None:
            return match.start()
    starts = [m.start() for pattern in _ERROR_START if (m := pattern.search(flat, HEAD_BYTES // 2)) is not None]
    if starts:
        return min(starts)
    match = _LEVEL.search(flat, HEAD_BYTES // 2)
    return match.start() if match else None


def _without_frames(text: str) -> str:
    """The error's message up to its first stack frame ("at com.x.Y(...)", 'File "...", line N')."""
    frame = _STACK_FRAME.search(text)
    return text[: frame.start()].rstrip() if frame else text


def shorten_line(message: str, max_bytes: int = MAX_LINE_BYTES) -> str:
    """The line within `max_bytes`: unchanged when it fits; else its head, an elision, and its error."""
    flat = " ".join(message.split())
    if _size(flat) <= max_bytes:
        return flat
    structured = _from_json(message)
    if structured is not None:
        flat = structured
        if _size(flat) <= max_bytes:
            return flat
    start = _decisive_start(flat)
    if start is None:
        return _cut(flat, max_bytes - _size("…")) + "…"
    tail = _without_frames(flat[start:])
    if start < HEAD_BYTES:  # the error is in the head already: keep from the start, its stack frames left out
        return _fit(flat[:start] + tail, max_bytes)
    # The error gets what it needs (up to all but HEAD_BYTES), the head the rest: short errors keep more context.
    head_budget = max_bytes - _size(ELISION) - min(_size(tail), max_bytes - HEAD_BYTES - _size(ELISION))
    head = _cut(flat, max(0, head_budget)).rstrip()
    return f"{head}{ELISION}{_fit(tail, max_bytes - _size(head) - _size(ELISION))}"


# Where a message's innermost cause starts: "... failed: FATAL: password ...", "...: Caused by ...".
_INNER_CAUSE = re.compile(r"\bFATAL:\s|\b(?:[a-z_$][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error):\s")
_MIN_OUTER_BYTES = 24


def _fit(text: str, room: int) -> str:
    """`text` within `room` bytes. An error wrapping another ("OperationalError: connection to server at ... failed:
    FATAL: password authentication failed") keeps its outer type and its inner cause, eliding between them."""
    if _size(text) <= room:
        return text
    inner = [m.start() for m in _INNER_CAUSE.finditer(text) if m.start() > 0]
    if inner:
        cause = text[inner[-1] :]
        outer_room = room - _size(ELISION) - _size(cause)
        if outer_room >= _MIN_OUTER_BYTES:
            return f"{_cut(text[: inner[-1]], outer_room).rstrip()}{ELISION}{cause}"
    return _cut(text, room - _size("…")).rstrip() + "…"
