"""Reusing a model's run-time SQL while neither the compile nor the catalog changed.

On engines where `aligned run` recompiles a model (a spine whose columns only the
engine knows, PostgreSQL's indexed point-in-time relations; see `model_sql`), the SQL
it builds is a function of the compiled project and of what the engine's catalog
says about the tables involved: their columns, types and indexes. So the SQL is kept
under `target/.aligned_cache/run_sql.json`, keyed by the compile's fingerprint (a
new compile starts the file afresh) and by a digest of that catalog state. A rerun
then checks the catalog in one query instead of describing, probing and compiling
again (which also spares importing sqlglot).

Only runs whose every decision that digest covers are cached: a table spine (or one
with known columns) and views read from the user's tables directly. A run that copied
a view into a temporary table, or described a query spine, is never cached.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aligned_cli.compile.compiled import CompiledProject
from aligned_cli.core.ir import Model, Project
from aligned_cli.execute.adapters.base import Adapter

FILE_NAME = "run_sql.json"
MAX_ENTRIES = 64  # catalog states remembered per compile; beyond, start afresh


@dataclass(frozen=True)
class RunSqlKey:
    """Where a run's SQL is cached, and under which entry."""

    path: Path
    compile_key: str
    entry: str


def run_sql_key(
    compiled: CompiledProject, adapter: Adapter, uid: str, model: Model
) -> RunSqlKey | None:
    """The cache entry of `model`'s SQL for this run, or None when it cannot be cached."""
    project = compiled.project
    compile_key = compiled.memo.get("compile_key")
    if not isinstance(compile_key, str):
        return None  # the compile cache is off: nothing to key the entry by
    tables = _catalog_tables(project, adapter, model)
    if tables is None:
        return None
    digest = adapter.catalog_digest(tables)
    if digest is None:
        return None
    return RunSqlKey(
        compiled.cache_dir / FILE_NAME, compile_key, f"{uid}\t{adapter.connection_name}\t{digest}"
    )


def load(key: RunSqlKey) -> str | None:
    entries = _entries(key)
    sql = entries.get(key.entry)
    return sql if isinstance(sql, str) else None


def store(key: RunSqlKey, sql: str) -> None:
    """Remember `sql`; failing to write never fails the run."""
    entries = _entries(key)
    if len(entries) >= MAX_ENTRIES:
        entries = {}
    entries[key.entry] = sql
    try:
        key.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=key.path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"compile_key": key.compile_key, "sql": entries}, stream)
        os.replace(temp, key.path)
    except OSError:
        Path(locals().get("temp", key.path.with_suffix(".none"))).unlink(missing_ok=True)


def _entries(key: RunSqlKey) -> dict[str, object]:
    try:
        data = json.loads(key.path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("compile_key") != key.compile_key:
        return {}
    entries = data.get("sql")
    return dict(entries) if isinstance(entries, dict) else {}


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
        if spine.kind != "table" or project.on_other_engine(spine, adapter.dialect):
            return None
        assert spine.table is not None
        tables.append((spine.schema_name, spine.table))
    for view in project.lookup_views(model):
        source = project.sources.get(view.source.name) if view.source.kind == "source" else None
        if source is not None and source.kind == "table" and source.table:
            tables.append((source.schema_name, source.table))
    return tables
