"""Every example project compiles for every dialect, into SQL that dialect re-parses.

Golden files pin the exact SQL of a few projects; this covers the rest (aggregations,
quality tests, monitoring) so that no node of any fixture fails to compile for a
warehouse dialect, and sqlglot's warnings never leak to the user.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlglot
from typer.testing import CliRunner

from aligned_cli.cli.app import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PROJECTS = sorted(p.name for p in FIXTURES.iterdir() if (p / "aligned_project.yml").is_file())
DIALECTS = ["duckdb", "postgres", "spark", "bigquery", "snowflake", "trino"]
SQLGLOT_NAMES = {"postgres": "postgres"}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("project", PROJECTS)
def test_fixture_compiles_for_dialect(
    project: str, dialect: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sqlglot")
    target = str(tmp_path / "target")
    args = ["--project-dir", str(FIXTURES / project), "--target-path", target]
    result = CliRunner().invoke(app, ["compile", "--dialect", dialect, *args])
    assert result.exit_code == 0, result.output
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")], caplog.text
    files = sorted((tmp_path / "target" / "compiled" / dialect).glob("*.sql"))
    assert files
    for path in files:
        sqlglot.parse_one(path.read_text(), read=SQLGLOT_NAMES.get(dialect, dialect))
