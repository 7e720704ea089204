"""The SQL compiler: project IR -> dialect SQL (sqlglot ASTs, pretty-printed).

Kept light to import: sqlglot and the compiler modules load on first use. Compiling
many nodes of one project shares a `CompileSession` (see `session.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlglot import exp

    from aligned_cli.compile.session import CompileSession
    from aligned_cli.core.ir import Project
    from aligned_cli.core.tests import DataTest


def new_session(project: Project, dialect: str) -> CompileSession:
    """A session rendering pretty SQL of `project` for `dialect`, shared by the
    `compile_*_sql` calls below (inheritance is resolved once, views rendered once)."""
    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.session import CompileSession

    return CompileSession(project, get_dialect(dialect), compose_text=True)


def compile_view_sql(
    project: Project, view: str, dialect: str, *, session: CompileSession | None = None
) -> str:
    """The rows of feature view `view` as pretty SQL for `dialect`."""
    if session is None:
        session = new_session(project, dialect)
    return session.view_sql(view)


def compile_model_sql(
    project: Project,
    model: str,
    dialect: str,
    *,
    spine_columns: list[str] | None = None,
    view_relations: Mapping[str, exp.Expr] | None = None,
    session: CompileSession | None = None,
) -> str:
    """The point-in-time training dataset of `model` as pretty SQL for `dialect`.

    `spine_columns` (when the spine's columns are known, e.g. read from its file)
    finds a spine `event_timestamp` column and renames features that clash.
    `view_relations` reads views from given relations holding their rows (the run
    path's indexed tables on PostgreSQL) instead of their compiled queries."""
    from aligned_cli.compile.pit import model_query

    if session is None:
        session = new_session(project, dialect)
    engine = session.dialect
    query = model_query(
        project,
        model,
        engine,
        spine_columns=spine_columns,
        view_relations=view_relations,
        session=session,
    )
    return engine.sql(query, copy=False)


def compile_test_sql(
    project: Project, test: DataTest, dialect: str, *, session: CompileSession | None = None
) -> str:
    """The failing rows of a data test (see `quality.py`)."""
    from aligned_cli.compile import quality

    return quality.compile_test_sql(project, test, dialect, session=session)


def resolve_project(project: Project) -> Project:
    """View inheritance and derived feature types resolved; views checked. Pure."""
    from aligned_cli.compile.spine_keys import check_spine_keys
    from aligned_cli.compile.time_columns import check_time_columns
    from aligned_cli.compile.views import resolve_project as resolve
    from aligned_cli.core.declared_values import check_declared_values

    resolved = resolve(project)
    # Once every feature's type is known:
    check_declared_values(resolved)
    check_time_columns(resolved)
    check_spine_keys(resolved)
    return resolved


__all__ = [
    "compile_model_sql",
    "compile_test_sql",
    "compile_view_sql",
    "new_session",
    "resolve_project",
]
