"""Staging file sources into PostgreSQL, reloaded only when the files change.

`aligned_staging.<project>__<source>` (`core.naming.staging_table`) holds a file
source's rows with columns renamed by its mapping; `aligned_staging._aligned_files`
remembers, per staged table, the hash it was loaded from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import Source
from aligned_cli.core.naming import STAGING_SCHEMA, staging_table
from aligned_cli.errors import ProjectError
from aligned_cli.execute.adapters.file_io import read_source_file
from aligned_cli.execute.adapters.files import expand_source_files, files_sha256, is_url
from aligned_cli.execute.adapters.pg_arrow import copy_arrow, create_table_sql
from aligned_cli.execute.adapters.sql_names import ident, table_name, temp_name
from aligned_cli.objectstore.urls import is_remote

if TYPE_CHECKING:
    import psycopg

BOOKKEEPING_TABLE = "_aligned_files"
# Bump when the staged layout changes, so every source is reloaded once.
_STAGING_VERSION = 1


def staging_relation(project: str, source_name: str) -> str:
    """The quoted name compiled PostgreSQL SQL reads a staged file source from."""
    return table_name(STAGING_SCHEMA, staging_table(project, source_name), "postgres")


def stage_file_source(
    conn: psycopg.Connection[Any],
    project_root: Path,
    project: str,
    source: Source,
    *,
    force: bool = False,
) -> bool:
    """(Re)load `source` unless its files are unchanged; True when it was loaded.

    Everything happens in one transaction: readers see the old table or the new
    one, and a failure or interrupt leaves no half-loaded or temporary table.
    """
    if source.kind != "file" or source.file is None:
        return False
    options = {"v": _STAGING_VERSION, "format": source.file_format, "mapping": source.mapping}
    salt = json.dumps(options, sort_keys=True)
    if is_remote(source.file):
        # Object-store files are read by DuckDB like local ones; their ETags stand in
        # for a content hash, so an unchanged bucket is not downloaded again.
        from aligned_cli.objectstore import Remote

        digest = Remote(source.file, project_root).fingerprint(salt)
    elif is_url(source.file):
        raise ProjectError(
            f"source '{source.name}' reads a URL, which aligned cannot stage into PostgreSQL",
            location=source.location,
            hint="download the file into the project, or load it into a table yourself",
        )
    else:
        files = expand_source_files(project_root, source)
        digest = files_sha256(project_root, files, salt=salt)
    _ensure_bookkeeping(conn)
    table = staging_table(project, source.name)
    if not force and _loaded_digest(conn, table) == digest:
        return False

    tmp = table_name(STAGING_SCHEMA, temp_name(), "postgres")
    with conn.transaction(), read_source_file(project_root, source) as reader:
        conn.execute(create_table_sql(tmp, reader.schema))
        copy_arrow(conn, tmp, iter(reader), reader.schema)
        conn.execute(f"DROP TABLE IF EXISTS {_staged(table)}")
        conn.execute(f"ALTER TABLE {tmp} RENAME TO {ident(table, 'postgres')}")
        conn.execute(
            f"INSERT INTO {_bookkeeping()} (relation, project, source, sha256, loaded_at) "
            "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (relation) DO UPDATE SET "
            "sha256 = EXCLUDED.sha256, loaded_at = EXCLUDED.loaded_at",
            (table, project, source.name, digest),
        )
    return True


def _staged(table: str) -> str:
    return table_name(STAGING_SCHEMA, table, "postgres")


def _bookkeeping() -> str:
    return table_name(STAGING_SCHEMA, BOOKKEEPING_TABLE, "postgres")


def _ensure_bookkeeping(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(STAGING_SCHEMA, 'postgres')}")
    # Keyed by the staged table: a source name alone is not unique across the
    # projects sharing this database. `project` and `source` say whose it is.
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {_bookkeeping()} ("
        "relation text PRIMARY KEY, sha256 text NOT NULL, loaded_at timestamptz NOT NULL, "
        "project text, source text)"
    )
    if not _keyed_by_source(conn):
        return
    with conn.transaction():
        conn.execute(f"LOCK TABLE {_bookkeeping()} IN ACCESS EXCLUSIVE MODE")
        if _keyed_by_source(conn):  # not migrated by another session meanwhile
            # Written before project namespaces, keyed by source name, which was also
            # the staged table's name: the key keeps its meaning as `relation`.
            conn.execute(f"ALTER TABLE {_bookkeeping()} RENAME COLUMN source TO relation")
            conn.execute(
                f"ALTER TABLE {_bookkeeping()} ADD COLUMN project text, ADD COLUMN source text"
            )


def _keyed_by_source(conn: psycopg.Connection[Any]) -> bool:
    """Whether the bookkeeping table has the layout from before project namespaces."""
    row = conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attname = 'relation' AND NOT attisdropped)",
        (_bookkeeping(),),
    ).fetchone()
    return bool(row and row[0])


def _loaded_digest(conn: psycopg.Connection[Any], table: str) -> str | None:
    """The hash `table` was last loaded from, if it still exists."""
    row = conn.execute(
        f"SELECT f.sha256 FROM {_bookkeeping()} f "
        "WHERE f.relation = %s AND to_regclass(%s) IS NOT NULL",
        (table, _staged(table)),
    ).fetchone()
    return str(row[0]) if row else None
