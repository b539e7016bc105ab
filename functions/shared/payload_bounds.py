"""Keeping JSON payloads within a byte budget without losing their shape.

Step Functions limits every state's input and output to 256 KiB of UTF-8 and fails the whole execution with the
terminal, uncatchable `States.DataLimitExceeded` when one is larger; SNS allows 256 KiB messages, and an alert's
text is repeated in several states. So every payload that crosses a state boundary is bounded here, in bytes, by
shortening its longest strings (then its longest lists and objects) and keeping every key, so a large alert still
parses as what it is: a 200 KB stack trace stays a custom application error with its service and severity.

Sizes are measured as `json.dumps(value)` with `ensure_ascii=True` and the default separators: an upper bound of
the UTF-8 size of any compact or pretty serialisation (an escaped astral character takes 12 bytes, its UTF-8 4).
"""

from __future__ import annotations

import json
from typing import Any

# Every state output of the alert pipeline stays at or below this (an eighth of Step Functions' limit), so the
# execution history stays readable in the console and no input can approach the terminal limit.
MAX_STATE_OUTPUT_BYTES = 32_000
# What each part of a state may take, so that any state's sum stays below MAX_STATE_OUTPUT_BYTES.
MAX_ALERT_BYTES = 6_000
MAX_SECTION_BYTES = 4_500
MAX_ANALYSIS_BYTES = 5_000
MAX_FAILURE_BYTES = 1_500
MAX_ALERT_CONTEXT_BYTES = 8_000
# The raw alert as ingest hands it to the state machine (the execution input; Classify reads it once).
MAX_PIPELINE_PAYLOAD_BYTES = 64_000

CUT_MARK = "…[cut {} chars]"
_MIN_STRING_CAP = 16
_PREFERRED_STRING_CAP = 200


def json_size(value: Any) -> int:
    """Bytes of `value` as JSON, measured conservatively (see the module docstring). Never raises."""
    try:
        return len(json.dumps(value, ensure_ascii=True, default=str))
    except (ValueError, RecursionError):  # circular or absurdly deep: treat as over any budget
        return 1 << 40


def fits(value: Any, max_bytes: int) -> bool:
    return json_size(value) <= max_bytes


def shorten(value: str, max_chars: int) -> str:
    """`value` cut to about `max_chars` characters, saying how much was cut."""
    if len(value) <= max_chars:
        return value
    keep = max(max_chars - 20, 0)
    return value[:keep] + CUT_MARK.format(len(value) - keep)


def shorten_to_bytes(value: str, max_bytes: int) -> str:
    """`value` shortened (with the cut mark) until its JSON string takes at most `max_bytes`: for text of astral or
    non-Latin characters, where a character cap alone can still be twelve times too large."""
    if fits(value, max_bytes):
        return value
    low, high = 0, len(value)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(shorten(value, middle), max_bytes):
            low = middle
        else:
            high = middle - 1
    return shorten(value, low)


def shrink_json(value: Any, max_bytes: int) -> Any:
    """A copy of JSON `value` whose size is at most `max_bytes`, keeping its keys and shape where possible.

    In turn: long strings are shortened (longest first, down to 200 characters), then long lists and objects keep
    their first items with a marker for the rest, then strings go down to 16 characters. A value that still does
    not fit (a document of tens of thousands of keys) becomes one string: its JSON, cut. Never raises.
    """
    if fits(value, max_bytes):
        return value
    longest_string, longest_list = _longest(value)
    cap = _largest_fitting(lambda c: _cap(value, c, None), _PREFERRED_STRING_CAP, longest_string, max_bytes)
    if cap is not None:
        return _cap(value, cap, None)
    items = _largest_fitting(lambda n: _cap(value, _PREFERRED_STRING_CAP, n), 1, longest_list, max_bytes)
    if items is not None:
        return _cap(value, _PREFERRED_STRING_CAP, items)
    for cap in (100, 50, _MIN_STRING_CAP):
        candidate = _cap(value, cap, 1)
        if fits(candidate, max_bytes):
            return candidate
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _string_within(text, max_bytes)


def _string_within(text: str, max_bytes: int) -> str:
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(shorten(text, middle), max_bytes):
            low = middle
        else:
            high = middle - 1
    return shorten(text, low) if fits(shorten(text, low), max_bytes) else ""


def _largest_fitting(build: Any, low: int, high: int, max_bytes: int) -> int | None:
    """The largest n in [low, high] for which build(n) fits (size grows with n), or None if even `low` does not."""
    if high < low or not fits(build(low), max_bytes):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(build(middle), max_bytes):
            low = middle
        else:
            high = middle - 1
    return low


def _cap(value: Any, max_chars: int, max_items: int | None) -> Any:
    if isinstance(value, str):
        return shorten(value, max_chars)
    if isinstance(value, dict):
        entries = list(value.items())
        kept = entries if max_items is None else entries[:max_items]
        result = {key: _cap(child, max_chars, max_items) for key, child in kept}
        if len(kept) < len(entries):
            result["…"] = f"{len(entries) - len(kept)} more keys cut"
        return result
    if isinstance(value, list):
        kept_items = value if max_items is None else value[:max_items]
        capped = [_cap(child, max_chars, max_items) for child in kept_items]
        if len(kept_items) < len(value):
            capped.append(f"…{len(value) - len(kept_items)} more items cut")
        return capped
    return value


def _longest(value: Any) -> tuple[int, int]:
    """(longest string, longest list or object) anywhere in `value`, walked iteratively."""
    longest_string = longest_container = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            longest_string = max(longest_string, len(item))
        elif isinstance(item, dict | list):
            longest_container = max(longest_container, len(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return longest_string, longest_container
