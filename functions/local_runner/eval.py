"""`alert-intel eval`: run every scenario through the real state machine and score the context and the analysis.

Per scenario:
- evidence recall: the share of `expected.facts` found in the context handed to the analysis (the JSON of its
  cost / compute / logs sections; the alert itself does not count — the gather stages must find the evidence);
- root cause: whether the rule-based analysis of that same input matches `expected.root_cause` (and, when the run
  used Claude because ALERT_INTEL_MODEL_ID is set, whether Claude's does);
- prompt size: estimated input tokens of the Claude prompt for that input (after the analysis stage's own
  trimming), and how many context lines had to be trimmed to fit;
- the largest state output of the run and its wall-clock time.

Targets (the exit code is 1 when one is missed or a run fails): evidence recall 100 %, rule-based root cause right
on at least 80 % of scenarios, every prompt within 4,000 estimated input tokens.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from functions.local_runner.scenario import Expected, Scenario, builtin_scenarios, load_scenarios

TARGET_RECALL = 1.0
TARGET_ROOT_CAUSE = 0.8
TARGET_MAX_INPUT_TOKENS = 4_000
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


class ScenarioScore(BaseModel):
    name: str
    status: str
    evidence_recall: float
    facts_found: int
    facts_expected: int
    missing_facts: list[str] = Field(default_factory=list)
    # Keys of gathered facts that carry no console deep link (every fact should link to its evidence).
    facts_without_link: list[str] = Field(default_factory=list)
    root_cause_correct: bool
    root_cause: str | None = None
    analysis_method: str | None = None
    # Why the run's analysis was not Claude's although a model is configured (from the analysis stage).
    fallback_reason: str | None = None
    claude_root_cause_correct: bool | None = None
    input_tokens: int
    untrimmed_input_tokens: int
    trimmed_prompt_lines: int = 0
    max_state_output_bytes: int
    seconds: float
    error: str | None = None


class EvalTotals(BaseModel):
    scenarios: int
    succeeded: int
    evidence_recall: float  # mean over scenarios
    full_recall_scenarios: int
    root_cause_correct: int
    root_cause_accuracy: float
    claude_scored: int = 0
    claude_root_cause_correct: int = 0
    max_input_tokens: int
    max_state_output_bytes: int
    seconds: float
    targets: dict[str, bool]
    passed: bool


class EvalReport(BaseModel):
    scenarios: list[ScenarioScore]
    totals: EvalTotals


# --- Scoring ---------------------------------------------------------------------------------------------------


def _numbers(text: str) -> list[float]:
    found = []
    for match in _NUMBER.findall(text):
        try:
            found.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return found


def fact_present(fact: str | int | float, haystack: str, numbers: list[float], tolerance: float) -> bool:
    """A string is found case-insensitively; a number matches any number in the text within `tolerance`."""
    if isinstance(fact, str):
        return fact.lower() in haystack.lower()
    target = float(fact)
    if target == 0:
        return any(n == 0 for n in numbers)
    return any(math.isclose(n, target, rel_tol=tolerance) or abs(n) == abs(target) for n in numbers)


def evidence_recall(expected: Expected, context: dict[str, Any] | None) -> tuple[float, list[str]]:
    """Share of expected facts present in the context sections (1.0 when nothing is expected), and the misses."""
    if not expected.facts:
        return 1.0, []
    haystack = json.dumps(context or {}, ensure_ascii=False)
    numbers = _numbers(haystack)
    missing = [str(f) for f in expected.facts if not fact_present(f, haystack, numbers, expected.number_tolerance)]
    return (len(expected.facts) - len(missing)) / len(expected.facts), missing


def rule_based_root_cause(analyze_input: dict[str, Any] | None) -> str | None:
    """The rule-based analysis of the exact input the pipeline handed to the analysis stage."""
    if not analyze_input or not analyze_input.get("alert"):
        return None
    from functions.analyze.rules import analyze_with_rules
    from functions.shared.models import Alert, GatheredContext

    alert = Alert.model_validate(analyze_input["alert"])
    context = GatheredContext.model_validate(analyze_input.get("context") or {})
    return analyze_with_rules(alert, context).root_cause


def prompt_tokens(analyze_input: dict[str, Any] | None) -> tuple[int, int, int]:
    """(input tokens of the prompt as sent, tokens before trimming, context lines trimmed) — estimated.

    Uses the analysis stage's own prompt renderer; falls back to len(json)/4 when it is unavailable.
    """
    if not analyze_input:
        return 0, 0, 0
    try:
        from functions.analyze.prompt import render_prompt
        from functions.shared.models import AnalyzeInput

        parsed = AnalyzeInput.model_validate(analyze_input)
        sent = render_prompt(parsed)
        untrimmed = render_prompt(parsed, max_input_tokens=10**9)
        return sent.estimated_input_tokens, untrimmed.estimated_input_tokens, sent.trimmed_lines
    except ImportError:
        estimate = math.ceil(len(json.dumps(analyze_input)) / 4)
        return estimate, estimate, 0


def unlinked_facts(context: dict[str, Any] | None) -> list[str]:
    return [
        str(fact.get("key"))
        for section in (context or {}).values()
        if isinstance(section, dict)
        for fact in section.get("facts") or []
        if not fact.get("link")
    ]


def score(scenario: Scenario, result: Any) -> ScenarioScore:
    """Score one run (a `RunResult` of the local runner) against its scenario."""
    analyze_input = result.analyze_input
    recall, missing = evidence_recall(scenario.expected, (analyze_input or {}).get("context"))
    error = None
    try:
        rules_root_cause = rule_based_root_cause(analyze_input)
    except Exception as exc:  # a crash in the rules is a wrong answer, reported, not an eval crash
        rules_root_cause, error = None, f"rule-based analysis raised {type(exc).__name__}: {exc}"
    analysis = result.analysis or {}
    method = analysis.get("method")
    claude_correct = scenario.expected.root_cause.matches(analysis.get("root_cause")) if method == "claude" else None
    sent, untrimmed, trimmed = prompt_tokens(analyze_input)
    if result.status != "SUCCEEDED":
        error = f"execution {result.status}: {result.error or ''} {result.cause or ''}".strip()[:300]
    return ScenarioScore(
        name=scenario.name,
        status=result.status,
        evidence_recall=round(recall, 4),
        facts_found=len(scenario.expected.facts) - len(missing),
        facts_expected=len(scenario.expected.facts),
        missing_facts=missing,
        facts_without_link=unlinked_facts((analyze_input or {}).get("context")),
        root_cause_correct=rules_root_cause is not None and scenario.expected.root_cause.matches(rules_root_cause),
        root_cause=rules_root_cause,
        analysis_method=method,
        fallback_reason=analysis.get("fallback_reason"),
        claude_root_cause_correct=claude_correct,
        input_tokens=sent,
        untrimmed_input_tokens=untrimmed,
        trimmed_prompt_lines=trimmed,
        max_state_output_bytes=result.max_state_output_bytes,
        seconds=round(result.seconds, 3),
        error=error,
    )


def totals(scores: list[ScenarioScore]) -> EvalTotals:
    count = len(scores)
    correct = sum(s.root_cause_correct for s in scores)
    claude = [s for s in scores if s.claude_root_cause_correct is not None]
    recall = sum(s.evidence_recall for s in scores) / count if count else 0.0
    accuracy = correct / count if count else 0.0
    max_tokens = max((s.input_tokens for s in scores), default=0)
    targets = {
        "all_runs_succeeded": all(s.status == "SUCCEEDED" for s in scores),
        "evidence_recall_100": count > 0 and all(s.evidence_recall >= TARGET_RECALL for s in scores),
        "root_cause_at_least_80": accuracy >= TARGET_ROOT_CAUSE,
        "prompts_within_4000_tokens": max_tokens <= TARGET_MAX_INPUT_TOKENS,
    }
    return EvalTotals(
        scenarios=count,
        succeeded=sum(s.status == "SUCCEEDED" for s in scores),
        evidence_recall=round(recall, 4),
        full_recall_scenarios=sum(s.evidence_recall >= 1.0 for s in scores),
        root_cause_correct=correct,
        root_cause_accuracy=round(accuracy, 4),
        claude_scored=len(claude),
        claude_root_cause_correct=sum(bool(s.claude_root_cause_correct) for s in claude),
        max_input_tokens=max_tokens,
        max_state_output_bytes=max((s.max_state_output_bytes for s in scores), default=0),
        seconds=round(sum(s.seconds for s in scores), 3),
        targets=targets,
        passed=all(targets.values()),
    )


def evaluate(
    scenarios: list[Scenario],
    *,
    run: Callable[[Scenario], Any] | None = None,
    progress: Callable[[ScenarioScore], None] | None = None,
) -> EvalReport:
    """Run and score each scenario; `run` defaults to the local runner on the real state machine."""
    if run is None:
        from functions.local_runner.runner import run_scenario

        def run(scenario: Scenario) -> Any:
            return run_scenario(scenario, quick_retries=True)

    scores = []
    for scenario in scenarios:
        result = run(scenario)
        scored = score(scenario, result)
        scores.append(scored)
        if progress is not None:
            progress(scored)
    return EvalReport(scenarios=scores, totals=totals(scores))


# --- Output ----------------------------------------------------------------------------------------------------


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def render_table(report: EvalReport) -> str:
    claude = any(s.claude_root_cause_correct is not None for s in report.scenarios)
    width = max([len(s.name) for s in report.scenarios] + [8])
    header = f"{'scenario':<{width}}  {'status':<9}  {'recall':>6}  {'rules':>5}"
    if claude:
        header += f"  {'claude':>6}"
    header += f"  {'tokens':>6}  {'trimmed':>7}  {'max state out':>13}  {'seconds':>7}"
    lines = [header, "-" * len(header)]
    for s in report.scenarios:
        line = f"{s.name:<{width}}  {s.status[:9]:<9}  {s.evidence_recall:>6.0%}  {_yes(s.root_cause_correct):>5}"
        if claude:
            line += f"  {_yes(s.claude_root_cause_correct):>6}"
        line += (
            f"  {s.input_tokens:>6,}  {s.trimmed_prompt_lines:>7}  {s.max_state_output_bytes:>11,} B  {s.seconds:>7.2f}"
        )
        lines.append(line)
    t = report.totals
    lines.append("-" * len(header))
    mark = {True: "met", False: "MISSED"}
    lines.append(
        f"{t.scenarios} scenarios, {t.succeeded} succeeded in {t.seconds:.1f} s. "
        f"Evidence recall {t.evidence_recall:.0%} ({t.full_recall_scenarios}/{t.scenarios} complete; target 100%: "
        f"{mark[t.targets['evidence_recall_100']]}). Rule-based root cause {t.root_cause_correct}/{t.scenarios} "
        f"({t.root_cause_accuracy:.0%}; target 80%: {mark[t.targets['root_cause_at_least_80']]}). "
        f"Largest prompt {t.max_input_tokens:,} tokens (target 4,000: "
        f"{mark[t.targets['prompts_within_4000_tokens']]}). Largest state output {t.max_state_output_bytes:,} B."
    )
    if t.claude_scored:
        lines.append(f"Claude's root cause right on {t.claude_root_cause_correct}/{t.claude_scored}.")
    fallbacks = sorted({s.fallback_reason for s in report.scenarios if s.fallback_reason})
    if fallbacks:
        lines.append("Claude was not used for some runs: " + "; ".join(fallbacks)[:300])
    for s in report.scenarios:
        problems = []
        if s.missing_facts:
            problems.append("missing facts: " + ", ".join(s.missing_facts))
        if not s.root_cause_correct:
            problems.append(f"rule-based root cause: {s.root_cause!r}")
        if s.error:
            problems.append(s.error)
        if problems:
            lines.append(f"  {s.name}: " + "; ".join(problems))
    return "\n".join(lines)


def _quiet() -> None:
    warnings.filterwarnings("ignore", module="aws_lambda_powertools")
    logging.getLogger("alert-intel").setLevel(logging.WARNING)
    logging.getLogger("moto").setLevel(logging.CRITICAL)


def run_eval(scenarios_dir: Path | None, *, as_json: bool) -> int:
    """The `alert-intel eval [--scenarios DIR] [--json]` verb: 0 when every target is met, 1 when one is missed or
    a run fails, 2 when a scenario file is invalid (the message on stderr names the file).

    Raises:
        FileNotFoundError: `scenarios_dir` does not exist.
    """
    _quiet()
    try:
        scenarios = load_scenarios(scenarios_dir) if scenarios_dir is not None else builtin_scenarios()
    except ValueError as exc:
        print(f"Invalid scenario: {exc}", file=sys.stderr)
        return 2
    if not scenarios:
        print(f"No scenario files (.yaml, .yml, .json) in {scenarios_dir}.", file=sys.stderr)
        return 1

    def progress(scored: ScenarioScore) -> None:
        if not as_json:
            print(f"  ran {scored.name} ({scored.seconds:.1f} s)", file=sys.stderr)

    report = evaluate(scenarios, progress=progress)
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        print(render_table(report))
    return 0 if report.totals.passed else 1
