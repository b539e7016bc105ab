"""Small, total helpers shared by the source parsers: none of them raises on odd input."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from functions.shared.models import MAX_RAW_EXCERPT_CHARS

MAX_TITLE_CHARS = 150
MAX_DEDUP_KEY_CHARS = 64
_HASH_CHARS = 20
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
# Thousands separators, currency signs and codes, percent signs: "$1,234.56", "1.234,00 EUR" is not supported.
_NUMBER_NOISE = re.compile(r"[\s,$€£¥%]|\b(?:USD|EUR|GBP|JPY|CNY|INR)\b")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A stripped string for scalars, None for missing, empty or structured values."""
    if value is None or isinstance(value, dict | list):
        return None
    result = str(value).strip()
    return result or None


def number(value: Any) -> float | None:
    """A float from a number or a numeric string such as "$1,234.56", "300%" or "1,000.00 USD"; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        cleaned = _NUMBER_NOISE.sub("", value)
        try:
            parsed = float(cleaned)
        except ValueError:
            return None
        return parsed if parsed == parsed and abs(parsed) != float("inf") else None
    return None


def timestamp(value: Any) -> datetime | None:
    """An aware datetime from ISO-8601 (Z, +0000 or no offset), RFC 1123 text, or epoch seconds/millis; else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    raw = text(value)
    if raw is None:
        return None
    candidate = raw.replace("Z", "+00:00")
    # CloudWatch writes offsets without a colon ("+0000"), which older fromisoformat rejects.
    candidate = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", candidate)
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        parsed = _rfc_1123(raw)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rfc_1123(raw: str) -> datetime | None:
    """AWS Health writes times like "Wed, 25 Nov 2026 18:20:00 GMT"."""
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def title(value: str) -> str:
    return shorten(value, MAX_TITLE_CHARS) or "Alert"


def excerpt(raw: str) -> str:
    """The raw text bounded by MAX_RAW_EXCERPT_CHARS, saying so when it was cut."""
    if len(raw) <= MAX_RAW_EXCERPT_CHARS:
        return raw
    note = f"\n…[truncated: {len(raw)} chars, first {MAX_RAW_EXCERPT_CHARS} kept]"
    return raw[: MAX_RAW_EXCERPT_CHARS - len(note)] + note


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def dedup_key(prefix: str, *identity: Any) -> str:
    """A stable key `<prefix>-<readable hint>-<hash>` from the parts that identify one alert occurrence.

    Only [A-Za-z0-9_-], at most MAX_DEDUP_KEY_CHARS: it becomes part of a Step Functions execution name.
    The first identity part, made safe, is the readable hint.
    """
    digest = hashlib.sha256(canonical_json([str(p) if p is not None else None for p in identity]).encode())
    hashed = digest.hexdigest()[:_HASH_CHARS]
    safe_prefix = _UNSAFE_KEY_CHARS.sub("-", prefix).strip("-")[:12] or "alert"
    hint = _UNSAFE_KEY_CHARS.sub("-", str(identity[0]) if identity and identity[0] is not None else "")
    hint = hint.strip("-_")
    room = MAX_DEDUP_KEY_CHARS - len(safe_prefix) - len(hashed) - 2
    hint = hint[:room].strip("-_") if len(hint) > room else hint
    return "-".join(part for part in (safe_prefix, hint, hashed) if part)


def arn_parts(arn: Any) -> dict[str, str]:
    """partition/service/region/account/resource of an ARN; empty dict when it is not one."""
    raw = text(arn)
    if not raw or not raw.startswith("arn:"):
        return {}
    parts = raw.split(":", 5)
    if len(parts) < 6:
        return {}
    return {"partition": parts[1], "service": parts[2], "region": parts[3], "account": parts[4], "resource": parts[5]}


_CAMEL_TOKENS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def words(value: Any) -> set[str]:
    """Lower-case words of a name, splitting camelCase and separators: "ImageProcessor-WarnErrors" -> {image, ...}."""
    raw = text(value) or ""
    return {token.lower() for token in _CAMEL_TOKENS.findall(raw)}


# Namespaces AWS itself publishes to: AWS/<service>, and the CloudWatch agent's and Container Insights' own. Only in
# these does a dimension such as ServiceName or ClusterName name an AWS resource; in an application's own
# namespace it is whatever the application means by it.
_AWS_PUBLISHED_NAMESPACES = re.compile(r"^(AWS/|ECS/ContainerInsights$|ContainerInsights$|CWAgent$)")


def aws_published_namespace(namespace: str) -> bool:
    return bool(_AWS_PUBLISHED_NAMESPACES.match(namespace))
