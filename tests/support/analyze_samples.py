"""Analyze-stage inputs and Claude answers shared by the analyze tests.

The alert and context are what the classify and gather stages produce for the demo's main scenario: the Lambda
`ImageProcessor` in an invocation storm, its cost up 300 %, errors in its logs, the monthly budget crossed.
"""

from __future__ import annotations

from typing import Any

from functions.shared.models import AnalyzeInput

CONSOLE = "https://console.aws.amazon.com"


def lambda_cost_spike_input(**overrides: Any) -> AnalyzeInput:
    data: dict[str, Any] = {
        "route": "critical",
        "mode": "auto",
        "alert": {
            "source": "budget",
            "alert_type": "budget_threshold_exceeded",
            "severity": "critical",
            "title": "AWS Budget Notification: monthly-total exceeded 100% of $500.00",
            "summary": "Actual spend $612.40 is 122% of the $500.00 monthly budget 'monthly-total'.",
            "account_id": "123456789012",
            "region": "us-east-1",
            "occurred_at": "2026-11-25T06:00:00Z",
            "resource": {"type": "AWS::Lambda::Function", "name": "ImageProcessor"},
            "details": {"budget_name": "monthly-total", "budgeted_amount": 500.0, "actual_amount": 612.4},
            "dedup_key": "budget:123456789012:monthly-total:100",
        },
        "context": {
            "cost": {
                "name": "cost",
                "status": "ok",
                "looked_at": ["Cost Explorer 2026-11-18..2026-11-25 by service"],
                "facts": [
                    {
                        "key": "cost.top_service",
                        "text": "AWS Lambda: $412.30 in 7 days, +300% day over day",
                        "link": f"{CONSOLE}/cost-management/home#/cost-explorer",
                    },
                    {"key": "cost.total_7d", "text": "Total: $612.40 in 7 days"},
                ],
            },
            "compute": {
                "name": "compute",
                "status": "ok",
                "looked_at": ["Lambda ImageProcessor configuration and metrics, last 24 h"],
                "facts": [
                    {
                        "key": "compute.invocations",
                        "text": "ImageProcessor invocations: 1.9M in the last 24 h (was ~45K/day)",
                        "link": f"{CONSOLE}/lambda/home?region=us-east-1#/functions/ImageProcessor",
                    },
                    {"key": "compute.errors", "text": "ImageProcessor errors: 38% of invocations"},
                ],
            },
            "logs": {
                "name": "logs",
                "status": "ok",
                "looked_at": ["Logs Insights /aws/lambda/ImageProcessor, last 60 min, ERROR lines"],
                "facts": [
                    {
                        "key": "logs.top_error",
                        "text": "ERROR S3 PutObject to images-thumbnails triggered a new ObjectCreated event (12,408x)",
                    }
                ],
            },
        },
    }
    data.update(overrides)
    return AnalyzeInput.model_validate(data)


def good_claude_analysis(**overrides: Any) -> dict[str, Any]:
    """A tool input Claude would send for `lambda_cost_spike_input`."""
    answer: dict[str, Any] = {
        "root_cause": (
            "ImageProcessor writes thumbnails into a bucket whose ObjectCreated events invoke it again, "
            "creating a recursive invocation loop that drove Lambda spend up 300%."
        ),
        "confidence": "high",
        "verdict": "problem",
        "evidence": [
            # The prompt shows console links as ids: [L1] is the first fact's link (Cost Explorer).
            {"claim": "AWS Lambda cost $412.30 in 7 days, +300% day over day", "section": "cost", "link": "L1"},
            {"claim": "1.9M invocations in 24 h against ~45K/day normally", "section": "compute", "link": None},
            {"claim": "PutObject to images-thumbnails re-triggered the function 12,408 times", "section": "logs"},
        ],
        "diagnostics": [
            "aws lambda get-function-configuration --function-name ImageProcessor --region us-east-1",
            "aws s3api get-bucket-notification-configuration --bucket images-thumbnails",
        ],
        "recommendations": [
            "Set ImageProcessor's reserved concurrency to 0 to stop the loop, then fix the trigger prefix.",
            "Write thumbnails to a different bucket or prefix than the one that triggers the function.",
        ],
        "unknowns": ["Whether a deploy changed the output prefix recently."],
    }
    answer.update(overrides)
    return answer
