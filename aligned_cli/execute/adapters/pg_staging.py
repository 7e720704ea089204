"""Staging file sources into PostgreSQL, reloaded only when the files change.

`aligned_staging.<source>` holds a file source's rows with columns renamed by its
mapping; `aligned_staging._aligned_files` remembers the hash each was loaded from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import Source
from aligned_cli.errors import ProjectError
from aligned_cli.execute.adapters.file_io import read_source_file
from aligned_cli.execute.adapters.files import expand_source_files, files_sha256, is_url
from aligned_cli.execute.adapters.pg_arrow import copy_arrow, create_table_sql
from aligned_cli.execute.adapters.sql_names import ident, table_name, temp_name
from aligned_cli.objectstore.urls import is_remote

if TYPE_CHECKING:
    import psycopg

STAGING_SCHEMA = "aligned_staging"
BOOKKEEPING_TABLE = "_aligned_files"
# Bump when the staged layout changes, so every source is reloaded once.
_STAGING_VERSION = 1


def staging_relation(source_name: str) -> str:
    """The quoted name compiled PostgreSQL SQL reads a staged file source from."""
    return table_name(STAGING_SCHEMA, source_name, "postgres")


def stage_file_source(
    conn: psycopg.Connection[Any], project_root: Path, source: Source, *, force: bool = False
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
    if not force and _loaded_digest(conn, source.name) == digest:
        return False

    tmp = table_name(STAGING_SCHEMA, temp_name(), "postgres")
    with conn.transaction(), read_source_file(project_root, source) as reader:
        conn.execute(create_table_sql(tmp, reader.schema))
        copy_arrow(conn, tmp, iter(reader), reader.schema)
        conn.execute(f"DROP TABLE IF EXISTS {staging_relation(source.name)}")
        conn.execute(f"ALTER TABLE {tmp} RENAME TO {ident(source.name, 'postgres')}")
        conn.execute(
            f"INSERT INTO {_bookkeeping()} (source, sha256, loaded_at) VALUES (%s, %s, now()) "
            "ON CONFLICT (source) DO UPDATE SET sha256 = EXCLUDED.sha256, "
            "loaded_at = EXCLUDED.loaded_at",
            (source.name, digest),
        )
    return True


def _bookkeeping() -> str:
    return table_name(STAGING_SCHEMA, BOOKKEEPING_TABLE, "postgres")


def _ensure_bookkeeping(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(STAGING_SCHEMA, 'postgres')}")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {_bookkeeping()} ("
        "source text PRIMARY KEY, sha256 text NOT NULL, loaded_at timestamptz NOT NULL)"
    )


def _loaded_digest(conn: psycopg.Connection[Any], source_name: str) -> str | None:
    """The hash `source_name` was last loaded from, if its staged table still exists."""
    row = conn.execute(
        f"SELECT f.sha256 FROM {_bookkeeping()} f "
        "WHERE f.source = %s AND to_regclass(%s) IS NOT NULL",
        (source_name, staging_relation(source_name)),
    ).fetchone()
    return str(row[0]) if row else None
