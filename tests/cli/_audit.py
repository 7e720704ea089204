"""Helpers shared by the black-box SPEC audit tests (tests/cli/test_spec_audit*.py).

They run the real `aligned` executable in a subprocess, write small projects into temp
folders and read back what a run left in `target/`. Per-file differences (environment
variables added or removed, timeouts) stay in each test file's thin wrappers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

ALIGNED = str(Path(sys.executable).parent / "aligned")


def run_aligned(
    *argv: str,
    env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `aligned *argv`, capturing text output. The child's environment is
    `base_env` (default: os.environ) updated with `env`."""
    return subprocess.run(
        [ALIGNED, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**(os.environ if base_env is None else base_env), **(env or {})},
        timeout=timeout,
    )


def aligned(
    root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `aligned *args --project-dir root` (see `run_aligned` for env and timeout)."""
    return run_aligned(
        *args, "--project-dir", str(root), env=env, base_env=base_env, timeout=timeout
    )


def environ_without(prefix: str, *names: str) -> dict[str, str]:
    """os.environ without the variables whose name starts with `prefix` or is in `names`."""
    return {k: v for k, v in os.environ.items() if not k.startswith(prefix) and k not in names}


def assert_ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert the command exited 0 (its output is the message); return it."""
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def assert_project_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Assert a project error: exit 2, no traceback, every fragment in the output;
    return the output (stdout + stderr)."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} missing from:\n{output}"
    return output


def project_yml(name: str) -> str:
    """A minimal aligned_project.yml: project `name`, DuckDB file target/<name>.duckdb."""
    return f"name: {name}\nconnections:\n  local: {{type: duckdb, path: target/{name}.duckdb}}\n"


def write_project(root: Path, files: Mapping[str, str], project: str) -> Path:
    """Write `project` as root/aligned_project.yml and each file (dedented, leading
    newlines stripped), creating folders as needed; return root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "aligned_project.yml").write_text(project)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def results(root: Path) -> dict[str, dict[str, Any]]:
    """target/run_results.json's results by node name."""
    data = json.loads((root / "target" / "run_results.json").read_text())
    return {r["name"]: r for r in data["results"]}


def dataset(root: Path, model: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a model's dataset, target/datasets/<model>.parquet."""
    rel = duckdb.sql(f"select * from '{root / 'target' / 'datasets' / (model + '.parquet')}'")
    return rel.columns, rel.fetchall()
