"""Tests run from the SQL compiled with the project judge exactly as tests built at run
time do (what `aligned run` falls back to on a fresh table, or an engine the compile
has no checks for), and a warm `aligned run` with tests imports no SQL builder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aligned_cli.execute.adapters import open_adapter
from aligned_cli.execute.quality import run_test
from aligned_cli.graph.ids import test_id, view_id
from aligned_cli.pipeline import load_and_compile

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def quality_project(tmp_path: Path) -> Path:
    target = tmp_path / "quality"
    shutil.copytree(ROOT / "fixtures" / "quality", target, ignore=shutil.ignore_patterns("target"))
    # A percent threshold too: its checks carry the view's row count.
    features = target / "features" / "quality.yml"
    text = features.read_text()
    text = text.replace(
        "fare: {type: float}", "fare: {type: float, lower_bound: {value: 10, warn_if: '>20%'}}"
    )
    features.write_text(text)
    return target


def test_compiled_checks_judge_as_checks_built_at_run_time(quality_project: Path) -> None:
    compiled = load_and_compile(quality_project)
    project = compiled.project
    assert compiled.tests
    with open_adapter(project.connection(), Path(project.root)) as adapter:
        for test in compiled.tests:
            checks = compiled.test_checks[test_id(project.name, test.name)]["duckdb"]
            assert (checks.total is not None) == ("%" in (test.warn_if or ""))
            compiled_run = run_test(adapter, project, test, checks=checks)
            built_run = run_test(adapter, project, test)
            assert compiled_run == built_run, test.name
            assert compiled_run.status != "error", compiled_run.message


def test_a_warm_run_with_tests_imports_no_sql_builder(quality_project: Path) -> None:
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('sqlglot imported:', 'sqlglot' in sys.modules))\n"
        "from aligned_cli.cli.app import main\n"
        f"sys.argv = ['aligned', 'run', '--project-dir', {str(quality_project)!r}]\n"
        "main()\n"
    )
    for _ in range(2):  # the first run compiles (with sqlglot); the second reuses it
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
        )
    assert "drivers__unique" in result.stdout  # the tests ran (and some failed: exit 1)
    assert "sqlglot imported: False" in result.stdout, result.stdout + result.stderr


def test_checks_around_compiled_text_are_what_sqlglot_renders(quality_project: Path) -> None:
    """The count/sample/total queries are rendered once around a slot and the test's
    text put in it: the same strings as rendering each query with the text as a leaf."""
    from sqlglot import exp

    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.quality import checks_for_test

    dialects = ["duckdb", "postgres", "spark", "bigquery", "snowflake", "trino"]
    compiled = load_and_compile(quality_project, dialects=dialects)
    project = compiled.project
    compared = 0
    for test in compiled.tests:
        uid = test_id(project.name, test.name)
        for dialect, checks in compiled.test_checks.get(uid, {}).items():
            view_sql = compiled.sql[view_id(project.name, test.view)][dialect]
            name = get_dialect(dialect).sqlglot_name
            expected = checks_for_test(
                test,
                exp.var(checks.failing),
                lambda v=view_sql: exp.var(v),
                lambda tree, n=name: tree.sql(dialect=n),
            )
            assert checks == expected, (test.name, dialect)
            compared += 1
    assert compared >= len(compiled.tests) * 2  # duckdb and postgres compose text at least
