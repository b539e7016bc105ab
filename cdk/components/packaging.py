"""The Lambda assets of one stack: the function code and the dependency layers it needs."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk.components.lambda_function import ARCHITECTURE, RUNTIME
from cdk.packaging.assets import AssetDirs
from cdk.packaging.build_layers import CHAT_LAYER, PIPELINE_LAYER


class LambdaPackaging(Construct):
    """Code asset plus the pipeline layer (and the chat layer when `with_chat`), built without Docker.

    `asset_dirs` comes from `cdk.packaging.assets.prepare_asset_dirs`, once per synth.
    """

    def __init__(self, scope: Construct, construct_id: str, *, asset_dirs: AssetDirs, with_chat: bool = False) -> None:
        super().__init__(scope, construct_id)
        self.code = lambda_.Code.from_asset(str(asset_dirs.code))
        layer_dirs = asset_dirs.layers
        self.pipeline_layer = self._layer("PipelineLayer", layer_dirs[PIPELINE_LAYER], "pydantic, powertools, SDKs")
        self.chat_layer = (
            self._layer("ChatLayer", layer_dirs[CHAT_LAYER], "LangGraph and its dependencies") if with_chat else None
        )

    def _layer(self, construct_id: str, path: Path, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(path)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"alert-intel: {description}",
        )

    @property
    def pipeline_layers(self) -> list[lambda_.ILayerVersion]:
        return [self.pipeline_layer]

    @property
    def chat_layers(self) -> list[lambda_.ILayerVersion]:
        if self.chat_layer is None:
            raise ValueError("this packaging was created without the chat layer")
        return [self.pipeline_layer, self.chat_layer]
