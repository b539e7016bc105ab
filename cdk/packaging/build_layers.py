"""Build the Lambda dependency layers with pip, for the Lambda platform, without Docker.

Two layers, both under `build/lambda/layers/`:
- `pipeline/python/`: the project's runtime dependencies (`[project].dependencies` in pyproject.toml), used by
  every function.
- `chat/python/`: the `chat` extra (LangGraph) minus everything already in the pipeline layer, used by the chat
  functions only, so the alert stages stay small.

pip installs manylinux wheels for `constants.PIP_PLATFORM` and CPython `constants.LAMBDA_PYTHON_VERSION`
(`--only-binary=:all:`), whatever the build machine runs. A stamp records the hash of pyproject.toml and the
platform: nothing is rebuilt until either changes. pip's own bytecode (for the build machine's Python) is
dropped and each layer is compiled for the Lambda's Python where an interpreter of that version exists
(`bytecode.py`). Run: `python -m cdk.packaging.build_layers [--force]`.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from cdk.constants import BUILD_DIR, LAMBDA_PYTHON_VERSION, PIP_PLATFORM, PYPROJECT_PATH
from cdk.packaging import bytecode

LAYERS_DIR = BUILD_DIR / "layers"
STAMP_PATH = LAYERS_DIR / ".stamp"
PIPELINE_LAYER = "pipeline"
CHAT_LAYER = "chat"
LAYER_NAMES = (PIPELINE_LAYER, CHAT_LAYER)
# Bump to force a rebuild when this script's output format changes.
_BUILD_FORMAT = "2"


class LayerBuildError(RuntimeError):
    """pip could not produce the layer (no network, or a dependency without a wheel for the platform)."""


def layer_dir(name: str) -> Path:
    """The folder to deploy as the layer `name` (it holds `python/`)."""
    return LAYERS_DIR / name


def expected_stamp(pyproject: Path = PYPROJECT_PATH) -> str:
    digest = hashlib.sha256(pyproject.read_bytes())
    # With or without bytecode is part of the stamp: installing python3.14 later rebuilds the layers with it.
    digest.update(f"{PIP_PLATFORM}|{LAMBDA_PYTHON_VERSION}|{_BUILD_FORMAT}|{bytecode.bytecode_tag()}".encode())
    return digest.hexdigest()


def is_current(pyproject: Path = PYPROJECT_PATH) -> bool:
    """True when both layers exist and were built from this pyproject.toml for this platform."""
    if not STAMP_PATH.is_file():
        return False
    if any(not (layer_dir(name) / "python").is_dir() for name in LAYER_NAMES):
        return False
    return STAMP_PATH.read_text().strip() == expected_stamp(pyproject)


def runtime_requirements(pyproject: Path = PYPROJECT_PATH) -> tuple[list[str], list[str]]:
    """(pipeline requirements, chat requirements) as declared in pyproject.toml."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return list(project["dependencies"]), list(project.get("optional-dependencies", {}).get("chat", []))


def _pip_install(target: Path, requirements: list[str], constraints: Path | None = None) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--only-binary=:all:",
        "--target",
        str(target),
    ]
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    result = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LayerBuildError(f"pip failed for {requirements}:\n{result.stderr.strip()[-3000:]}")


def _pinned_versions(site: Path) -> list[str]:
    """`name==version` for every distribution installed in `site` (read from its .dist-info folders)."""
    pins = []
    for info in sorted(site.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        pins.append(f"{name}=={version}")
    return pins


def _strip(site: Path) -> None:
    """Drop what Lambda never uses: bytecode caches and console scripts (their shebang is this machine's)."""
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(site / "bin", ignore_errors=True)


def build(force: bool = False, pyproject: Path = PYPROJECT_PATH) -> bool:
    """Build both layers unless they are current. Returns True when something was built.

    Raises LayerBuildError when pip fails; the previous layers are left untouched then.
    """
    if not force and is_current(pyproject):
        return False
    pipeline_requirements, chat_requirements = runtime_requirements(pyproject)
    LAYERS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=LAYERS_DIR, prefix=".building-") as scratch_name:
        scratch = Path(scratch_name)
        pipeline_site = scratch / PIPELINE_LAYER / "python"
        _pip_install(pipeline_site, pipeline_requirements)
        # The chat layer resolves against the pipeline layer's exact versions, then drops what the pipeline
        # layer already provides: a function with both layers sees one copy of each package.
        constraints = scratch / "constraints.txt"
        constraints.write_text("\n".join(_pinned_versions(pipeline_site)) + "\n")
        chat_site = scratch / CHAT_LAYER / "python"
        _pip_install(chat_site, pipeline_requirements + chat_requirements, constraints)
        provided = {entry.name for entry in pipeline_site.iterdir()}
        for entry in list(chat_site.iterdir()):
            if entry.name in provided:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        for name, site in ((PIPELINE_LAYER, pipeline_site), (CHAT_LAYER, chat_site)):
            _strip(site)
            bytecode.compile_package(site, label=f"the {name} layer")
        for name in LAYER_NAMES:
            shutil.rmtree(layer_dir(name), ignore_errors=True)
            (scratch / name).rename(layer_dir(name))
    STAMP_PATH.write_text(expected_stamp(pyproject) + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Lambda dependency layers (pip, no Docker).")
    parser.add_argument("--force", action="store_true", help="rebuild even if pyproject.toml did not change")
    args = parser.parse_args(argv)
    try:
        built = build(force=args.force)
    except LayerBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    state = "built" if built else "up to date"
    print(f"Lambda layers {state}: {', '.join(str(layer_dir(name)) for name in LAYER_NAMES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
