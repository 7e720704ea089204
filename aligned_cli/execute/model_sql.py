"""The SQL `aligned run` builds a model with: the compiled SQL, or a run-time recompile.

Compile time cannot know everything the run knows. Two things make us recompile the
model (the compiled artifact stays as it is):

- a table or query spine: its columns are read from the engine, so a column named
  `event_timestamp` is the spine's timestamp (SPEC §4) and name clashes are exact,
  as they already are for file spines whose columns are read at compile time;
- on PostgreSQL, indexed relations for the point-in-time lookups (`pit_tables`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aligned_cli.core.ir import Model, Project, Source
from aligned_cli.execute.adapters.base import Adapter

if TYPE_CHECKING:
    from aligned_cli.compile.compiled import CompiledProject
    from aligned_cli.execute.pit_tables import Warn

# Engines whose spines we describe at run time (others run the compiled SQL as is).
DESCRIBED = ("duckdb", "postgres")


@contextmanager
def run_model_sql(
    compiled: CompiledProject,
    adapter: Adapter,
    uid: str,
    model: Model,
    *,
    warn: Warn | None,
    warned: set[str],
) -> Iterator[str]:
    """The model's SQL for this run; the relations it reads live while the block runs."""
    project = compiled.project
    assert model.spine is not None  # models without a spine are skipped before this
    spine = project.sources[model.spine.source]
    columns = list(spine.columns) if spine.columns is not None else None
    described = columns is None and adapter.dialect in DESCRIBED
    if not described and not (adapter.indexed_lookups and project.lookup_views(model)):
        yield compiled.sql[uid][adapter.dialect]  # nothing the compile did not know
        return
    from aligned_cli.execute import run_sql_cache

    cache_key = run_sql_cache.run_sql_key(compiled, adapter, uid, model)
    cached = run_sql_cache.load(cache_key) if cache_key is not None else None
    if cached is not None:
        yield cached  # the same compile and catalog: the same decisions, the same SQL
        return
    from aligned_cli.compile import compile_model_sql
    from aligned_cli.execute.pit_tables import indexed_view_relations
    from aligned_cli.graph.ids import view_id

    if described:
        columns = described_columns(adapter, project, spine)

    def view_sql(view: str) -> str:
        return compiled.sql[view_id(project.name, view)][adapter.dialect]

    with indexed_view_relations(
        adapter, project, model, view_sql, warn=warn or _ignore, warned=warned
    ) as (relations, copied):
        if not relations and not described:
            sql = compiled.sql[uid][adapter.dialect]
        else:
            sql = compile_model_sql(
                project,
                model.name,
                adapter.dialect,
                spine_columns=columns,
                view_relations=relations or None,
            )
        if cache_key is not None and not copied:
            run_sql_cache.store(cache_key, sql)
        yield sql


def described_columns(adapter: Adapter, project: Project, source: Source) -> list[str]:
    """The columns of `source` as the engine sees them now (no row is read)."""
    from sqlglot import exp

    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.relations import source_query

    dialect = get_dialect(adapter.dialect)
    query = exp.select(exp.Star()).from_(source_query(project, source, dialect).subquery("q"))
    return adapter.query_columns(dialect.sql(query.limit(0), copy=False))


def _ignore(message: str) -> None:
    del message


__all__ = ["described_columns", "run_model_sql"]
