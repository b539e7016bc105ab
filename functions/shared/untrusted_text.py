"""Cleaning strings that arrive from outside (alert payloads, logs, tool output, model output).

Applied once, at ingest, to every string in an alert (keys and values), and again wherever text from outside reaches
Slack, so that the rest of the pipeline can rely on two properties:

* every string encodes as UTF-8: a lone surrogate (what JavaScript's `JSON.stringify` writes when an app cuts an
  emoji in half) becomes U+FFFD instead of crashing pydantic's JSON serialiser;
* no invisible control changes how a name displays: bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069),
  directional marks (U+200E, U+200F, U+061C), zero-width characters (U+200B-U+200D, U+2060, U+FEFF) and other
  format controls are shown as a visible escape (`\\u202e`), so "invoice‮fdp.exe" reads as what it is. A value that
  contained one then holds a backslash, which no resource-name validator accepts, so no command or link is built
  from it.

Tabs and newlines are kept (stack traces need them); other C0/C1 controls become visible escapes too.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Characters that change how text displays without showing themselves.
_INVISIBLE = re.compile(
    "["
    "\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"  # C0/C1 controls except tab, newline, carriage return
    "\u00ad"  # soft hyphen
    "\u061c"  # Arabic letter mark
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers (render as blank)
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero-width space/joiners, LRM, RLM
    "\u2028\u2029"  # line/paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u206f"  # word joiner, invisible operators, bidi isolates, deprecated format controls
    "\ufeff"  # zero-width no-break space / BOM
    "\ufff9-\ufffb"  # interlinear annotation controls
    "\U000e0000-\U000e007f"  # tag characters
    "]"
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
_MAX_DEPTH = 64


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def clean_text(value: str) -> str:
    """`value` with lone surrogates replaced by U+FFFD and invisible controls shown as `\\uXXXX`. Never raises."""
    if value.isascii() and value.isprintable():
        return value  # the common case, checked in C
    value = _LONE_SURROGATE.sub(REPLACEMENT, value)
    return _INVISIBLE.sub(_visible, value)


def has_invisible_controls(value: str) -> bool:
    """True when `value` holds a character `clean_text` would escape or replace."""
    return bool(_INVISIBLE.search(value) or _LONE_SURROGATE.search(value))


def clean_json(value: Any, *, max_depth: int = _MAX_DEPTH) -> Any:
    """A copy of a JSON value with `clean_text` applied to every string, keys included.

    Nesting deeper than `max_depth` is replaced by a short marker string, so a 100,000-deep document can neither
    exhaust the recursion limit here nor anywhere downstream. Iterative, so it never raises RecursionError.
    """
    root: list[Any] = [None]
    # (container to fill, key or index, value to clean, depth)
    stack: list[tuple[Any, Any, Any, int]] = [(root, 0, value, 0)]
    while stack:
        parent, slot, item, depth = stack.pop()
        if isinstance(item, str):
            parent[slot] = clean_text(item)
        elif isinstance(item, dict):
            if depth >= max_depth:
                parent[slot] = f"<nesting deeper than {max_depth} levels omitted>"
                continue
            cleaned: dict[str, Any] = {}
            parent[slot] = cleaned
            for key, child in item.items():
                name = clean_text(key) if isinstance(key, str) else str(key)
                cleaned[name] = None
                stack.append((cleaned, name, child, depth + 1))
        elif isinstance(item, list | tuple):
            if depth >= max_depth:
                parent[slot] = f"<nesting deeper than {max_depth} levels omitted>"
                continue
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            for index, child in enumerate(item):
                stack.append((items, index, child, depth + 1))
        elif item is None or isinstance(item, bool | int):
            parent[slot] = item
        elif isinstance(item, float):
            # NaN and infinities are not JSON: keep them readable instead of failing a serialiser later.
            parent[slot] = item if item == item and abs(item) != float("inf") else str(item)
        else:
            parent[slot] = clean_text(str(item))
    return root[0]


def loads_bounded(text: str, *, max_depth: int = _MAX_DEPTH) -> Any:
    """`json.loads(text)`, except that arrays and objects nested deeper than `max_depth` become a short marker
    string, so a valid alert with one absurdly deep field (100,000 levels: Python's parser gives up near 1,000)
    still parses as the alert it is.

    Raises:
        ValueError: `text` is not JSON (json.JSONDecodeError).
    """
    try:
        return json.loads(text)
    except RecursionError:
        return json.loads(_flatten_deep(text, max_depth))


def _flatten_deep(text: str, max_depth: int) -> str:
    """`text` with every array or object that opens below `max_depth` replaced by a marker string (iterative)."""
    marker = json.dumps(f"<nesting deeper than {max_depth} levels omitted>")
    out: list[str] = []
    depth = 0
    skip_from_depth: int | None = None
    in_string = escaped = False
    for char in text:
        if in_string:
            if skip_from_depth is None:
                out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
            if skip_from_depth is None:
                out.append(char)
            continue
        if char in "[{":
            depth += 1
            if skip_from_depth is None and depth > max_depth:
                skip_from_depth = depth
                out.append(marker)
                continue
        elif char in "]}":
            if skip_from_depth is not None and depth == skip_from_depth:
                skip_from_depth = None
                depth -= 1
                continue
            depth -= 1
        if skip_from_depth is None:
            out.append(char)
    return "".join(out)
