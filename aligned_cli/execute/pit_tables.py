"""Indexed relations for a model's point-in-time lookups on PostgreSQL (run path only).

The compiled model reads each temporal view through the view's compiled query, which
no index can serve, so every `LEFT JOIN LATERAL ... LIMIT 1` would scan the view.
Before building a model we therefore give each temporal view a relation the lookup
can walk top-1 through an index whose columns and directions are exactly its ORDER
BY (`pit_index_statement`):

- the user's table itself, when the view reads it unchanged (`pit_direct`) and an
  index on (entities, event_timestamp) exists;
- otherwise a TEMP table built from the view's compiled query, indexed and analyzed
  (autovacuum never analyzes temporary tables). When only the user's index was
  missing we say once which CREATE INDEX would let the next run skip the copy.

Temporary tables are dropped when the model is done, whatever happened; being TEMP
they also vanish with the session if this process dies before it can drop them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlglot import exp

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.dialects.base import ident
from aligned_cli.compile.pit import pit_index_statement
from aligned_cli.core.ir import FeatureView, Model, Project
from aligned_cli.execute.adapters.base import Adapter
from aligned_cli.execute.adapters.sql_names import temp_name
from aligned_cli.execute.pit_direct import UserTable, direct_table

Warn = Callable[[str], None]


@contextmanager
def indexed_view_relations(
    adapter: Adapter, project: Project, model: Model, sql_of: Callable[[str], str],
    *, warn: Warn, warned: set[str],
) -> Iterator[tuple[dict[str, exp.Expr], bool]]:  # fmt: skip
    """(view name -> an indexed relation holding its rows, for `model_query`; whether
    any of them is a temporary copy rather than the user's table).

    Empty on engines whose point-in-time joins use no index (DuckDB sorts). `sql_of`
    gives a view's compiled SQL; `warned` (shared by the run) keeps each missing-index
    warning to one.
    """
    relations: dict[str, exp.Expr] = {}
    if not adapter.indexed_lookups:
        yield relations, False
        return
    created: list[str] = []
    try:
        for view in project.lookup_views(model):
            user = direct_table(adapter, project, view)
            if user is not None and _indexed(adapter, user, view):
                relations[view.name] = user.rows
                continue
            if user is not None:
                _warn_missing_index(user, view, warn, warned)
            table = exp.Table(this=ident(temp_name()))
            created.append(table.sql(dialect="postgres"))
            relations[view.name] = _temp_copy(adapter, view, table, sql_of(view.name))
        yield relations, bool(created)
    finally:
        for relation in created:
            adapter.drop_quietly(relation)


def _temp_copy(adapter: Adapter, view: FeatureView, table: exp.Table, view_sql: str) -> exp.Expr:
    """The view's rows in a TEMP table with its lookup index; a SELECT reading it."""
    relation = table.sql(dialect="postgres")
    adapter.create_table_as(relation, view_sql, temporary=True)
    statement = pit_index_statement(view, table, get_dialect("postgres"))
    if statement is not None:
        adapter.ensure_index(statement.sql(dialect="postgres"))
    adapter.execute(f"ANALYZE {relation}")
    # A SELECT, not the bare table: the lookup wraps its relation in a subquery.
    return exp.select(exp.Star()).from_(table.copy())


def _indexed(adapter: Adapter, user: UserTable, view: FeatureView) -> bool:
    """An index leading with (entities, event_timestamp): the planner walks it backwards
    to the newest row; ties on `created` are then few enough to sort."""
    assert view.event_timestamp is not None
    columns = [*view.entities, view.event_timestamp]
    return adapter.has_index_on(user.schema, user.table.name, columns)


def _warn_missing_index(user: UserTable, view: FeatureView, warn: Warn, warned: set[str]) -> None:
    name = user.table.sql(dialect="postgres")
    if name in warned:
        return
    warned.add(name)
    statement = pit_index_statement(view, user.table, get_dialect("postgres"))
    if statement is None:
        return
    warn(
        f"view '{view.name}' reads table {name}, which has no index for point-in-time"
        " lookups; this run copied it into an indexed temporary table. Create the index"
        f" to let aligned read the table directly: {statement.sql(dialect='postgres')};"
    )
