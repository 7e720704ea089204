"""Adapters on real engines: DuckDB in tmp_path, PostgreSQL in a fresh database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aligned_cli.core.ir import Connection
from aligned_cli.execute.adapters import Adapter, open_adapter

ENGINES = [pytest.param("duckdb"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture()
def project_root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def duckdb_connection() -> Connection:
    return Connection(name="local", type="duckdb", path="target/aligned.duckdb")


def postgres_connection(dsn: str, **options: object) -> Connection:
    return Connection(name="warehouse", type="postgres", dsn=dsn, options=dict(options))


@pytest.fixture()
def duck(project_root: Path) -> Iterator[Adapter]:
    with open_adapter(duckdb_connection(), project_root) as adapter:
        yield adapter


@pytest.fixture()
def pg(postgres_dsn: str, project_root: Path) -> Iterator[Adapter]:
    with open_adapter(postgres_connection(postgres_dsn), project_root) as adapter:
        yield adapter


@pytest.fixture(params=ENGINES)
def adapter(request: pytest.FixtureRequest) -> Adapter:
    """Each test using this runs once per engine."""
    value: Adapter = request.getfixturevalue("duck" if request.param == "duckdb" else "pg")
    return value


def _series_sql(adapter: Adapter, n: int) -> str:
    """`n` rows of one integer column `i` (0..n-1), in the adapter's dialect."""
    if adapter.dialect == "duckdb":
        return f"SELECT range AS i FROM range({n})"
    return f"SELECT i FROM generate_series(0, {n - 1}) AS g(i)"


def _temp_tables(adapter: Adapter) -> list[str]:
    """Tables whose name starts with `__aligned_tmp`, in any schema (temp ones too)."""
    if adapter.dialect == "duckdb":
        sql = (
            "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '__aligned_tmp')"
        )
    else:
        sql = "SELECT relname FROM pg_class WHERE starts_with(relname, '__aligned_tmp')"
    return [str(row[0]) for row in adapter.fetch_rows(sql)]


@pytest.fixture()
def series_sql() -> Callable[[Adapter, int], str]:
    return _series_sql


@pytest.fixture()
def temp_tables() -> Callable[[Adapter], list[str]]:
    return _temp_tables
