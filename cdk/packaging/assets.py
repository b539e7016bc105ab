"""The folders CDK turns into Lambda assets: the function code and the dependency layers.

The code asset is a copy of `functions/` (its root holds the `functions` package, so handlers are
`functions.<stage>.handler.handler`) without the local runner, tests and caches. It is staged under
`build/lambda/code/<content hash>/`, so concurrent synths never see a half-written folder and an unchanged tree
gives CDK the same asset hash. The staged copy carries bytecode compiled for the Lambda's Python when such an
interpreter is available (`bytecode.py`: Lambda cannot write `__pycache__` itself).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cdk.constants import BUILD_DIR, FUNCTIONS_DIR, LAYERS_AUTO, LAYERS_BUILT, LAYERS_STUB, STUB_LAYER_DIR
from cdk.packaging import build_layers, bytecode

CODE_DIR = BUILD_DIR / "code"
# Never deployed: the offline runner (moto patch, CLI) and anything that is not code.
EXCLUDED_PACKAGES = frozenset({"local_runner", "tests"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})


@dataclass(frozen=True)
class AssetDirs:
    """The folders one synth deploys: staged once, so every stack ships the same code."""

    code: Path
    layers: dict[str, Path]


def prepare_asset_dirs(layers_mode: str) -> AssetDirs:
    """Stage the function code and resolve the layers (see `layer_asset_dirs` for the modes and errors)."""
    return AssetDirs(code=stage_function_code(), layers=layer_asset_dirs(layers_mode))


class LayersNotBuiltError(RuntimeError):
    """The real layers were asked for but are missing or stale and could not be built."""


def _code_files(source: Path = FUNCTIONS_DIR) -> list[Path]:
    files = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or "__pycache__" in relative.parts or path.suffix in EXCLUDED_SUFFIXES:
            continue
        if relative.parts[0] in EXCLUDED_PACKAGES:
            continue
        files.append(path)
    return files


def stage_function_code_into(target: Path, source: Path = FUNCTIONS_DIR) -> None:
    """Copy the deployable part of `source` to `target/functions/`, as is (no bytecode): the bench measures it."""
    for path in _code_files(source):
        destination = target / "functions" / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def stage_function_code(source: Path = FUNCTIONS_DIR) -> Path:
    """Copy the deployable part of `functions/` into a content-addressed folder; returns that folder."""
    files = _code_files(source)
    digest = hashlib.sha256(bytecode.bytecode_tag().encode())
    for path in files:
        digest.update(str(path.relative_to(source)).encode())
        digest.update(path.read_bytes())
    staged = CODE_DIR / digest.hexdigest()[:16]
    if staged.is_dir():
        return staged
    CODE_DIR.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=CODE_DIR, prefix=".staging-"))
    stage_function_code_into(scratch, source)
    bytecode.compile_package(scratch, label="the function code")
    try:
        scratch.rename(staged)
    except OSError:  # another synth staged the same content first
        shutil.rmtree(scratch, ignore_errors=True)
    _prune_old_stages(keep=staged)
    return staged


def _prune_old_stages(keep: Path, min_age_seconds: float = 3600) -> None:
    # Only old stages: a concurrent synth may still be copying a recent one into its cloud assembly.
    cutoff = time.time() - min_age_seconds
    for entry in CODE_DIR.iterdir():
        if entry != keep and not entry.name.startswith(".") and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


def layer_asset_dirs(mode: str) -> dict[str, Path]:
    """Layer name -> folder to deploy.

    - `built`: build the layers if stale (pip; network on the first run) and use them; what deploys use.
    - `stub`: a tiny placeholder, no pip: offline tests.
    - `auto`: `built` when possible, else `stub` with a warning on stderr (`make synth` offline): the
      resulting cloud assembly is then for inspection only, not for deploying.

    Raises LayersNotBuiltError when `built` layers cannot be built, ValueError for an unknown mode.
    """
    if mode == LAYERS_STUB:
        return dict.fromkeys(build_layers.LAYER_NAMES, STUB_LAYER_DIR)
    if mode == LAYERS_AUTO:
        try:
            return layer_asset_dirs(LAYERS_BUILT)
        except LayersNotBuiltError as error:
            print(f"warning: {error}\nwarning: synthesising with PLACEHOLDER layers: do not deploy.", file=sys.stderr)
            return layer_asset_dirs(LAYERS_STUB)
    if mode != LAYERS_BUILT:
        raise ValueError(f"unknown layers mode {mode!r}: use {LAYERS_BUILT!r}, {LAYERS_AUTO!r} or {LAYERS_STUB!r}")
    try:
        build_layers.build()
    except build_layers.LayerBuildError as error:
        raise LayersNotBuiltError(
            f"the Lambda layers are not built and pip failed ({error}); run "
            "`python -m cdk.packaging.build_layers` with network access, or synthesise with `-c layers=stub`"
        ) from error
    return {name: build_layers.layer_dir(name) for name in build_layers.LAYER_NAMES}
