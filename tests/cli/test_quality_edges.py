"""Data-quality edge cases: thresholds exactly at the boundary, an all-NULL column, an
empty table — on DuckDB and PostgreSQL, through `aligned test`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app
from aligned_cli.core.tests import DataTest
from aligned_cli.execute.quality import judge, threshold_met


@pytest.mark.parametrize(
    ("condition", "failures", "total", "met"),
    [
        (">2", 2, None, False),
        (">2", 3, None, True),
        (">=2", 2, None, True),
        ("!=0", 0, None, False),
        (">10%", 1, 10, False),  # exactly 10 %: not above
        (">10%", 2, 10, True),
        (">=10%", 1, 10, True),
        (">1%", 5, 0, False),  # an empty table has no rate to exceed
    ],
)
def test_thresholds_at_the_boundary(
    condition: str, failures: int, total: int | None, met: bool
) -> None:
    assert threshold_met(condition, failures, total) is met


def test_warn_if_and_error_if_together() -> None:
    test = DataTest(name="t", view="v", kind="required", warn_if=">0", error_if=">5")
    assert judge(test, 0, None) == "pass"
    assert judge(test, 5, None) == "warn"
    assert judge(test, 6, None) == "fail"


def _project(root: Path, rows: str, dsn: str) -> Path:
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    warehouse = f"  warehouse: {{type: postgres, dsn: '{dsn}'}}\n" if dsn else ""
    (root / "aligned_project.yml").write_text(
        f"name: edges\nconnections:\n  local: {{type: duckdb, path: ':memory:'}}\n{warehouse}"
    )
    (root / "data" / "d.csv").write_text("id,score\n" + rows)
    (root / "features" / "f.yml").write_text(
        "sources:\n  - name: d_csv\n    file: data/d.csv\n"
        "feature_views:\n  - name: d\n    source: d_csv\n    entities: [id]\n"
        "    row_count: {min: 1}\n"
        "    features:\n      id: {type: int64}\n"
        "      score: {type: float, required: true, lower_bound: 0,\n"
        "              null_rate: {value: 0.5, severity: warn}, mean: {min: 0, max: 10}}\n"
    )
    return root


def _results(project: Path, args: list[str]) -> dict[str, tuple[str, int | None]]:
    CliRunner().invoke(app, ["test", "--project-dir", str(project), *args])
    data = json.loads((project / "target" / "run_results.json").read_text())
    return {r["name"]: (r["status"], r["failures"]) for r in data["results"]}


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request: pytest.FixtureRequest) -> tuple[str, list[str]]:
    if request.param == "duckdb":
        return "", []
    return request.getfixturevalue("postgres_dsn"), ["--target", "warehouse"]


def test_all_null_column(tmp_path: Path, engine: tuple[str, list[str]]) -> None:
    dsn, args = engine
    project = _project(tmp_path / "p", "1,\n2,\n3,\n", dsn)
    results = _results(project, args)
    assert results["d__score__required"] == ("fail", 3)
    assert results["d__score__lower_bound"] == ("pass", 0)  # NULLs fail only `required`
    assert results["d__score__null_rate"] == ("warn", 1)
    assert results["d__score__mean"] == ("pass", 0)  # no values: no mean to judge
    assert results["d__unique"] == ("pass", 0)


def test_empty_table(tmp_path: Path, engine: tuple[str, list[str]]) -> None:
    dsn, args = engine
    project = _project(tmp_path / "p", "", dsn)
    (project / "data" / "d.csv").write_text("id,score\n")
    results = _results(project, args)
    assert results["d__row_count"] == ("fail", 1)
    for name in ("d__unique", "d__score__required", "d__score__lower_bound", "d__score__null_rate"):
        assert results[name] == ("pass", 0), name
