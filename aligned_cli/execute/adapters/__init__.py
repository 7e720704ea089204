"""Engine adapters: one interface (`Adapter`) over DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

from pathlib import Path

from aligned_cli.core.ir import Connection
from aligned_cli.core.naming import STAGING_SCHEMA
from aligned_cli.errors import ProjectError
from aligned_cli.execute.adapters.base import Adapter, StagedOutput

# Each engine's modules load with its adapter (`open_adapter`), not with this package.
__all__ = ["STAGING_SCHEMA", "Adapter", "StagedOutput", "open_adapter"]


def open_adapter(connection: Connection, project_root: Path) -> Adapter:
    """Connect to `connection`; relative paths resolve against `project_root`."""
    if connection.dsn is not None:
        from aligned_cli.parse.jinja import needs_rendering, render_deferred

        if needs_rendering(connection.dsn):
            where = f"aligned_project.yml (connection '{connection.name}')"
            connection = connection.model_copy(
                update={"dsn": render_deferred(connection.dsn, where)}
            )
    if connection.type == "duckdb":
        from aligned_cli.execute.adapters.duckdb import DuckDBAdapter

        return DuckDBAdapter(connection, project_root)
    if connection.type == "postgres":
        from aligned_cli.execute.adapters.postgres import PostgresAdapter

        return PostgresAdapter(connection, project_root)
    if connection.type == "spark":
        from aligned_cli.execute.adapters.spark import SparkAdapter

        return SparkAdapter(connection, project_root)
    raise ProjectError(
        f"connection '{connection.name}' has type '{connection.type}', "
        "which aligned cannot run on yet",
        hint="use a duckdb, postgres or spark connection",
    )
