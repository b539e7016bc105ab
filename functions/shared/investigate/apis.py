"""API Gateway evidence: a REST or HTTP API's integrations (the backend behind each route, its timeout) and its
stage settings (throttling, logging), the backing Lambda function as a neighbour; and, once the graph walk has
read the metrics, where the API's errors and latency come from (`api_findings`):

- backend timeout: IntegrationLatency peaks at the integration's timeout (29 s REST, 30 s HTTP by default), or the
  backing function's Duration peaks at its own timeout: the 5xx are the backend's, the gateway only reports them;
- backend slow: most of the gateway's Latency is IntegrationLatency;
- gateway latency: Latency rises while IntegrationLatency stays a small part of it (authorizer, mapping);
- backend errors: 5xx rise with the backing function's Errors (it fails fast, it does not time out);
- client errors: 4xx rise while 5xx stay flat: callers send bad or unauthorised requests, nothing is down.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from functions.shared import console_links
from functions.shared.adapters.containers import ApiGatewayReader
from functions.shared.investigate.base import Evidence, Neighbour, number
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

# The integration timeouts API Gateway applies when none is set.
REST_DEFAULT_TIMEOUT_MS = 29_000
HTTP_DEFAULT_TIMEOUT_MS = 30_000
# A peak within this share of a timeout is "at the timeout" (requests cut off there).
AT_TIMEOUT = 0.95
MAX_INTEGRATIONS_SHOWN = 3
_FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64})")


def lambda_of_uri(uri: Any) -> str | None:
    match = _FUNCTION_ARN.search(str(uri or ""))
    return match.group("name") if match else None


def _integration_text(route: str, kind: str, uri: Any, timeout_ms: float) -> str:
    function = lambda_of_uri(uri)
    backend = f"Lambda {function}" if function else (str(uri)[:80] if uri else "no backend URI")
    return f"{route} → {kind} {backend} (timeout {number(timeout_ms / 1000)} s)"


def _integrations_fact(api: str, texts: list[str], timeouts: list[float], count: int) -> Fact:
    shown = "; ".join(texts[:MAX_INTEGRATIONS_SHOWN]) + (
        f"; {count - MAX_INTEGRATIONS_SHOWN} more" if count > 3 else ""
    )
    return Fact(
        key="compute.api.integrations",
        text=f"API {api}: {count} integration(s): {shown}",
        value=count,
        subject=api,
        # The number the findings compare IntegrationLatency with: the longest integration timeout, in ms.
        numbers=Measurement(value=max(timeouts), unit="ms") if timeouts else None,
    )


def _lambda_neighbours(api: str, functions: list[tuple[str, str]], region: str | None) -> list[Neighbour]:
    seen: set[str] = set()
    found = []
    for route, function in functions:
        if function in seen:
            continue
        seen.add(function)
        found.append(
            Neighbour(target=Target.of("lambda", function, region), edge=f"Lambda integration of {route} on API {api}")
        )
    return found[:2]


def rest_api_evidence(
    apis: ApiGatewayReader, name: str, stage: str | None, *, now: datetime, region: str | None
) -> Evidence:
    """A REST API (named as CloudWatch names it): its methods' integrations and its stage's settings."""
    evidence = Evidence()
    evidence.looked_at.append(f"API Gateway REST API {name}: integrations and stage {stage or '?'}")
    api_id = evidence.read_resource(
        f"REST API {name}", lambda: apis.rest_api_id(name), missing=f"No REST API named {name}"
    )
    if api_id is None:
        return evidence
    integrations = evidence.read(f"integrations of {name}", lambda: apis.rest_integrations(api_id)) or []
    texts, timeouts, functions = [], [], []
    for integration in integrations:
        route = f"{integration.get('httpMethod')} {integration.get('path')}"
        timeout = float(integration.get("timeoutInMillis") or REST_DEFAULT_TIMEOUT_MS)
        timeouts.append(timeout)
        texts.append(_integration_text(route, str(integration.get("type") or "?"), integration.get("uri"), timeout))
        if (function := lambda_of_uri(integration.get("uri"))) is not None:
            functions.append((route, function))
    if integrations:
        evidence.facts.append(_integrations_fact(name, texts, timeouts, len(integrations)))
    evidence.neighbours.extend(_lambda_neighbours(name, functions, region))
    if stage:
        settings = evidence.read(f"stage {stage} of {name}", lambda: apis.rest_stage(api_id, stage))
        if settings is not None:
            method = (settings.get("methodSettings") or {}).get("*/*") or {}
            evidence.facts.append(
                _stage_fact(
                    name,
                    stage,
                    method.get("throttlingRateLimit"),
                    method.get("throttlingBurstLimit"),
                    method.get("loggingLevel") or "OFF",
                )
            )
    _link(evidence, console_links.api_gateway_url(api_id, region))
    return evidence


def _link(evidence: Evidence, url: str) -> None:
    for fact in evidence.facts:
        fact.link = fact.link or url


def http_api_evidence(
    apis: ApiGatewayReader, api_id: str, stage: str | None, *, now: datetime, region: str | None
) -> Evidence:
    """An HTTP API (by id, as CloudWatch names it): its integrations and its stage's default route settings."""
    evidence = Evidence()
    evidence.looked_at.append(f"API Gateway HTTP API {api_id}: integrations and stage {stage or '$default'}")
    # An HTTP API that does not exist answers with no integrations, as does one without any: both are "missing".
    integrations = evidence.read_resource(
        f"integrations of HTTP API {api_id}",
        lambda: apis.http_integrations(api_id) or None,
        missing=f"No HTTP API {api_id} (or no integrations)",
    )
    if integrations is None:
        return evidence
    texts, timeouts, functions = [], [], []
    for integration in integrations:
        route = f"integration {integration.get('IntegrationId')}"
        timeout = float(integration.get("TimeoutInMillis") or HTTP_DEFAULT_TIMEOUT_MS)
        timeouts.append(timeout)
        uri = integration.get("IntegrationUri")
        texts.append(_integration_text(route, str(integration.get("IntegrationType") or "?"), uri, timeout))
        if (function := lambda_of_uri(uri)) is not None:
            functions.append((route, function))
    evidence.facts.append(_integrations_fact(api_id, texts, timeouts, len(integrations)))
    evidence.neighbours.extend(_lambda_neighbours(api_id, functions, region))
    stage_name = stage or "$default"
    settings = evidence.read(f"stage {stage_name} of {api_id}", lambda: apis.http_stage(api_id, stage_name))
    if settings is not None:
        defaults = settings.get("DefaultRouteSettings") or {}
        logging = "access logs on" if settings.get("AccessLogSettings") else "no access logs"
        evidence.facts.append(
            _stage_fact(
                api_id, stage_name, defaults.get("ThrottlingRateLimit"), defaults.get("ThrottlingBurstLimit"), logging
            )
        )
    _link(evidence, console_links.api_gateway_url(api_id, region, http=True))
    return evidence


