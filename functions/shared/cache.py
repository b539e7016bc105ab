"""A five-minute, per-container cache for read-only AWS answers.

A burst of alerts about one incident (an alarm, then the budget, then a second alarm) asks the same questions
within minutes; a warm Lambda container answers the repeats from memory instead of paying Cost Explorer again or
spending its time budget on CloudWatch. Entries live `TTL_SECONDS`, keyed by the caller's own key (service, call
and parameters); the cache holds at most `MAX_ENTRIES` and is cleared whenever a new simulated account is seeded,
and by tests with `clear_cache()`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

TTL_SECONDS = 300.0
MAX_ENTRIES = 256

T = TypeVar("T")

_lock = threading.Lock()
_entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_clock: Callable[[], float] = time.monotonic


def cache_key(*parts: Any) -> str:
    """A stable key from JSON-able parts (dicts are key-sorted, dates become ISO strings)."""
    return json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))


def cached(key: str, compute: Callable[[], T], *, ttl_seconds: float = TTL_SECONDS) -> T:
    """Return the value cached under `key` if younger than `ttl_seconds`, else compute, store and return it.

    Exceptions from `compute` propagate and nothing is stored, so a throttled or denied call is retried next time.
    """
    now = _clock()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and now - hit[0] < ttl_seconds:
            _entries.move_to_end(key)
            return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _entries[key] = (_clock(), value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear_cache() -> None:
    with _lock:
        _entries.clear()


def cache_size() -> int:
    with _lock:
        return len(_entries)


def set_clock(clock: Callable[[], float] | None) -> None:
    """Replace the monotonic clock (tests move time forward without sleeping); None restores it."""
    global _clock
    _clock = clock or time.monotonic
