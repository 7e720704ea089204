"""Running a compiled query on the store's connection.

A `Plan` is SQL already compiled for the connection's dialect plus what the query
needs in place first: file sources staged (PostgreSQL) and the caller's entity
frame registered under `ENTITIES`. Each run opens its own session and closes it, so
a job can run from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import Connection, Project, Source
from aligned_cli.execute.adapters.files import resolve_path

if TYPE_CHECKING:
    import pyarrow as pa

    from aligned_cli.compile.dialects.base import Dialect
    from aligned_cli.execute.adapters.base import Adapter

ENTITIES = "__aligned_entities"

_DUCKDB_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@dataclass(frozen=True)
class Plan:
    sql: str
    sources: tuple[Source, ...] = ()
    entities: pa.Table | None = None


@dataclass(frozen=True)
class Engine:
    """The project and the connection a store runs its queries on."""

    project: Project
    connection: Connection

    @property
    def dialect(self) -> Dialect:
        from aligned_cli.compile.dialects import get_dialect

        return get_dialect(self.connection.type)

    def fetch_arrow(self, plan: Plan) -> pa.Table:
        with self._exclusive(), self._session(plan) as adapter:
            return adapter.fetch_arrow(plan.sql)

    def fetch_rows(self, plan: Plan) -> list[tuple[Any, ...]]:
        with self._exclusive(), self._session(plan) as adapter:
            return adapter.fetch_rows(plan.sql)

    def _exclusive(self) -> AbstractContextManager[object]:
        """One session at a time per DuckDB database file in this process.

        Why: DuckDB (2.0) shares one database instance between connections to a
        file, and concurrent `register` + query from several threads intermittently
        fails with "Table Function with name python_arrow_scan does not exist".
        DuckDB parallelises each query itself, so little is lost.
        """
        path = self.connection.path or ":memory:"
        if self.connection.type != "duckdb" or path == ":memory:":
            return nullcontext()
        key = str(resolve_path(Path(self.project.root), path))
        with _LOCKS_GUARD:
            return _DUCKDB_LOCKS.setdefault(key, threading.Lock())

    def _session(self, plan: Plan) -> Adapter:
        from aligned_cli.execute.adapters import open_adapter

        adapter = open_adapter(self.connection, Path(self.project.root))
        try:
            for source in plan.sources:
                # A no-op where files are read in place.
                adapter.stage_source(source, project=self.project.name)
            if plan.entities is not None:
                adapter.register_arrow(ENTITIES, plan.entities)
        except BaseException:
            adapter.close()
            raise
        # Closing the session drops the registered entities with it.
        return adapter


def sources_read(project: Project, view_names: Iterable[str]) -> tuple[Source, ...]:
    """The file sources the views read, through views built on views."""
    found: dict[str, Source] = {}
    for name in view_names:
        seen: set[str] = set()
        view = project.views.get(name)
        while view is not None and view.name not in seen:
            seen.add(view.name)
            if view.source.kind == "view":
                view = project.views.get(view.source.name)
                continue
            source = project.sources.get(view.source.name)
            if source is not None and source.kind == "file":
                found.setdefault(source.name, source)
            view = None
    return tuple(found[n] for n in sorted(found))
