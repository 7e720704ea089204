"""One compile of one project for one dialect: what many nodes share, built once.

Compiling a project embeds each view's rows in its tests, in the views built on it
and in every model using it. A `CompileSession` resolves inheritance once, resolves
each view's derived features once and, with `compose_text`, renders each view's SQL
once: larger queries embed that text as a leaf instead of re-building (and deep
copying) the view's syntax tree, which is what made compiling 500 views quadratic.
The pieces views repeat (a column cast the same way, a source's rows, a derived
expression) are rendered once the same way (`CompileSession._piece`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect, column, ident
from aligned_cli.compile.expressions import translate_expression
from aligned_cli.compile.relations import source_query
from aligned_cli.compile.views import (
    DerivedFeature,
    aggregation_input_types,
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


@dataclass(frozen=True)
class TypedColumn:
    """How one column of a view's typed row is computed from its upstream row.

    Views repeat these (a point-in-time variant has the same columns; views on one
    source cast the same columns), and equal ones render the same SQL.
    """

    name: str  # the column's name in the typed row
    how: Literal["column", "cast", "instant", "pit_instant", "pit_from_instant"]
    upstream: str  # the upstream column it reads
    dtype: DataType | None = None
    timezone: str | None = None
    from_view: bool = False
    source_type: str | None = None  # the upstream column's DuckDB type, where known


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
        self._rendered: dict[Hashable, str] = {}  # see `_piece`

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
            derived = resolve_derived_features(self.project, self.view(name))
            self._derived[name] = {n: self._translated(d) for n, d in derived.items()}
        return self._derived[name]

    def _translated(self, item: DerivedFeature) -> DerivedFeature:
        """`item` with its expression as this session's dialect can generate it (the
        same item when the expression needs no change; see `translate_expression`)."""
        expression = translate_expression(
            item.expression,
            item.feature.expression or "",
            item.feature.location,
            written_in=self.project.dialect,
            target=self.dialect.sqlglot_name,
            untranslatable=self.dialect.untranslatable,
        )
        return item if expression is item.expression else replace(item, expression=expression)

    def view_sql(self, name: str, *, pit: bool = False) -> str:
        """The view's query as pretty SQL, rendered once per session."""
        pit = pit and (self.dialect.separate_pit_times or bool(self.aggregated_raw_columns(name)))
        if (name, pit) not in self._sql:
            self._sql[name, pit] = self.dialect.sql(self.view_query(name, pit=pit), copy=False)
        return self._sql[name, pit]

    def view_relation(self, name: str, *, pit: bool = False) -> exp.Expr:
        """The view's rows to embed in a larger query (the caller may own it)."""
        if self.compose_text and self.dialect.composes_text:
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
        return aggregation_input_types(view, input_schema(self.project, view), self.derived(name))

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
        inlined: dict[str, exp.Expr] = {}  # filled on first use (see `_derived_column`)
        selected: list[exp.Expr] = []
        for col in output_columns(view):
            if col in derived:
                build = partial(self._derived_column, name, col, inlined)
                selected.append(self._piece(self._derived_key(name, col), build))
            else:
                selected.append(self._piece(("row", col), partial(column, col, ROW_ALIAS)))
        extra = [c for c in self.pit_columns(name) if c] if pit else []
        # Raw columns that aggregations read (`of` need not be a feature).
        for col in [*extra, *raw]:
            selected.append(self._piece(("row", col), partial(column, col, ROW_ALIAS)))
        # Every node here is new, so builders need not copy (`copy=False` throughout).
        row = exp.Subquery(this=typed, alias=exp.TableAlias(this=ident(ROW_ALIAS)))
        return exp.select(*selected, copy=False).from_(row, copy=False)

    def _derived_key(self, name: str, col: str) -> Hashable:
        """What the SQL of derived column `col` of view `name` depends on (`_piece`)."""
        derived = self.derived(name)
        item = derived[col]
        if any(read in derived for read in item.reads):
            return ("derived", name, col)  # other derived features are inlined into it
        # Only its expression and type: views with the same expression over the same
        # columns share one resolved tree (`shared_resolved`), which `self._derived`
        # keeps alive for the session, so its id names it.
        return ("expression", col, item.dtype, id(item.expression))

    def _derived_column(self, name: str, col: str, inlined: dict[str, exp.Expr]) -> exp.Expr:
        """`CAST(<expression over the typed row> AS <type>) AS "col"` of view `name`;
        `inlined` holds the view's inlined expressions once computed."""
        if not inlined:
            inlined.update(_inline(self.derived(name)))
        value = self.dialect.derived_value(inlined[col])
        dtype = self.derived(name)[col].dtype
        if dtype is not None:
            # The manifest's type is the column's type on every engine.
            value = exp.Cast(this=value, to=self.dialect.data_type(dtype))
        # A name, not `ident(col)`: `alias_` would copy an Identifier.
        return exp.alias_(value, col, quoted=True, copy=False)

    def _piece(self, key: Hashable, build: Callable[[], exp.Expr]) -> exp.Expr:
        """`build()`, or, when composing text, a leaf holding its SQL rendered once
        per `key` (like `view_relation`).

        Pieces of views recur: a view's select items in its point-in-time variant,
        a source's rows in every view on it, a typed column wherever views compute
        it the same way. sqlglot renders a select item or a subquery's body to the
        same text wherever it sits (pretty printing indents the text it is given),
        so each is rendered once: that halved compiling a 500-view project's views
        and models. Dialects that rewrite whole trees opt out (`composes_text`).
        """
        if not (self.compose_text and self.dialect.composes_text):
            return build()
        text = self._rendered.get(key)
        if text is None:
            text = self._rendered[key] = self.dialect.sql(build(), copy=False)
        return exp.var(text)

    def _source_rows(self, name: str) -> exp.Expr:
        """The rows of source `name` (every view on it reads the same query)."""
        source = self.project.sources[name]
        return self._piece(
            ("source", name), partial(source_query, self.project, source, self.dialect)
        )

    def _typed_row(
        self,
        view: FeatureView,
        derived: dict[str, DerivedFeature],
        pit: bool,
        aggregated: list[str],
    ) -> exp.Select:
        """Keys and pass-through features cast to their types, plus raw columns that
        derived features read; the layer derived expressions are computed over."""
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
            upstream = self._source_rows(source.name)
            timezone = source.timezone
            from_view = False
            types = source.columns or {}
        columns: dict[str, TypedColumn] = {}

        def cast(name: str, dtype: DataType | None) -> TypedColumn:
            return TypedColumn(name, "cast", name, dtype, timezone, from_view, types.get(name))

        for name in view.key_columns:
            if name not in (view.event_timestamp, view.created_timestamp):
                feature = view.feature(name)
                columns[name] = cast(name, feature.dtype if feature else None)
            elif from_view:
                columns[name] = TypedColumn(name, "column", name)
            else:
                columns[name] = TypedColumn(
                    name, "instant", name, timezone=timezone, source_type=types.get(name)
                )
        for feature in view.features:
            if feature.name not in columns and feature.name not in derived:
                columns[feature.name] = cast(feature.name, feature.dtype)
        if pit:
            names = (view.event_timestamp, view.created_timestamp)
            times = zip(names, self.pit_columns(view.name), strict=True)
            for time, target in times:
                if time is None or target is None:
                    continue
                if not from_view:
                    columns[target] = TypedColumn(
                        target, "pit_instant", time, timezone=timezone, source_type=types.get(time)
                    )
                elif parent_pit.get(time):
                    columns[target] = TypedColumn(target, "column", str(parent_pit[time]))
                else:  # a parent's timestamp feature: already an instant
                    columns[target] = TypedColumn(target, "pit_from_instant", time)
        for name in aggregated:
            columns.setdefault(name, TypedColumn(name, "column", name))
        for item in derived.values():
            for name in item.reads:
                if name not in columns and name not in derived:
                    columns[name] = TypedColumn(name, "column", name)
        selected = [self._piece(c, partial(self._typed_column, c)) for c in columns.values()]
        rows = exp.Subquery(this=upstream, alias=exp.TableAlias(this=ident(SOURCE_ALIAS)))
        return exp.select(*selected, copy=False).from_(rows, copy=False)

    def _typed_column(self, col: TypedColumn) -> exp.Expr:
        """`<value> AS "<name>"`, the value read from the upstream row (`source`)."""
        dialect = self.dialect
        raw = column(col.upstream, SOURCE_ALIAS)
        if col.how == "instant":
            value = dialect.to_instant(raw, col.timezone, col.source_type)
        elif col.how == "cast":
            value = _cast(raw, col.dtype, dialect, col.timezone, col.from_view, col.source_type)
        elif col.how == "pit_instant":
            value = dialect.pit_instant(raw, col.timezone, col.source_type)
        elif col.how == "pit_from_instant":
            value = dialect.pit_from_instant(raw)
        else:
            value = raw
        # A name, not `ident(name)`: `alias_` would copy an Identifier.
        return exp.alias_(value, col.name, quoted=True, copy=False)


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
                if col.name not in derived:
                    col.set("table", ident(ROW_ALIAS))
                    continue
                expanded = exp.Paren(this=expand(col.name).copy())
                if col is tree:
                    tree = expanded  # the expression is the other feature's name alone
                else:
                    col.replace(expanded)
            inlined[name] = tree
        return inlined[name]

    for name in derived:
        expand(name)
    return inlined
