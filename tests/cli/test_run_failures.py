"""How `aligned run`/`aligned test` report what went wrong: an unreachable target,
a source that cannot be read, excluded tests, and --store-failures (SPEC §6, §9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app


def _project(root: Path, rows: str, dsn: str = "", model: bool = True) -> Path:
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    connections = "  local: {type: duckdb, path: target/p.duckdb}\n"
    if dsn:
        connections += f"  warehouse: {{type: postgres, dsn: '{dsn}'}}\n"
    (root / "aligned_project.yml").write_text(f"name: failing\nconnections:\n{connections}")
    (root / "data" / "drivers.csv").write_text("driver_id,rating\n" + rows)
    (root / "features" / "f.yml").write_text(
        """sources:
  - name: drivers_csv
    file: data/drivers.csv
feature_views:
  - name: drivers
    source: drivers_csv
    entities: [driver_id]
    features:
      driver_id: {type: int64}
      rating: {type: float, upper_bound: 5}
"""
        + (_MODEL if model else "")
    )
    return root


_MODEL = """models:
  - name: ratings
    features: [drivers:rating]
    spine: drivers_csv
"""


def _run(project: Path, *args: str) -> tuple[int, str, dict[str, dict[str, object]]]:
    result = CliRunner().invoke(app, [*args, "--project-dir", str(project)])
    data = json.loads((project / "target" / "run_results.json").read_text())
    return result.exit_code, result.output, {r["name"]: r for r in data["results"]}


def test_unreachable_target_gives_every_node_an_error(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "1,4.0\n", dsn="postgresql://postgres@127.0.0.1:1/db")
    code, output, results = _run(project, "run", "--target", "warehouse")
    assert code == 1, output
    assert "cannot connect" in output
    assert set(results) == {"drivers", "ratings", "drivers__unique", "drivers__rating__upper_bound"}
    for result in results.values():
        assert result["status"] == "error"
        assert "cannot connect" in str(result["message"])


def test_unreachable_target_in_aligned_test_too(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "1,4.0\n", dsn="postgresql://postgres@127.0.0.1:1/db")
    code, output, results = _run(project, "test", "--target", "warehouse")
    assert code == 1, output
    assert {r["status"] for r in results.values()} == {"error"}
    assert len(results) == 2


def test_excluded_tests_do_not_block_their_view(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "1,4.0\n2,9.0\n")  # 9.0 breaks upper_bound 5
    code, output, results = _run(project, "run", "--exclude", "test:drivers__rating__*")
    assert code == 0, output
    assert "drivers__rating__upper_bound" not in results
    assert results["drivers"]["status"] == "success"
    assert results["ratings"]["status"] == "success"


def test_included_tests_still_block_by_default(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "1,4.0\n2,9.0\n")
    code, output, results = _run(project, "run")
    assert code == 1, output
    assert results["drivers"]["status"] == "fail"
    assert results["ratings"]["status"] == "skipped"


def test_unreadable_source_is_the_views_error_not_its_tests(tmp_path: Path) -> None:
    # No model: its spine (this source) would be read at compile time already.
    project = _project(tmp_path / "p", "1,4.0\n", model=False)
    (project / "data" / "drivers.csv").unlink()
    code, output, results = _run(project, "run")
    assert code == 1, output
    assert results["drivers"]["status"] == "error", output
    assert "drivers.csv" in str(results["drivers"]["message"])
    assert "blocking tests" not in str(results["drivers"]["message"])
    for name in ("drivers__unique", "drivers__rating__upper_bound"):
        assert results[name]["status"] == "skipped"


@pytest.mark.parametrize(
    ("header", "column", "closest"),
    [("driver_id,score", "rating", None), ("id,rating", "driver_id", "id")],
)
def test_a_column_the_source_file_lacks_is_a_project_error(
    tmp_path: Path, header: str, column: str, closest: str | None
) -> None:
    """The file's header is read at compile time: a view naming a column it lacks fails
    there (exit 2, at the declaration), not inside the engine at run time."""
    project = _project(tmp_path / "p", "1,4.0\n", model=False)
    (project / "data" / "drivers.csv").write_text(f"{header}\n1,4.0\n")
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project)])
    assert result.exit_code == 2, result.output
    assert f"'{column}', but source 'drivers_csv' has no such column" in result.output
    assert "f.yml:" in result.output
    if closest:
        assert f"did you mean '{closest}'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_store_failures_keeps_failing_rows_per_test(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if engine == "postgres" else ""
    target = ["--target", "warehouse"] if dsn else []
    project = _project(tmp_path / "p", "1,4.0\n2,9.0\n3,7.5\n", dsn=dsn)
    code, output, results = _run(project, "test", "--store-failures", *target)
    assert code == 1, output
    bound = results["drivers__rating__upper_bound"]
    assert bound["output"] == "aligned_failures.drivers__rating__upper_bound"
    assert _stored(project, dsn, "drivers__rating__upper_bound") == [(2, 9.0), (3, 7.5)]
    assert _stored(project, dsn, "drivers__unique") == []

    # Replaced on every run: a fixed row leaves the table.
    (project / "data" / "drivers.csv").write_text("driver_id,rating\n1,4.0\n2,3.0\n3,7.5\n")
    code, output, results = _run(project, "test", "--store-failures", *target)
    assert _stored(project, dsn, "drivers__rating__upper_bound") == [(3, 7.5)]


def _stored(project: Path, dsn: str, test: str) -> list[tuple[object, ...]]:
    sql = f'SELECT driver_id, rating FROM aligned_failures."{test}" ORDER BY 1'
    if test.endswith("__unique"):
        sql = f'SELECT * FROM aligned_failures."{test}"'
    if dsn:
        import psycopg

        with psycopg.connect(dsn) as conn:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
    import duckdb

    with duckdb.connect(str(project / "target" / "p.duckdb"), read_only=True) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
