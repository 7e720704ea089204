"""One compile of one project for one dialect: what many nodes share, built once.

Compiling a project embeds each view's rows in its tests, in the views built on it
and in every model using it. A `CompileSession` resolves inheritance once, resolves
each view's derived features once and, with `compose_text`, renders each view's SQL
once: larger queries embed that text as a leaf instead of re-building (and deep
copying) the view's syntax tree, which is what made compiling 500 views quadratic.
"""

from __future__ import annotations

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect, column, ident
from aligned_cli.compile.relations import source_query
from aligned_cli.compile.views import (
    DerivedFeature,
    check_view,
    input_schema,
    output_columns,
    resolve_derived_features,
)
from aligned_cli.core.inheritance import resolve_view_inheritance
from aligned_cli.core.ir import FeatureView, Project
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError, did_you_mean

ROW_ALIAS = "row"
SOURCE_ALIAS = "source"
# Extra columns of a view's point-in-time variant (`view_query(..., pit=True)`): its
# event and created times as `Dialect.pit_instant` (naive UTC on DuckDB).
PIT_EVENT = "__aligned_pit_event"
PIT_CREATED = "__aligned_pit_created"


class CompileSession:
    """Memoized view queries of `project` (inheritance resolved here) for `dialect`.

    `compose_text=True` makes `view_relation` a leaf holding the view's pretty SQL:
    only for queries that are rendered pretty, in this session's dialect.
    """

    def __init__(
        self,
        project: Project,
        dialect: Dialect,
        *,
        compose_text: bool = False,
        inherited: bool = False,
    ) -> None:
        self.project = project if inherited else resolve_view_inheritance(project)
        self.dialect = dialect
        self.compose_text = compose_text
        self._derived: dict[str, dict[str, DerivedFeature]] = {}
        self._sql: dict[tuple[str, bool], str] = {}

    def view(self, name: str) -> FeatureView:
        view = self.project.views.get(name)
        if view is None:
            raise ProjectError(
                f"unknown feature view '{name}'", hint=did_you_mean(name, self.project.views)
            )
        return view

    def derived(self, name: str) -> dict[str, DerivedFeature]:
        """The view's derived features (shared trees: copy before changing them)."""
        if name not in self._derived:
            self._derived[name] = resolve_derived_features(self.project, self.view(name))
        return self._derived[name]

    def view_sql(self, name: str, *, pit: bool = False) -> str:
        """The view's query as pretty SQL, rendered once per session."""
        pit = pit and (self.dialect.separate_pit_times or bool(self.aggregated_raw_columns(name)))
        if (name, pit) not in self._sql:
            self._sql[name, pit] = self.dialect.sql(self.view_query(name, pit=pit), copy=False)
        return self._sql[name, pit]

    def view_relation(self, name: str, *, pit: bool = False) -> exp.Expr:
        """The view's rows to embed in a larger query (the caller may own it)."""
        if self.compose_text:
            # A Var renders its text verbatim, re-indented like any subquery.
            return exp.var(self.view_sql(name, pit=pit))
        return self.view_query(name, pit=pit)

    def pit_columns(self, name: str) -> tuple[str | None, str | None]:
        """The event and created columns of the view's point-in-time variant."""
        view = self.view(name)
        if not self.dialect.separate_pit_times or not view.event_timestamp:
            return None, None
        return PIT_EVENT, PIT_CREATED if view.created_timestamp else None

    def aggregated_raw_columns(self, name: str) -> list[str]:
        """Columns aggregations of the view read that are not among its outputs."""
        view = self.view(name)
        outputs = set(output_columns(view))
        return [
            c for c in dict.fromkeys(a.of for a in view.aggregations if a.of) if c not in outputs
        ]

    def of_types(self, name: str) -> dict[str, DataType | None]:
        """The type of every column an aggregation of the view reads, where known."""
        view = self.view(name)
        derived = self.derived(name)
        schema = input_schema(self.project, view)
        types: dict[str, DataType | None] = {}
        for agg in view.aggregations:
            if agg.of is None:
                continue
            feature = view.feature(agg.of)
            if agg.of in derived:
                types[agg.of] = derived[agg.of].dtype
            elif feature is not None and feature.dtype is not None:
                types[agg.of] = feature.dtype
            else:
                types[agg.of] = schema.get(agg.of)
        return types

    def view_query(self, name: str, *, pit: bool = False) -> exp.Select:
        """Every row of the view: keys, instants, then every feature in declared order.

        `pit` adds the `pit_columns` (for dialects with `separate_pit_times`) and the
        raw columns its aggregations read: engines drop whichever columns a
        point-in-time join does not read. A fresh tree on every call (callers may
        change it)."""
        view = self.view(name)
        check_view(view)
        raw = self.aggregated_raw_columns(name) if pit else []
        pit = pit and self.dialect.separate_pit_times and view.event_timestamp is not None
        derived = self.derived(name)
        typed = self._typed_row(view, derived, pit, raw)
        inlined = _inline(derived)
        selected: list[exp.Expr] = []
        for col in output_columns(view):
            if col in derived:
                value = inlined[col]
                dtype = derived[col].dtype
                if dtype is not None:
                    # The manifest's type is the column's type on every engine.
                    value = exp.Cast(this=value, to=self.dialect.data_type(dtype))
                # A name, not `ident(col)`: `alias_` would copy an Identifier.
                selected.append(exp.alias_(value, col, quoted=True, copy=False))
            else:
                selected.append(column(col, ROW_ALIAS))
        if pit:
            selected += [column(c, ROW_ALIAS) for c in self.pit_columns(name) if c]
        # Raw columns that aggregations read (`of` need not be a feature).
        selected += [column(c, ROW_ALIAS) for c in raw]
        # Every node here is new, so builders need not copy (`copy=False` throughout).
        row = exp.Subquery(this=typed, alias=exp.TableAlias(this=ident(ROW_ALIAS)))
        return exp.select(*selected, copy=False).from_(row, copy=False)

    def _typed_row(
        self,
        view: FeatureView,
        derived: dict[str, DerivedFeature],
        pit: bool,
        aggregated: list[str],
    ) -> exp.Select:
        """Keys and pass-through features cast to their types, plus raw columns that
        derived features read; the layer derived expressions are computed over."""
        dialect = self.dialect
        upstream: exp.Expr
        types: dict[str, str] = {}  # raw columns' DuckDB types, where known
        parent_pit: dict[str | None, str | None] = {}  # parent column -> its pit column
        if view.source.kind == "view":
            upstream = self.view_relation(view.source.name, pit=pit)
            timezone = None
            from_view = True
            parent = self.view(view.source.name)
            event, created = self.pit_columns(parent.name) if pit else (None, None)
            parent_pit = {parent.event_timestamp: event, parent.created_timestamp: created}
        else:
            source = self.project.sources[view.source.name]
            upstream = source_query(self.project, source, dialect)
            timezone = source.timezone
            from_view = False
            types = source.columns or {}
        columns: dict[str, exp.Expr] = {}
        for name in view.key_columns:
            raw = column(name, SOURCE_ALIAS)
            if name in (view.event_timestamp, view.created_timestamp):
                columns[name] = (
                    raw if from_view else dialect.to_instant(raw, timezone, types.get(name))
                )
            else:
                feature = view.feature(name)
                dtype = feature.dtype if feature else None
                columns[name] = _cast(raw, dtype, dialect, timezone, from_view, types.get(name))
        for feature in view.features:
            if feature.name in columns or feature.name in derived:
                continue
            raw = column(feature.name, SOURCE_ALIAS)
            columns[feature.name] = _cast(
                raw, feature.dtype, dialect, timezone, from_view, types.get(feature.name)
            )
        if pit:
            names = (view.event_timestamp, view.created_timestamp)
            times = zip(names, self.pit_columns(view.name), strict=True)
            for time, target in times:
                if time is None or target is None:
                    continue
                raw = column(time, SOURCE_ALIAS)
                if not from_view:
                    columns[target] = dialect.pit_instant(raw, timezone, types.get(time))
                elif parent_pit.get(time):
                    columns[target] = column(str(parent_pit[time]), SOURCE_ALIAS)
                else:  # a parent's timestamp feature: already an instant
                    columns[target] = dialect.pit_from_instant(raw)
        for name in aggregated:
            columns.setdefault(name, column(name, SOURCE_ALIAS))
        for item in derived.values():
            for name in item.reads:
                if name not in columns and name not in derived:
                    columns[name] = column(name, SOURCE_ALIAS)
        selected = [
            exp.alias_(value, name, quoted=True, copy=False) for name, value in columns.items()
        ]
        rows = exp.Subquery(this=upstream, alias=exp.TableAlias(this=ident(SOURCE_ALIAS)))
        return exp.select(*selected, copy=False).from_(rows, copy=False)


def _cast(
    value: exp.Expr,
    dtype: DataType | None,
    dialect: Dialect,
    timezone: str | None,
    from_view: bool,
    source_type: str | None,
) -> exp.Expr:
    if dtype is None:
        return value
    if from_view:  # the parent already holds instants; only the type may change
        return exp.Cast(this=value, to=dialect.data_type(dtype))
    return dialect.cast(value, dtype, timezone, source_type)


def _inline(derived: dict[str, DerivedFeature]) -> dict[str, exp.Expr]:
    """Each derived expression over the typed row only: derived inputs substituted."""
    inlined: dict[str, exp.Expr] = {}

    def expand(name: str) -> exp.Expr:
        if name not in inlined:
            tree = derived[name].expression.copy()
            for col in list(tree.find_all(exp.Column)):
                if col.name in derived:
                    col.replace(exp.Paren(this=expand(col.name).copy()))
                else:
                    col.set("table", ident(ROW_ALIAS))
            inlined[name] = tree
        return inlined[name]

    for name in derived:
        expand(name)
    return inlined
