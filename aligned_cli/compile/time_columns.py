"""A view's event and created timestamps name a date, a timestamp or text, checked at
compile time where the column's type is known.

Every row's time is read as an instant (`Dialect.to_instant`): a CAST to TIMESTAMP,
which DuckDB and PostgreSQL both define for dates, timestamps and text holding one
(an ISO 8601 string in a csv, say), and neither for a number, a boolean or JSON:
`fare` named as `event_timestamp` would fail only when `aligned run` reads the view,
with the engine's message. (Epoch seconds are a number: a derived view can turn them
into a timestamp with `to_timestamp(epoch)` in a view that a view with `event_timestamp`
is built on; a view's own derived feature cannot be its time.)

The types checked are the feature's declared type when the view declares the column,
and what it reads: the parent view's output type, or the source file's column type
(`Source.columns`); columns of tables and queries are known only at run time and pass.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.expressions import DType as T

from aligned_cli.compile.expressions import duckdb_type
from aligned_cli.compile.views import output_types
from aligned_cli.core.ir import FeatureView, Project
from aligned_cli.core.location import Location
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError

_TIME_TYPES = frozenset({DataType.DATE, DataType.TIMESTAMP, DataType.STRING})
# DuckDB column types (as DESCRIBE spells them) a CAST to TIMESTAMP reads; anything
# else that sqlglot knows (numbers, BOOLEAN, JSON, lists, BLOB, UUID, TIME, INTERVAL)
# is refused, a type it does not know is left to the engine.
_SOURCE_TIME_TYPES = (
    exp.DataType.TEXT_TYPES | exp.DataType.TEMPORAL_TYPES - {T.TIME, T.TIMETZ}
) | {T.UNKNOWN, T.USERDEFINED, T.NULL}


def check_time_columns(project: Project) -> None:
    """Raise a located ProjectError for the first view whose `event_timestamp` or
    `created_timestamp` names a column of a known type that is not a time."""
    for view in project.views.values():
        for role in ("event_timestamp", "created_timestamp"):
            name = getattr(view, role)
            if not name:
                continue
            feature = view.feature(name)
            if feature is not None and feature.is_derived:
                # Rows are placed in time by what the view reads, before its own
                # derived features exist: the run would not find the column.
                raise ProjectError(
                    f"view '{view.name}': {role} '{name}' is a derived feature of the "
                    "view itself; a view's times are read from its source's rows",
                    location=feature.location or view.location,
                    hint=_DERIVED_TIME_HINT.format(role=role, name=name),
                )
            found = _column_type(project, view, name)
            if found is None:
                continue
            shown, location = found
            raise ProjectError(
                f"view '{view.name}': {role} '{name}' is {shown}, not a date or timestamp",
                location=location or view.location,
                hint=f"name a date or timestamp column (or text holding ISO 8601 times) as "
                f"`{role}:`; for epoch seconds, derive `to_timestamp({name})` in a view "
                f"without `{role}` and build this view on that one (`source: view:...`), "
                f"naming the derived feature",
            )


_DERIVED_TIME_HINT = (
    "derive '{name}' in a view without `{role}` (e.g. `{name}: {{expression: "
    '"to_timestamp(epoch)"}}`), then build this view on that one (`source: view:...`) '
    "and name '{name}' there"
)


def _column_type(
    project: Project, view: FeatureView, name: str
) -> tuple[str, Location | None] | None:
    """(the column's type as a message shows it, where it was declared) when it is
    known and not a time, else None."""
    feature = view.feature(name)
    if feature is not None and feature.dtype is not None and feature.dtype not in _TIME_TYPES:
        return f"declared {feature.dtype.value}", feature.location
    if view.source.kind == "view":
        parent = project.views.get(view.source.name)
        if parent is None:
            return None
        dtype = output_types(project, parent).get(name)
        if dtype is None or dtype in _TIME_TYPES:
            return None
        return f"{dtype.value} in view '{parent.name}'", None
    source = project.sources.get(view.source.name)
    if source is None or source.columns is None or name not in source.columns:
        return None  # unknown columns: the engine's to check (or another check's)
    text = source.columns[name]
    try:
        parsed = exp.DataType.build(text, dialect="duckdb")
    except (ParseError, TokenError, ValueError):
        return None
    if parsed.this in _SOURCE_TIME_TYPES:
        return None
    ours = duckdb_type(text)
    shown = f"{ours.value} ({text})" if ours is not None else text
    return f"{shown} in source '{source.name}'", None
