"""The Analyze stage: Claude when a model is configured, the rules otherwise, and always an analysis.

Throttling is the one failure this stage does not absorb: it raises `BedrockThrottledError` so the state machine
retries with backoff and then runs this stage again in "rules" mode with `ai_failure` set. Every other failure of
the AI path (timeout, 5xx, an unusable answer) becomes the rule-based analysis here, with `fallback_reason` saying
why, so the alert is always posted.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.analyze.claude import ClaudeUnavailableError, MessagesModel, analyze_with_claude
from functions.analyze.commands import CommandFilter
from functions.analyze.prompt import RenderedPrompt, render_prompt
from functions.analyze.rules import analyze_with_rules
from functions.shared.adapters.bedrock import estimate_cost_usd, model_for_environment
from functions.shared.aws_commands import UNSAFE_MARKER
from functions.shared.errors import BedrockThrottledError
from functions.shared.models import Analysis, AnalysisBody, AnalysisMethod, AnalyzeInput, TokenUsage
from functions.shared.observability import logger, metrics

__all__ = [
    "analyze_alert",
    "describe_ai_failure",
    "estimate_cost_usd",
    "estimate_input_tokens",
    "model_for_environment",
    "rule_based_analysis",
]


def analyze_alert(analyze_input: AnalyzeInput, model: MessagesModel | None) -> Analysis:
    """Analyse one alert. `model` is None when no model is configured.

    Raises:
        BedrockThrottledError: Bedrock throttled the call (only in "auto" mode with a model).
    """
    started = time.perf_counter()
    # With metrics disabled (local runs) nothing is flushed between invocations: replace the last alert's type.
    metrics.dimension_set.pop("AlertType", None)
    metrics.add_dimension(name="AlertType", value=analyze_input.alert.alert_type[:250] or "unknown")
    try:
        analysis = _analyze(analyze_input, model)
    except BedrockThrottledError:
        metrics.add_metric(name="BedrockThrottled", unit=MetricUnit.Count, value=1)
        raise
    analysis.latency_ms = int((time.perf_counter() - started) * 1000)
    _record_metrics(analysis)
    return analysis


def _analyze(analyze_input: AnalyzeInput, model: MessagesModel | None) -> Analysis:
    if analyze_input.route == "heartbeat":
        return rule_based_analysis(analyze_input, method="passthrough")
    if analyze_input.mode == "rules":
        return rule_based_analysis(analyze_input, fallback_reason=describe_ai_failure(analyze_input.ai_failure))
    if model is None:
        return rule_based_analysis(analyze_input)
    prompt = render_prompt(analyze_input)
    try:
        result = analyze_with_claude(prompt, model)
    except ClaudeUnavailableError as exc:
        logger.warning("AI analysis unavailable; using the rules", extra={"reason": exc.reason})
        analysis = rule_based_analysis(analyze_input, fallback_reason=exc.reason)
        if exc.usage and (exc.usage.input_tokens or exc.usage.output_tokens):
            analysis.usage = exc.usage
            analysis.model_id = model.model_id
        return analysis
    if result.repaired:
        metrics.add_metric(name="AIAnalysisRepaired", unit=MetricUnit.Count, value=1)
    body = result.body.model_copy(
        update={"evidence": [e.model_copy(update={"link": prompt.links.resolve(e.link)}) for e in result.body.evidence]}
    )
    return _finish(
        body,
        method="claude",
        model_id=model.model_id,
        usage=result.usage,
        prompt=prompt,
        known_links=_context_links(analyze_input),
    )


def rule_based_analysis(
    analyze_input: AnalyzeInput,
    *,
    method: AnalysisMethod = "rule_based",
    fallback_reason: str | None = None,
) -> Analysis:
    """The rules' analysis, with its suggested commands held to the same read-only allowlist as Claude's."""
    body = analyze_with_rules(analyze_input.alert, analyze_input.context)
    return _finish(body, method=method, fallback_reason=fallback_reason, known_links=_context_links(analyze_input))


def _finish(
    body: AnalysisBody,
    *,
    method: AnalysisMethod,
    model_id: str | None = None,
    usage: TokenUsage | None = None,
    fallback_reason: str | None = None,
    prompt: RenderedPrompt | None = None,
    known_links: set[str] | None = None,
) -> Analysis:
    commands = CommandFilter()
    links = known_links or set()
    safe = AnalysisBody(
        root_cause=commands.redact_text(body.root_cause),
        confidence=body.confidence,
        verdict=body.verdict,
        # A link is kept only if the gathered context holds it: a model can invent URLs, and a log line can carry
        # a phishing link that a model might cite.
        evidence=[
            e.model_copy(update={"claim": commands.redact_text(e.claim), "link": e.link if e.link in links else None})
            for e in body.evidence
        ],
        diagnostics=commands.keep_commands(body.diagnostics),
        recommendations=_safe_lines(body.recommendations, commands),
        unknowns=[u for u in body.unknowns if commands.clean_text(u) is not None],
    )
    if commands.dropped:
        logger.warning("Dropped unsafe suggested commands", extra={"dropped": commands.dropped, "method": method})
    if prompt is not None and prompt.trimmed_lines:
        safe.unknowns.append(f"{prompt.trimmed_lines} context lines were trimmed to fit the prompt budget.")
    return Analysis(
        **safe.model_dump(),
        method=method,
        model_id=model_id,
        usage=usage,
        fallback_reason=fallback_reason,
        dropped_commands=commands.dropped,
    )


def _safe_lines(lines: list[str], commands: CommandFilter) -> list[str]:
    """Lines whose `aws` commands are safe as written; a line whose only unsafe command has a safe form (e.g. a
    secret-printing read rewritten with a --query) keeps that form; any other line with an unsafe command goes."""
    kept = []
    for line in lines:
        if commands.clean_text(line) is not None:
            kept.append(line)
            continue
        rewritten = commands.redact_text(line)
        if UNSAFE_MARKER not in rewritten:
            kept.append(rewritten)
    return kept


def _context_links(analyze_input: AnalyzeInput) -> set[str]:
    return {f.link for section in analyze_input.context.sections() for f in section.facts if f.link}


def describe_ai_failure(ai_failure: dict[str, Any] | None) -> str | None:
    """Why the AI analysis is unavailable, from what the state machine's Catch recorded (None: nothing failed).

    The Format stage shows it as "AI analysis unavailable: <reason>", so the reason carries no prefix.
    """
    if not ai_failure:
        return None
    error = str(ai_failure.get("Error") or ai_failure.get("errorType") or "unknown error")
    message = _cause_message(ai_failure.get("Cause") or ai_failure.get("errorMessage"))
    if error == "BedrockThrottledError":
        return f"Bedrock throttled the request and the state machine's retries ran out ({error})"
    if error == "States.Timeout":
        return f"the AI analysis timed out ({error})"
    return f"{message or 'the AI analysis failed'} ({error})"[:400]


def _cause_message(cause: Any) -> str:
    if not cause:
        return ""
    if isinstance(cause, str):
        try:
            cause = json.loads(cause)
        except ValueError:
            return cause[:300]
    if isinstance(cause, dict):
        return str(cause.get("errorMessage") or cause.get("message") or "")[:300]
    return str(cause)[:300]


def _record_metrics(analysis: Analysis) -> None:
    metrics.add_metric(name="AlertsAnalyzed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="AnalysisLatency", unit=MetricUnit.Milliseconds, value=analysis.latency_ms or 0)
    if analysis.fallback_reason:
        metrics.add_metric(name="AIAnalysisFallbacks", unit=MetricUnit.Count, value=1)
    if analysis.dropped_commands:
        metrics.add_metric(name="UnsafeCommandsDropped", unit=MetricUnit.Count, value=len(analysis.dropped_commands))
    if analysis.usage:
        tokens = analysis.usage.input_tokens + analysis.usage.output_tokens
        metrics.add_metric(name="LLMTokensUsed", unit=MetricUnit.Count, value=tokens)
        metrics.add_metric(name="LLMCostUSD", unit=MetricUnit.NoUnit, value=analysis.usage.estimated_cost_usd)
    metrics.add_metadata(key="analysis_method", value=analysis.method)


def estimate_input_tokens(analyze_input: AnalyzeInput | dict[str, Any]) -> int:
    """Input tokens the Claude call for this alert would send, estimated from the rendered prompt (for the bench)."""
    parsed = analyze_input if isinstance(analyze_input, AnalyzeInput) else AnalyzeInput.model_validate(analyze_input)
    return render_prompt(parsed).estimated_input_tokens
