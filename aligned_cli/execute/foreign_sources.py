"""Sources on another connection, copied into the run's engine.

A source declaring `connection: warehouse` (PostgreSQL) read by a run on DuckDB, or
one on a second DuckDB database, is queried on its own connection, its mapping
applied there, and its rows are written to `aligned_staging.<project>__<source>` on
the run's engine, where the compiled SQL reads them (`Project.on_other_connection`).
Tables on another server can change without a trace here, so every run copies them
anew; the staged table is replaced atomically, like any output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aligned_cli.core.ir import Project, Source
from aligned_cli.core.naming import STAGING_SCHEMA, staging_table

if TYPE_CHECKING:
    from aligned_cli.execute.adapters.base import Adapter


def stage_foreign_source(adapter: Adapter, project: Project, source: Source) -> int:
    """Copy `source`'s rows from its own connection into `adapter`'s engine; rows copied."""
    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.relations import source_query
    from aligned_cli.execute.adapters import open_adapter
    from aligned_cli.execute.adapters.sql_names import ident, table_name, temp_name

    assert source.connection is not None
    connection = project.connections[source.connection]
    with open_adapter(connection, Path(project.root)) as origin:
        dialect = get_dialect(origin.dialect)
        query = source_query(project, source, dialect, at_origin=True)
        rows = origin.fetch_arrow(dialect.sql(query))
    arrow_view, tmp = temp_name(), temp_name()
    adapter.register_arrow(arrow_view, rows)
    try:
        adapter.ensure_schema(STAGING_SCHEMA)
        staged = adapter.create_table_as(
            table_name(STAGING_SCHEMA, tmp, adapter.dialect),
            f"SELECT * FROM {ident(arrow_view, adapter.dialect)}",
            temporary=False,
        )
        adapter.swap_table(STAGING_SCHEMA, tmp, staging_table(project.name, source.name))
    except BaseException:
        adapter.drop_quietly(table_name(STAGING_SCHEMA, tmp, adapter.dialect))
        raise
    finally:
        adapter.unregister(arrow_view)
    return staged
