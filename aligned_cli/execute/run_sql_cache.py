"""Reusing a model's run-time SQL while neither the compile nor the catalog changed.

On engines where `aligned run` recompiles a model (a spine whose columns only the
engine knows, PostgreSQL's indexed point-in-time relations; see `model_sql`), the SQL
it builds is a function of the compiled project and of what the engine's catalog
says about the tables involved: their columns, types and indexes. So the SQL is kept
in `target/.aligned_cache/run_sql/<model>.<connection>.json` with the identity of the
compile (`CompiledProject.compile_id`, new for every compile) and a digest of that
catalog state. A rerun then checks the catalog in one query instead of describing,
probing and compiling again (which also spares importing sqlglot).

Only runs whose every decision that digest covers are cached: a table spine (or one
with known columns) and views read from the user's tables directly. A run that copied
a view into a temporary table, or described a query spine, is never cached.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from aligned_cli.compile.compiled import CompiledProject
from aligned_cli.core.ir import Model, Project
from aligned_cli.execute.adapters.base import Adapter

FOLDER = "run_sql"


@dataclass(frozen=True)
class RunSqlKey:
    """Where a model's run-time SQL is cached, and what it must have been built for."""

    path: Path
    compile_id: str
    digest: str


def run_sql_key(
    compiled: CompiledProject, adapter: Adapter, uid: str, model: Model
) -> RunSqlKey | None:
    """The cache entry of `model`'s SQL for this run, or None when it cannot be cached."""
    if compiled.compile_id is None:
        return None  # a compile the compile cache does not keep: nothing to key by
    tables = _catalog_tables(compiled.project, adapter, model)
    if tables is None:
        return None
    digest = adapter.catalog_digest(tables)
    if digest is None:
        return None
    path = compiled.cache_dir / FOLDER / f"{uid}.{adapter.connection_name}.json"
    return RunSqlKey(path, compiled.compile_id, digest)


def load(key: RunSqlKey) -> str | None:
    try:
        entry = json.loads(key.path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict):
        return None
    if entry.get("compile_id") != key.compile_id or entry.get("digest") != key.digest:
        return None
    sql = entry.get("sql")
    return sql if isinstance(sql, str) else None


def store(key: RunSqlKey, sql: str) -> None:
    """Remember `sql` (replacing what the model had); failing to write never fails the run."""
    from aligned_cli.artifacts.writer import write_text_atomic

    entry = {"compile_id": key.compile_id, "digest": key.digest, "sql": sql}
    with contextlib.suppress(OSError):
        write_text_atomic(key.path, json.dumps(entry), durable=False)


def _catalog_tables(
    project: Project, adapter: Adapter, model: Model
) -> list[tuple[str | None, str]] | None:
    """(schema, table) of every user table the run-time SQL depends on: the spine and
    the sources of the model's point-in-time views; None when something else (a query
    spine, whose columns come from running it) decides it."""
    assert model.spine is not None
    spine = project.sources[model.spine.source]
    tables: list[tuple[str | None, str]] = []
    if spine.columns is None:
        if spine.kind != "table" or project.on_other_connection(spine, adapter.dialect):
            return None
        assert spine.table is not None
        tables.append((spine.schema_name, spine.table))
    for view in project.lookup_views(model):
        source = project.sources.get(view.source.name) if view.source.kind == "source" else None
        if source is not None and source.kind == "table" and source.table:
            tables.append((source.schema_name, source.table))
    return tables
