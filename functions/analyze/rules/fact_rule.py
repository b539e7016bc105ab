"""`FactRule`: the table form of the commonest detector shape, a cause that one gathered fact names.

Such a detector finds a fact by key, checks that it explains this alert (its value, its numbers, the alert's
type), opens the root cause with it, adds what some related facts say when they were gathered (and the logs' top
pattern), and answers with the mechanism's next steps and read-only commands. A `FactRule` holds those parts as
data; it is called like any other detector (`Detector`), so it takes its place in `RULES` the same way. A
detector that weighs several facts against each other stays a plain function: readability first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from functions.analyze.rules.facts import Facts, Finding, log_summary, with_facts
from functions.shared.aws_commands import BuiltCommand
from functions.shared.models import Alert, Confidence, Fact

FactCheck = Callable[[Alert, Fact], bool]
FactSentence = Callable[[Alert, Fact], str]
FactAdvice = Callable[[Alert, Fact], list[str]]
FactCommands = Callable[[Alert, Fact], list[BuiltCommand]]


def _always(alert: Alert, fact: Fact) -> bool:
    return True


def _no_commands(alert: Alert, fact: Fact) -> list[BuiltCommand]:
    return []


@dataclass(frozen=True)
class FactRule:
    """A detector whose cause one fact names; the fields are the parts every such detector has."""

    key: str  # the fact that names the cause
    cause: FactSentence  # the root cause's opening clause, from the alert and that fact
    next_steps: tuple[str, ...] | FactAdvice  # the recommendations, fixed or built from the alert and the fact
    evidence_keys: tuple[str, ...]
    confidence: Confidence = "high"
    applies: FactCheck = _always  # whether the fact explains this alert (its value, numbers, the alert's type)
    context_keys: tuple[str, ...] = ()  # related facts whose text follows the cause, when they were gathered
    with_logs: bool = False  # end with the logs' most frequent pattern, when the logs stage found one
    diagnostics: FactCommands = _no_commands

    def __call__(self, alert: Alert, facts: Facts) -> Finding | None:
        fact = facts.get(self.key)
        if fact is None or not self.applies(alert, fact):
            return None
        sentence = with_facts(self.cause(alert, fact), facts, self.context_keys)
        logs = log_summary(facts) if self.with_logs else None
        if logs:
            sentence += f"; {logs}"
        next_steps = list(self.next_steps) if isinstance(self.next_steps, tuple) else self.next_steps(alert, fact)
        return Finding(
            root_cause=sentence + ".",
            confidence=self.confidence,
            evidence_keys=list(self.evidence_keys),
            recommendations=next_steps,
            diagnostics=self.diagnostics(alert, fact),
        )
