"""The alert pipeline's stages, in one table: what CDK deploys and what the local runner registers with moto.

Each row names a stage's Lambda handler, its ASL placeholder, its memory and its timeout (below the ASL's
`TimeoutSeconds` for every Task that invokes it). `cdk/constants.py` and `functions/local_runner/runner.py` both
derive their views from this table, so a new stage is one row here plus its folder and its ASL state.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    key: str  # e.g. "gather_cost": the function's name suffix and its role's key in the CDK app
    placeholder: str  # the ASL's `${...}` that CDK substitutes with this function's ARN
    handler: str  # module path inside the code asset, e.g. "functions.gather_cost.handler.handler"
    memory_mb: int
    timeout_seconds: int

    @property
    def local_function_name(self) -> str:
        """The simulated function's name in local runs: `alert-intel-gather-cost`."""
        return "alert-intel-" + self.key.replace("_", "-")


PIPELINE_STAGES: tuple[Stage, ...] = (
    Stage("classify", "ClassifyFunctionArn", "functions.classify.handler.handler", 512, 25),
    # Before any investigation: a re-fire, a duplicate or a resolution of an open incident skips it (decision 0014).
    Stage("check_incident", "CheckIncidentFunctionArn", "functions.check_incident.handler.handler", 512, 25),
    Stage("gather_cost", "GatherCostFunctionArn", "functions.gather_cost.handler.handler", 512, 55),
    Stage("gather_compute", "GatherComputeFunctionArn", "functions.gather_compute.handler.handler", 512, 55),
    Stage("gather_logs", "GatherLogsFunctionArn", "functions.gather_logs.handler.handler", 512, 55),
    Stage("analyze", "AnalyzeFunctionArn", "functions.analyze.handler.handler", 1024, 110),
    Stage("format", "FormatFunctionArn", "functions.format.handler.handler", 512, 25),
    Stage("post", "PostFunctionArn", "functions.post.handler.handler", 512, 55),
    # "Post Minimal Message" and the failed-execution rule: the last line of defence (functions/recover).
    Stage("recover", "RecoverFunctionArn", "functions.recover.handler.handler", 512, 55),
)

# Set on every Lambda by CDK, and by `make bench` when it measures cold imports as a Lambda would import them.
# Pydantic otherwise scans every installed distribution's entry points for plugins when the first model class is
# built, at every cold start; this project uses no pydantic plugin.
COMMON_LAMBDA_ENVIRONMENT: dict[str, str] = {"PYDANTIC_DISABLE_PLUGINS": "__all__"}
