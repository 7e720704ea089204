"""Where aligned's data lives, named the OpenLineage way (namespace + name).

Files: namespace `file`, name the absolute path (URLs: `scheme://host` + path). Tables:
`postgres://host:port` + `db.schema.table`, `duckdb://<database file>` + `schema.table`.
A view that is not materialized has no physical home; it is the logical dataset
`aligned://<project>` + `view.<name>`, so lineage still flows through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DatasetId:
    namespace: str
    name: str


class DatasetNamer:
    def __init__(self, project: dict[str, Any], project_dir: Path, target: str | None) -> None:
        self.project = project
        self.root = project_dir.resolve()
        # The connection tables live on when a source or output names none: the run's.
        self.default_connection = target or project.get("default_connection") or "local"

    def source(self, source: dict[str, Any]) -> DatasetId:
        if source.get("file"):
            return self.file(source["file"])
        connection = source.get("connection")
        if source.get("table"):
            return self.table(connection, source.get("schema_name"), source["table"])
        return DatasetId(self.namespace(connection), f"query:{source['name']}")

    def output(self, output: dict[str, Any]) -> DatasetId:
        if output.get("file"):
            return self.file(output["file"])
        return self.table(output.get("connection"), output.get("schema_name"), output["table"])

    def logical_view(self, name: str) -> DatasetId:
        return DatasetId(f"aligned://{self.project['name']}", f"view.{name}")

    def file(self, location: str) -> DatasetId:
        if "://" in location:
            parts = urlsplit(location)
            return DatasetId(f"{parts.scheme}://{parts.netloc}", parts.path)
        return DatasetId("file", str((self.root / location).resolve()))

    def table(self, connection: str | None, schema: str | None, table: str) -> DatasetId:
        info = self._connection(connection)
        if info.get("type") == "postgres":
            database = _postgres_parts(info)[2]
            return DatasetId(self.namespace(connection), f"{database}.{schema or 'public'}.{table}")
        return DatasetId(self.namespace(connection), f"{schema or 'main'}.{table}")

    def namespace(self, connection: str | None) -> str:
        info = self._connection(connection)
        if info.get("type") == "postgres":
            host, port, _ = _postgres_parts(info)
            return f"postgres://{host}:{port}"
        if info.get("type") == "duckdb":
            path = info.get("path") or ":memory:"
            return f"duckdb://{path if path == ':memory:' else (self.root / path).resolve()}"
        return f"{info.get('type', 'unknown')}://{connection or self.default_connection}"

    def _connection(self, name: str | None) -> dict[str, Any]:
        connections: dict[str, Any] = self.project.get("connections") or {}
        found: dict[str, Any] = connections.get(name or self.default_connection) or {}
        return found


def _postgres_parts(info: dict[str, Any]) -> tuple[str, int, str]:
    """(host, port, database) of a postgres connection; never its user or password."""
    from aligned_cli.parse.jinja import needs_rendering, render_deferred

    dsn = str(info.get("dsn") or "")
    try:
        if needs_rendering(dsn):
            dsn = render_deferred(dsn, f"connection '{info.get('name')}'")
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(dsn)
    except Exception:  # an unset env var or a bad DSN: name it by the connection instead
        return str(info.get("name") or "unknown"), 5432, "postgres"
    host = str(params.get("host") or "localhost")
    return host, int(params.get("port") or 5432), str(params.get("dbname") or "postgres")
