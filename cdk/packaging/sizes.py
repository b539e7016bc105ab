"""Zipped deployment size of each Lambda function: its code asset plus the layers it uses.

For `make bench`:

    from cdk.packaging.sizes import report
    for function, zipped_bytes in report():
        ...

Offline and quick: the code is staged and zipped in memory (deflate, as CDK packages assets); each built
layer's zipped size is cached next to the layer, keyed by its build stamp. Layers that are not built yet count
as 0 bytes and `layers_built()` says so: build them with `python -m cdk.packaging.build_layers`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from cdk.constants import CHAT_FUNCTIONS, PIPELINE_FUNCTIONS
from cdk.packaging import build_layers
from cdk.packaging.assets import stage_function_code

_SIZE_CACHE = build_layers.LAYERS_DIR / ".zipped-sizes.json"


def function_layers() -> dict[str, tuple[str, ...]]:
    """Function key -> the layers it is deployed with (as wired in the stacks)."""
    pipeline = (build_layers.PIPELINE_LAYER,)
    chat = (build_layers.PIPELINE_LAYER, build_layers.CHAT_LAYER)
    return {"ingest": pipeline, **dict.fromkeys(PIPELINE_FUNCTIONS, pipeline), **dict.fromkeys(CHAT_FUNCTIONS, chat)}


def zipped_size(folder: Path) -> int:
    """Bytes of a deflate zip of everything under `folder`, paths relative to it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.getbuffer().nbytes


def layers_built() -> bool:
    return build_layers.is_current()


def layer_sizes() -> dict[str, int]:
    """Layer name -> zipped bytes (0 for a layer not built for the current pyproject.toml)."""
    if not layers_built():
        return dict.fromkeys(build_layers.LAYER_NAMES, 0)
    stamp = build_layers.STAMP_PATH.read_text().strip()
    if _SIZE_CACHE.is_file():
        cached = json.loads(_SIZE_CACHE.read_text())
        if cached.get("stamp") == stamp:
            return {name: int(cached["sizes"][name]) for name in build_layers.LAYER_NAMES}
    sizes = {name: zipped_size(build_layers.layer_dir(name)) for name in build_layers.LAYER_NAMES}
    _SIZE_CACHE.write_text(json.dumps({"stamp": stamp, "sizes": sizes}))
    return sizes


def report() -> list[tuple[str, int]]:
    """(function key, zipped bytes of code + layers) for every function the app deploys, in stack order."""
    code_bytes = zipped_size(stage_function_code())
    layers = layer_sizes()
    return [
        (function, code_bytes + sum(layers[name] for name in names)) for function, names in function_layers().items()
    ]


def breakdown() -> list[tuple[str, int]]:
    """(asset, zipped bytes): the shared code asset and each layer, for a finer table."""
    layers = [(f"layer:{name}", size) for name, size in layer_sizes().items()]
    return [("code", zipped_size(stage_function_code())), *layers]


if __name__ == "__main__":
    for name, size in [*report(), *breakdown()]:
        print(f"{name:<16} {size / 1_000_000:8.2f} MB")
