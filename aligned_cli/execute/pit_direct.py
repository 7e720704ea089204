"""Whether a temporal view's point-in-time lookup may read the user's table itself.

A view's compiled query casts its columns and converts its timestamps (a CASE on
`pg_typeof`), which no index can serve. When the view is a plain projection of a
table whose columns already have the declared types, that query returns exactly the
table's rows (every cast is the identity), so the lookup may read the table and walk
the user's own index instead of a copy. Anything we cannot prove identical is
copied (see `pit_tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.dialects.base import column
from aligned_cli.compile.relations import source_relation
from aligned_cli.compile.views import output_columns
from aligned_cli.core.ir import FeatureView, Project
from aligned_cli.execute.adapters.base import Adapter

# Table kinds an index can be created on: ordinary, partitioned, materialized view.
_INDEXABLE_KINDS = ("r", "p", "m")
_INSTANT = "timestamp with time zone"
_NAIVE = "timestamp without time zone"


@dataclass(frozen=True)
class UserTable:
    """A table that holds a view's rows exactly, as the lookup reads it."""

    table: exp.Table
    rows: exp.Select  # the view's columns, straight from `table`

    @property
    def schema(self) -> str | None:
        return self.table.db or None


def direct_table(adapter: Adapter, project: Project, view: FeatureView) -> UserTable | None:
    """The user table `view` reads unchanged, or None when its query transforms rows."""
    source = project.sources.get(view.source.name) if view.source.kind == "source" else None
    if source is None or source.kind != "table" or view.aggregations:
        return None
    if any(raw != new for raw, new in source.mapping.items()):
        return None
    if source.connection not in (None, adapter.connection_name):
        return None
    # Naive timestamps are read in `timezone`; the session compares them in UTC.
    if source.timezone not in (None, "UTC"):
        return None
    if any(f.is_derived for f in view.features):
        return None
    table = source_relation(source, get_dialect("postgres"))
    if not isinstance(table, exp.Table):
        return None
    actual = _column_types(adapter, table)
    wanted = _wanted_types(adapter, view)
    for name, accepted in wanted.items():
        if name not in actual or (accepted is not None and actual[name] not in accepted):
            return None
    rows = exp.select(*(column(c) for c in output_columns(view))).from_(table.copy())
    return UserTable(table=table, rows=rows)


def _wanted_types(adapter: Adapter, view: FeatureView) -> dict[str, frozenset[str] | None]:
    """Column -> the table types for which the view's cast is the identity (None: any)."""
    dialect = get_dialect("postgres")
    declared: dict[str, str | None] = {}
    times = {view.event_timestamp, view.created_timestamp} - {None}
    for name in output_columns(view):
        feature = view.feature(name)
        if name in times:
            declared[name] = None
        elif feature is not None and feature.dtype is not None:
            declared[name] = dialect.data_type(feature.dtype).sql(dialect="postgres")
        else:
            declared[name] = None  # an entity or an untyped feature passes through
    canonical = _canonical_types(adapter, [t for t in declared.values() if t])
    wanted: dict[str, frozenset[str] | None] = {}
    for name, spelled in declared.items():
        if name in times:
            # Only compared and ordered, never output: the session's UTC zone reads a
            # naive value exactly as the view's `AT TIME ZONE 'UTC'` would.
            wanted[name] = frozenset({_INSTANT, _NAIVE})
        elif spelled is None:
            wanted[name] = None
        else:
            wanted[name] = frozenset({canonical[spelled]})
    return wanted


def _canonical_types(adapter: Adapter, spelled: list[str]) -> dict[str, str]:
    """Type names as the catalog prints them (`TIMESTAMPTZ` -> `timestamp with time zone`)."""
    if not spelled:
        return {}
    rows = adapter.fetch_rows(
        "SELECT t, to_regtype(t)::text FROM unnest(%s::text[]) AS t", (sorted(set(spelled)),)
    )
    return {str(name): str(canonical) for name, canonical in rows}


def _column_types(adapter: Adapter, table: exp.Table) -> dict[str, str]:
    """Column -> type of `table`; empty when it is missing or cannot carry an index."""
    rows = adapter.fetch_rows(
        """
        SELECT a.attname::text, a.atttypid::regtype::text
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind = ANY(%s)
        """,
        (table.sql(dialect="postgres"), list(_INDEXABLE_KINDS)),
    )
    return {str(name): str(kind) for name, kind in rows}
