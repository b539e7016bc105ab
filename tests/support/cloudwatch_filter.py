"""A CloudWatch Logs JSON filter-pattern evaluator, enough for the metric filters the stacks define.

Supported, as CloudWatch Logs documents them: `{ SELECTOR OP VALUE }` with `&&`, `||` and parentheses;
selectors `$.a.b`, `$.a[0]`, `$.a[0].b`; operators `=`, `!=` (strings, `*` wildcards; numbers) and `<`, `<=`, `>`,
`>=` (numbers only); `IS NULL`, `NOT EXISTS`, `IS TRUE`, `IS FALSE`. A numeric comparison matches only a JSON
number: a selector that lands on an array (`$.LLMCostUSD` when Powertools wrote `[0.0123]`) matches nothing,
exactly the difference between a filter that fires and one that never does. `metric_value` reads a metric
filter's `metricValue` selector the same way.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

_TOKEN = re.compile(
    r"\s*(\{|\}|\(|\)|&&|\|\||>=|<=|!=|=|>|<|IS\s+NULL|NOT\s+EXISTS|IS\s+TRUE|IS\s+FALSE|\$[A-Za-z0-9_.\[\]]*|"
    r'"(?:[^"\\]|\\.)*"|[^\s(){}&|=<>!]+)'
)
_MISSING = object()


class FilterPatternError(ValueError):
    """The pattern is not one this evaluator understands."""


def _tokens(pattern: str) -> list[str]:
    tokens, position = [], 0
    while position < len(pattern):
        if pattern[position:].strip() == "":
            break
        match = _TOKEN.match(pattern, position)
        if match is None:
            raise FilterPatternError(f"cannot read {pattern[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def select(document: Any, selector: str) -> Any:
    """The value `selector` ($.a.b[0]) picks from `document`, or _MISSING."""
    if not selector.startswith("$"):
        raise FilterPatternError(f"not a selector: {selector}")
    value = document
    for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", selector[1:]):
        if name:
            if not isinstance(value, dict) or name not in value:
                return _MISSING
            value = value[name]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _compare(actual: Any, operator: str, literal: str) -> bool:
    if literal.startswith('"'):
        text = json.loads(literal)
        if operator not in ("=", "!=") or not isinstance(actual, str):
            return False
        equal = fnmatch.fnmatchcase(actual, text)
        return equal if operator == "=" else not equal
    try:
        expected = float(literal)
    except ValueError:  # a bare string
        if operator not in ("=", "!=") or not isinstance(actual, str):
            return False
        return fnmatch.fnmatchcase(actual, literal) == (operator == "=")
    number = _number(actual)
    if number is None:
        return False
    return {
        "=": number == expected,
        "!=": number != expected,
        ">": number > expected,
        "<": number < expected,
        ">=": number >= expected,
        "<=": number <= expected,
    }[operator]


class _Parser:
    def __init__(self, tokens: list[str], document: Any) -> None:
        self.tokens, self.position, self.document = tokens, 0, document

    def next(self) -> str:
        if self.position >= len(self.tokens):
            raise FilterPatternError("unexpected end of pattern")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def disjunction(self) -> bool:
        result = self.conjunction()
        while self.peek() == "||":
            self.next()
            right = self.conjunction()
            result = result or right
        return result

    def conjunction(self) -> bool:
        result = self.term()
        while self.peek() == "&&":
            self.next()
            right = self.term()
            result = result and right
        return result

    def term(self) -> bool:
        token = self.next()
        if token == "(":
            result = self.disjunction()
            if self.next() != ")":
                raise FilterPatternError("unbalanced parentheses")
            return result
        actual = select(self.document, token)
        operator = re.sub(r"\s+", " ", self.next())
        if operator == "IS NULL":
            return actual is None
        if operator == "NOT EXISTS":
            return actual is _MISSING
        if operator in ("IS TRUE", "IS FALSE"):
            return actual is (operator == "IS TRUE")
        if operator not in ("=", "!=", ">", "<", ">=", "<="):
            raise FilterPatternError(f"unknown operator {operator}")
        literal = self.next()
        return actual is not _MISSING and _compare(actual, operator, literal)


def matches(pattern: str, log_line: str) -> bool:
    """Whether a JSON filter pattern matches one log event (a non-JSON line matches no JSON pattern)."""
    tokens = _tokens(pattern)
    if not tokens or tokens[0] != "{" or tokens[-1] != "}":
        raise FilterPatternError(f"not a JSON filter pattern: {pattern}")
    try:
        document = json.loads(log_line)
    except ValueError:
        return False
    parser = _Parser(tokens[1:-1], document)
    result = parser.disjunction()
    if parser.peek() is not None:
        raise FilterPatternError(f"trailing tokens in {pattern}")
    return result


def metric_value(selector: str, log_line: str) -> float | None:
    """What a metric filter with `metricValue` = `selector` publishes for this event (None: nothing)."""
    if not selector.startswith("$"):
        return float(selector)
    return _number(select(json.loads(log_line), selector))
