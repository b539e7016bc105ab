"""Powertools Logger, Tracer and Metrics shared by every Lambda of the pipeline.

Names come from the standard POWERTOOLS_* environment variables that CDK sets per function; the defaults
here keep local runs and tests quiet and offline.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "alert-intel")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AlertIntel")

logger = Logger()
tracer = Tracer()
metrics = Metrics()
