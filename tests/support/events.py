"""Loading the real payload fixtures in tests/events/ by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def event_path(name: str) -> Path:
    path = EVENTS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"No fixture {name!r} in {EVENTS_DIR}")
    return path


def load_event(name: str) -> Any:
    """The fixture parsed as JSON for .json files, its text otherwise."""
    path = event_path(name)
    return json.loads(path.read_text()) if path.suffix == ".json" else path.read_text()


def load_raw(name: str) -> bytes:
    return event_path(name).read_bytes()
