"""Scenarios: a realistic AWS incident as a data file — the account to simulate, the alert, and what must be found.

A scenario file (YAML or JSON; the format is documented in `scenarios/README.md`) holds:
- `alert`: the payload exactly as ingest receives it (an SNS Lambda event, an EventBridge event, or raw text);
- `account`: an `AccountSeed` (functions, instances, metrics, logs, Cost Explorer results, budgets, findings);
- `expected.facts`: strings or numbers the gathered context must contain (evidence recall);
- `expected.root_cause`: regular expressions the analysis's `root_cause` must (and must not) match.

Times inside the alert are written as placeholders relative to the moment the file is loaded, e.g.
`{{now-5m}}`, `{{now-2h|cloudwatch}}`, `{{today}}`, so the alert and the seeded metrics always line up.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.local_runner.seed import AccountSeed
from functions.shared.models import Route

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
DEFAULT_SCENARIO = "lambda-invocation-storm"
_SUFFIXES = (".yaml", ".yml", ".json")


class RootCauseExpectation(BaseModel):
    """How to judge a root-cause sentence: every `patterns` regex found in it, no `forbidden` regex found."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)

    @field_validator("patterns", "forbidden")
    @classmethod
    def _compiles(cls, values: list[str]) -> list[str]:
        for value in values:
            re.compile(value)
        return values

    def matches(self, root_cause: str | None) -> bool:
        text = root_cause or ""
        return all(re.search(p, text, re.IGNORECASE) for p in self.patterns) and not any(
            re.search(p, text, re.IGNORECASE) for p in self.forbidden
        )


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strings match case-insensitively anywhere in the context's JSON; numbers match any number in it within
    # `number_tolerance` (relative), so 300 matches "+300%" and 1250 matches "$1,250.00".
    facts: list[str | int | float] = Field(default_factory=list)
    number_tolerance: float = 0.01
    root_cause: RootCauseExpectation = Field(default_factory=RootCauseExpectation)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    # The alert as it arrives at ingest: a dict (SNS Lambda event, EventBridge event, ...) or raw text.
    alert: Any
    route: Route | None = None
    account: AccountSeed = Field(default_factory=AccountSeed)
    expected: Expected = Field(default_factory=Expected)
    source_path: str | None = None


# --- Time placeholders -----------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<base>now|today|month_start)\s*(?:(?P<sign>[+-])\s*(?P<amount>\d+)\s*(?P<unit>[smhd]))?"
    r"\s*(?:\|\s*(?P<format>\w+))?\s*\}\}"
)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_FORMATS = {
    "iso": lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "iso_ms": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
    "cloudwatch": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000",
    "date": lambda t: t.strftime("%Y-%m-%d"),
    "long_date": lambda t: f"{t:%B} {t.day}, {t.year}",
    "http": lambda t: t.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    "epoch": lambda t: str(int(t.timestamp())),
    "epoch_ms": lambda t: str(int(t.timestamp() * 1000)),
}


def render_time(match: re.Match[str], now: datetime) -> str:
    base = match["base"]
    moment = now
    if base == "today":
        moment = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elif base == "month_start":
        moment = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if match["amount"]:
        delta = timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})
        moment = moment + delta if match["sign"] == "+" else moment - delta
    fmt = match["format"] or ("date" if base in ("today", "month_start") else "iso")
    if fmt not in _FORMATS:
        raise ValueError(f"unknown time format {fmt!r} in {match[0]!r}; use one of {', '.join(_FORMATS)}")
    return _FORMATS[fmt](moment)


def render_times(value: Any, now: datetime) -> Any:
    """Replace every `{{now…}}` / `{{today…}}` / `{{month_start…}}` placeholder in strings, recursively."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: render_time(m, now), value)
    if isinstance(value, list):
        return [render_times(v, now) for v in value]
    if isinstance(value, dict):
        return {k: render_times(v, now) for k, v in value.items()}
    return value


# --- Loading ---------------------------------------------------------------------------------------------------


def parse_scenario(data: dict[str, Any], *, now: datetime | None = None, source: str | None = None) -> Scenario:
    """Validate a scenario document and render the time placeholders of its alert.

    Raises:
        pydantic.ValidationError: the document does not fit the scenario format.
        ValueError: a time placeholder has an unknown format.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    document = dict(data)
    document["alert"] = render_times(document.get("alert"), moment)
    if source is not None:
        document.setdefault("source_path", source)
    return Scenario.model_validate(document)


def read_scenario_file(path: Path, *, now: datetime | None = None) -> Scenario:
    """Load one YAML or JSON scenario file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a YAML/JSON mapping, or does not fit the scenario format.
    """
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scenario file holds one mapping (name, alert, account, expected)")
    data.setdefault("name", path.stem)
    return parse_scenario(data, now=now, source=str(path))


def load_scenarios(directory: Path, *, now: datetime | None = None) -> list[Scenario]:
    """Every scenario file in `directory` (not recursive), sorted by file name.

    Raises:
        FileNotFoundError: the directory does not exist.
        ValueError: a file in it is not a valid scenario (the message names the file).
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"no such scenario folder: {directory}")
    scenarios = []
    for path in sorted(directory.iterdir()):
        if path.suffix in _SUFFIXES and path.is_file():
            try:
                scenarios.append(read_scenario_file(path, now=now))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                raise ValueError(f"{path.name}: {exc}") from exc
    return scenarios


def builtin_scenarios(*, now: datetime | None = None) -> list[Scenario]:
    return load_scenarios(SCENARIOS_DIR, now=now)


def builtin_scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.iterdir() if p.suffix in _SUFFIXES)


def load_scenario(name_or_path: str, *, now: datetime | None = None) -> Scenario:
    """A built-in scenario by name (e.g. "lambda-invocation-storm") or a scenario file by path.

    Raises:
        FileNotFoundError: neither a built-in name nor an existing file; the message lists the built-in names.
        ValueError: the file is not a valid scenario.
    """
    for suffix in _SUFFIXES:
        candidate = SCENARIOS_DIR / f"{name_or_path}{suffix}"
        if candidate.is_file():
            return read_scenario_file(candidate, now=now)
    path = Path(name_or_path)
    if path.is_file():
        return read_scenario_file(path, now=now)
    raise FileNotFoundError(
        f"{name_or_path!r} is neither a built-in scenario ({', '.join(builtin_scenario_names())}) nor a file"
    )
