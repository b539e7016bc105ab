"""Bytecode in the Lambda packages: compiled for the Lambda's Python, loaded without checking the source."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from cdk.packaging import assets, bytecode

THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _package(root: Path, answer: int) -> Path:
    package = root / "functions" / "probe"
    package.mkdir(parents=True)
    (root / "functions" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "answer.py").write_text(f"VALUE = {answer}\n")
    return package


def test_compiled_modules_load_from_bytecode_without_checking_their_source(tmp_path: Path) -> None:
    # Given a package compiled for this Python
    package = _package(tmp_path, answer=1)
    report = bytecode.compile_tree(tmp_path, sys.executable)
    assert report.failures == 0
    pyc = Path(importlib.util.cache_from_source(str(package / "answer.py")))
    assert pyc.is_file()
    # Header flags 0b01: hash-based and not checked (what survives CDK's fixed zip timestamps)
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01

    # When the source changes afterwards (as timestamps do when an asset is unzipped)
    (package / "answer.py").write_text("VALUE = 2\n")

    # Then the interpreter still loads the shipped bytecode
    completed = subprocess.run(
        [sys.executable, "-c", "import functions.probe.answer as a; print(a.VALUE)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert completed.stdout.strip() == "1"


def test_a_module_that_does_not_compile_is_counted_not_fatal(tmp_path: Path) -> None:
    package = _package(tmp_path, answer=1)
    (package / "broken.py").write_text("def (:\n")
    report = bytecode.compile_tree(tmp_path, sys.executable)
    assert report.failures == 1
    assert Path(importlib.util.cache_from_source(str(package / "answer.py"))).is_file()


def test_without_an_interpreter_of_the_lambdas_version_the_package_ships_source_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bytecode, "LAMBDA_PYTHON_VERSION", "2.1")
    monkeypatch.delenv(bytecode.INTERPRETER_ENV, raising=False)
    _package(tmp_path, answer=1)

    assert bytecode.bytecode_interpreter() is None
    assert bytecode.compile_package(tmp_path) is None
    assert not list(tmp_path.rglob("*.pyc"))
    assert "without bytecode" in capsys.readouterr().err
    assert bytecode.bytecode_tag() == bytecode.NO_BYTECODE


def test_the_interpreter_named_by_the_environment_is_used_when_it_is_the_lambdas_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bytecode, "LAMBDA_PYTHON_VERSION", THIS_PYTHON)
    monkeypatch.setenv(bytecode.INTERPRETER_ENV, sys.executable)
    assert bytecode.bytecode_interpreter() == sys.executable
    assert bytecode.bytecode_tag() == f"bytecode-{THIS_PYTHON}"
    # A path that is not a Python is skipped, not trusted
    monkeypatch.setenv(bytecode.INTERPRETER_ENV, "/nonexistent/python")
    assert bytecode.interpreter_version("/nonexistent/python") is None


def test_staged_code_carries_bytecode_for_the_lambdas_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the Lambda runs this interpreter's version
    monkeypatch.setattr(bytecode, "LAMBDA_PYTHON_VERSION", THIS_PYTHON)
    monkeypatch.setattr(assets, "CODE_DIR", tmp_path / "staged")
    source = tmp_path / "src"
    package = _package(source, answer=1)
    (package.parent / "local_runner").mkdir()
    (package.parent / "local_runner" / "cli.py").write_text("X = 1\n")

    # When the code is staged
    staged = assets.stage_function_code(source / "functions")

    # Then every shipped module has its bytecode, and the offline runner still is not shipped
    modules = [p for p in staged.rglob("*.py")]
    assert modules
    for module in modules:
        assert Path(importlib.util.cache_from_source(str(module))).is_file(), module
    assert not (staged / "functions" / "local_runner").exists()

    # And a package without bytecode stages to a different folder (the tag is part of the content hash)
    monkeypatch.setattr(bytecode, "LAMBDA_PYTHON_VERSION", "2.1")
    assert assets.stage_function_code(source / "functions") != staged
