"""Which columns a feature reads, and where each of those columns comes from.

A feature's inputs resolve, one view at a time, to one of:
- another feature of the same view (a derived feature reading `age`),
- a feature of the upstream view (view-on-view pass-through or expression input),
- a non-feature column of the upstream view (its entity or timestamp keys),
- a raw column of the view's source, named as in the file (before `mapping`).
Both the DAG (feature -> feature edges) and feature lineage use this one resolver.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from aligned_cli.core.ir import Aggregation, Feature, FeatureView, Project
from aligned_cli.errors import ProjectError, did_you_mean


@dataclass(frozen=True)
class FeatureInput:
    """A declared feature (or aggregation) of `view`."""

    view: str
    feature: str


@dataclass(frozen=True)
class ViewColumnInput:
    """A column `view` outputs without declaring it as a feature (an entity or timestamp)."""

    view: str
    column: str


@dataclass(frozen=True)
class RawInput:
    """A column of a source as it is stored (the raw name, before `mapping`)."""

    source: str
    column: str


ColumnInput = FeatureInput | ViewColumnInput | RawInput
# (view, feature) -> its `feature_inputs`, computed once for the DAG and the lineage.
FeatureInputs = dict[tuple[str, str], list[ColumnInput]]


def expression_columns(expression: str, dialect: str = "duckdb") -> list[str]:
    """The column names a SQL expression reads, in first-use order.

    Raises sqlglot's ParseError on bad SQL.
    """
    return list(_expression_columns(expression, dialect))


@lru_cache(maxsize=65536)
def _expression_columns(expression: str, dialect: str) -> tuple[str, ...]:
    # Cached: the DAG and the lineage both ask, and projects repeat expressions.
    tree = sqlglot.parse_one(expression, read=dialect)
    names: list[str] = []
    for column in tree.find_all(exp.Column):
        if column.is_star or not column.name:
            continue
        if column.name not in names:
            names.append(column.name)
    return tuple(names)


def feature_inputs(
    project: Project, view: FeatureView, feature: Feature | Aggregation
) -> list[ColumnInput]:
    """Everything `feature` of `view` is computed from, one hop upstream.

    Raises ProjectError for an expression that does not parse or names a column the
    view cannot see. The view's source (or upstream view) must already exist.
    """
    if isinstance(feature, Aggregation):
        columns = [feature.of] if feature.of else []
    elif feature.expression is not None:
        columns = _expression_columns_or_error(project, view, feature)
    else:
        # A plain feature passes its source's (or upstream view's) column through.
        return [_upstream_column(project, view, feature.name, feature)]
    return [resolve_column(project, view, column, feature) for column in columns]


def resolve_column(
    project: Project, view: FeatureView, column: str, reader: Feature | Aggregation | None
) -> ColumnInput:
    """Where `column`, as seen inside `view`, comes from.

    A feature naming itself (`age: {expression: coalesce(age, 0)}`) reads the
    upstream column of that name, as in SQL's `select coalesce(age, 0) as age`.
    """
    own = _match(column, [n for n in view.feature_names if reader is None or n != reader.name])
    if own is not None:
        return FeatureInput(view.name, own)
    return _upstream_column(project, view, column, reader)


def raw_column_name(mapping: dict[str, str], column: str) -> str:
    """The stored name of a column called `column` after `mapping` (raw -> new)."""
    if not mapping:
        return column  # most sources rename nothing
    renamed = {new: raw for raw, new in sorted(mapping.items())}
    found = _match(column, list(renamed))
    return renamed[found] if found is not None else column


def _upstream_column(
    project: Project, view: FeatureView, column: str, reader: Feature | Aggregation | None
) -> ColumnInput:
    if view.source.kind == "source":
        source = project.sources[view.source.name]
        return RawInput(source.name, raw_column_name(source.mapping, column))
    upstream = project.views[view.source.name]
    feature = _match(column, upstream.feature_names)
    if feature is not None:
        return FeatureInput(upstream.name, feature)
    key = _match(column, upstream.key_columns)
    if key is not None:
        return ViewColumnInput(upstream.name, key)
    visible = upstream.feature_names + upstream.key_columns
    where = f"feature '{reader.name}' of view '{view.name}'" if reader else f"view '{view.name}'"
    raise ProjectError(
        f"{where} reads column '{column}', but its source view '{upstream.name}' "
        "has no such feature or key column",
        location=(reader.location if reader else None) or view.location,
        hint=did_you_mean(column, visible),
    )


def _expression_columns_or_error(
    project: Project, view: FeatureView, feature: Feature
) -> list[str]:
    assert feature.expression is not None
    try:
        return expression_columns(feature.expression, project.dialect)
    except SqlglotError as error:
        raise ProjectError(
            f"the expression of feature '{view.name}:{feature.name}' is not valid SQL: "
            f"{feature.expression!r}",
            location=feature.location or view.location,
            hint=str(error).splitlines()[0] if str(error) else None,
        ) from error


def _match(column: str, names: list[str]) -> str | None:
    """`column` among `names`: exact, else the one case-insensitive match.

    SQL identifiers are case-insensitive in DuckDB and Postgres (unquoted), so an
    expression reading `Age` still means the feature `age`.
    """
    if column in names:
        return column
    folded = [n for n in names if n.casefold() == column.casefold()]
    return folded[0] if len(folded) == 1 else None