def _stage_fact(api: str, stage: str, rate: Any, burst: Any, logging: str) -> Fact:
    throttling = (
        f"throttling {number(float(rate))} req/s, burst {int(burst)}"
        if isinstance(rate, int | float) and isinstance(burst, int | float)
        else "account-level throttling"
    )
    return Fact(
        key="compute.api.stage",
        text=f"API {api} stage {stage}: {throttling}; logging {logging}",
        subject=stage,
        numbers=Measurement(value=float(rate), unit="requests/s") if isinstance(rate, int | float) else None,
    )


# --- Where the errors come from (after the walk read the API's and its backend's metrics) ----------------------


def _peak(facts: dict[str, Fact], key: str) -> float | None:
    fact = facts.get(key)
    return fact.numbers.value if fact is not None and fact.numbers is not None else None


def _rose(facts: dict[str, Fact], key: str) -> bool:
    fact = facts.get(key)
    numbers = fact.numbers if fact is not None else None
    if numbers is None or numbers.value is None:
        return False
    baseline = numbers.baseline or 0
    return numbers.value > max(baseline * 2, baseline + 5)


def api_findings(facts: list[Fact], alarm_metric: str | None) -> list[Fact]:
    """Findings about an API from the facts a walk gathered: the API's integrations and metrics, its backend
    function's configuration and Duration. The alarm's own metric is `compute.alarm_metric`; it stands in for the
    related metric of that name."""
    by_key: dict[str, Fact] = {}
    for fact in facts:
        by_key.setdefault(fact.key, fact)
    integrations = by_key.get("compute.api.integrations")
    if integrations is None:
        return []
    if alarm_metric and "compute.alarm_metric" in by_key:
        by_key.setdefault(f"compute.metric.{alarm_metric}", by_key["compute.alarm_metric"])
    api = integrations.subject or "the API"
    timeout_ms = integrations.numbers.value if integrations.numbers is not None else None
    integration_peak = _peak(by_key, "compute.metric.IntegrationLatency")
    latency_peak = _peak(by_key, "compute.metric.Latency")
    config = by_key.get("compute.lambda_config")
    function_timeout = config.numbers.value if config is not None and config.numbers is not None else None
    duration_peak = _peak(by_key, "compute.metric.Duration")
    server_errors = next((k for k in ("compute.metric.5xx", "compute.metric.5XXError") if k in by_key), None)
    client_errors = next((k for k in ("compute.metric.4xx", "compute.metric.4XXError") if k in by_key), None)
    findings: list[Fact] = []
    at_integration_timeout = bool(timeout_ms and integration_peak and integration_peak >= timeout_ms * AT_TIMEOUT)
    at_function_timeout = bool(
        function_timeout and duration_peak and duration_peak >= function_timeout * 1000 * AT_TIMEOUT
    )
    if at_integration_timeout or at_function_timeout:
        parts = []
        if at_integration_timeout and integration_peak and timeout_ms:
            parts.append(
                f"IntegrationLatency peaks at {number(integration_peak)} ms against the {number(timeout_ms / 1000)} s "
                "integration timeout"
            )
        if at_function_timeout and duration_peak and function_timeout and config is not None:
            parts.append(
                f"{config.subject or 'the backing function'}'s Duration peaks at {number(duration_peak)} ms against "
                f"its {number(function_timeout)} s timeout"
            )
        findings.append(
            Fact(
                key="compute.finding.backend_timeout",
                text=f"Backend timeout behind API {api}, not an API Gateway fault: " + "; ".join(parts),
                link=integrations.link,
                value=integration_peak or duration_peak,
                subject=(config.subject if config is not None else None) or "its integration",
                numbers=Measurement(value=integration_peak or duration_peak, threshold=timeout_ms, unit="ms"),
            )
        )
    elif (
        integration_peak
        and latency_peak
        and integration_peak >= latency_peak * 0.8
        and _rose(by_key, "compute.metric.IntegrationLatency")
    ):
        findings.append(
            Fact(
                key="compute.finding.backend_slow",
                text=f"Slow backend behind API {api}: IntegrationLatency peaks at {number(integration_peak)} ms of "
                f"{number(latency_peak)} ms total Latency — the time is spent in the integration, not the gateway",
                link=integrations.link,
                value=integration_peak,
                subject=api,
                numbers=Measurement(value=integration_peak, baseline=latency_peak, unit="ms"),
            )
        )
    elif (
        integration_peak is not None
        and latency_peak
        and integration_peak < latency_peak * 0.5
        and _rose(by_key, "compute.metric.Latency")
    ):
        findings.append(
            Fact(
                key="compute.finding.gateway_latency",
                text=f"Latency added by API Gateway on API {api}: Latency peaks at {number(latency_peak)} ms while "
                f"IntegrationLatency peaks at only {number(integration_peak)} ms — the time is spent before or after "
                "the backend (authorizer, mapping templates), not in it",
                link=integrations.link,
                value=latency_peak - integration_peak,
                subject=api,
                numbers=Measurement(value=latency_peak, baseline=integration_peak, unit="ms"),
            )
        )
    function = config.subject if config is not None else None
    if (
        not findings
        and function
        and server_errors
        and _rose(by_key, server_errors)
        and _rose(by_key, "compute.metric.Errors")
    ):
        errors = _peak(by_key, "compute.metric.Errors") or 0
        findings.append(
            Fact(
                key="compute.finding.backend_errors",
                text=f"Backend errors behind API {api}: {server_errors.rsplit('.', 1)[-1]} rose with Lambda "
                f"{function}'s Errors (peak {number(errors)}) — the integration fails, API Gateway passes it on",
                link=integrations.link,
                value=errors,
                subject=function,
                numbers=by_key["compute.metric.Errors"].numbers,
            )
        )
    if client_errors and _rose(by_key, client_errors) and not (server_errors and _rose(by_key, server_errors)):
        peak = _peak(by_key, client_errors)
        findings.append(
            Fact(
                key="compute.finding.client_errors",
                text=f"Client errors on API {api}: {client_errors.rsplit('.', 1)[-1]} rose to {number(peak or 0)} "
                "while 5xx stayed flat — callers send requests the API rejects; the backend is not failing",
                link=integrations.link,
                value=peak,
                subject=api,
                numbers=by_key[client_errors].numbers,
            )
        )
    return findings
