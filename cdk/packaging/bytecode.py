"""Precompiled bytecode for the Lambda packages (the function code and both dependency layers).

Lambda mounts `/var/task` and `/opt` read-only, so Python cannot write `__pycache__` there: a package shipped
without bytecode is compiled from source on every cold start — botocore, pydantic, Powertools and the project's own
modules, every time. So each package is compiled once, when it is built, by an interpreter of the Lambda's Python
version: bytecode is specific to a minor version (3.11's `.pyc` files are ignored by 3.14), which is also why the
bytecode pip writes while building the layers (with the build machine's Python) is dropped.

The mode is `unchecked-hash`: CDK zips assets with fixed timestamps, so timestamp-checked `.pyc` files would look
stale once unzipped in Lambda and be recompiled anyway; a deployed package never changes, so not checking its source
is safe.

Where no interpreter of the Lambda's version is found (on PATH as `python3.14`, or named by
`ALERT_INTEL_LAMBDA_PYTHON`), the packages ship without bytecode and the build says so: they still work, with slower
cold starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cdk.constants import LAMBDA_PYTHON_VERSION

INTERPRETER_ENV = "ALERT_INTEL_LAMBDA_PYTHON"
NO_BYTECODE = "none"


@dataclass(frozen=True)
class CompileReport:
    """What one compile pass did: how many modules could not be compiled (they stay source-only)."""

    root: Path
    failures: int


def interpreter_version(executable: str) -> str | None:
    """`major.minor` of the Python at `executable`, or None when it does not run."""
    if executable == sys.executable:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        completed = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


def bytecode_interpreter(version: str | None = None) -> str | None:
    """An interpreter whose bytecode the Lambda runtime loads: the one named by the environment, this one, or
    `python<version>` on PATH — the first of those that is exactly `version` (default: the Lambda's)."""
    version = version or LAMBDA_PYTHON_VERSION
    candidates = (os.environ.get(INTERPRETER_ENV), sys.executable, shutil.which(f"python{version}"))
    for candidate in candidates:
        if candidate and interpreter_version(candidate) == version:
            return candidate
    return None


def bytecode_tag(version: str | None = None) -> str:
    """Part of the packages' content hashes: a package with bytecode differs from one without."""
    version = version or LAMBDA_PYTHON_VERSION
    return f"bytecode-{version}" if bytecode_interpreter(version) else NO_BYTECODE


def compile_tree(root: Path, interpreter: str) -> CompileReport:
    """Write `unchecked-hash` bytecode beside every module under `root`.

    A module that does not compile (a dependency's file for another Python version, say) is counted, not fatal:
    it is never imported, or it compiles at import as it would without this step.
    """
    completed = subprocess.run(
        [interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    failures = sum(1 for line in completed.stdout.splitlines() if line.startswith("*** Error compiling"))
    if completed.returncode != 0 and failures == 0:
        failures = 1
    return CompileReport(root=root, failures=failures)


def compile_package(root: Path, version: str | None = None, label: str | None = None) -> CompileReport | None:
    """Compile `root` for the Lambda's Python when such an interpreter exists; None (and a warning naming the
    package as `label`) otherwise."""
    version = version or LAMBDA_PYTHON_VERSION
    interpreter = bytecode_interpreter(version)
    if interpreter is None:
        print(
            f"warning: no Python {version} found (put python{version} on PATH or set {INTERPRETER_ENV}): "
            f"{label or root} ships without bytecode, so each cold start compiles its modules",
            file=sys.stderr,
        )
        return None
    return compile_tree(root, interpreter)
