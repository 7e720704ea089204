"""The SQL of `materialize` for window aggregations: every entity's aggregates as of
one instant (the materialization time), computed by the compiler's point-in-time
aggregation (SPEC §4b) over a spine of the view's distinct entities at that instant.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect, column, ident
from aligned_cli.compile.pit import features_query
from aligned_cli.compile.session import CompileSession
from aligned_cli.core.ir import FeatureRef, Project
from aligned_cli.online.catalog import AS_OF


def aggregates_query(
    project: Project, view_name: str, as_of: datetime, dialect: Dialect
) -> exp.Query:
    """Entity keys, `AS_OF` and every aggregation of the view, one row per entity that
    has any row (an entity whose windows are empty gets count 0 and NULLs, replacing
    what an earlier materialize stored)."""
    session = CompileSession(project, dialect)
    view = session.view(view_name)
    keys = [column(k) for k in view.entities]
    text = as_of.astimezone(UTC).isoformat()
    instant = exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build("TIMESTAMPTZ"))
    present = [exp.Not(this=exp.Is(this=k.copy(), expression=exp.Null())) for k in keys]
    entities = (
        exp.select(*keys, exp.alias_(instant, ident(AS_OF)))
        .distinct()
        .from_(
            exp.Subquery(
                this=session.view_query(view_name), alias=exp.TableAlias(this=ident("rows"))
            )
        )
        .where(exp.and_(*present))
    )
    refs = [FeatureRef(view=view_name, feature=a.name) for a in view.aggregations]
    return features_query(
        project,
        refs,
        entities,
        [*view.entities, AS_OF],
        AS_OF,
        dialect,
        session=session,
    )
