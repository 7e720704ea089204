"""`aligned compile` with its helper processes (ALIGNED_COMPILE_JOBS unset or 2) writes
what it writes in one process (ALIGNED_COMPILE_JOBS=1), and fails the same way: the
same located message, once, and exit code 2."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from _audit import aligned

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
BROKEN = ROOT / "fixtures" / "broken"


def _artifacts(root: Path) -> tuple[dict[str, object], dict[str, str]]:
    target = root / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    for volatile in ("generated_at", "invocation_id"):
        manifest["metadata"].pop(volatile)
    sql = {
        str(path.relative_to(target)): path.read_text()
        for path in sorted((target / "compiled").rglob("*.sql"))
    }
    return manifest, sql


def _compile(root: Path, jobs: str | None) -> tuple[dict[str, object], dict[str, str]]:
    shutil.rmtree(root / "target", ignore_errors=True)
    env = {"ALIGNED_NO_CACHE": "1", "ALIGNED_COMPILE_JOBS": jobs or ""}
    result = aligned(root, "compile", env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return _artifacts(root)


def test_a_big_project_compiles_the_same_with_and_without_children(tmp_path: Path) -> None:
    from compile_bench import build_project

    root = tmp_path / "big"
    root.mkdir()
    build_project(root, 150, 30)
    alone = _compile(root, "1")
    assert _compile(root, None) == alone  # by default: a child for a project this big
    assert _compile(root, "2") == alone


@pytest.mark.parametrize("name", ["titanic_yaml", "titanic_python"])
def test_fixtures_compile_the_same_with_and_without_children(tmp_path: Path, name: str) -> None:
    root = tmp_path / name
    shutil.copytree(ROOT / "fixtures" / name, root, ignore=shutil.ignore_patterns("target"))
    assert _compile(root, "2") == _compile(root, "1")


@pytest.mark.parametrize(
    "name",
    [
        "custom_test_incomplete_sql",  # found compiling the SQL (in the child first)
        "unknown_feature",  # found building the DAG (the child is stopped)
        "malformed_yaml",  # found parsing (the header reader is stopped)
        "view_cycle",
    ],
)
def test_errors_are_the_same_with_and_without_children(name: str) -> None:
    env = {"ALIGNED_NO_CACHE": "1"}
    alone = aligned(BROKEN / name, "compile", env={**env, "ALIGNED_COMPILE_JOBS": "1"})
    together = aligned(BROKEN / name, "compile", env={**env, "ALIGNED_COMPILE_JOBS": "2"})
    assert together.returncode == alone.returncode == 2
    assert (together.stdout, together.stderr) == (alone.stdout, alone.stderr)
    output = together.stdout + together.stderr
    assert "Traceback" not in output
    first_line = output.strip().splitlines()[0]
    assert output.count(first_line) == 1  # said once, not once per process
