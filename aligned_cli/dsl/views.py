"""`@feature_view`: a class whose attributes are a view's features."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlglot import exp

from aligned_cli.core.ir import (
    Aggregation,
    Feature,
    FeatureView,
    Output,
    SourceRef,
    UniqueTest,
)
from aligned_cli.core.location import Location
from aligned_cli.core.tests import parse_threshold
from aligned_cli.dsl import sql
from aligned_cli.dsl.aggregations import AggregationDecl, window_seconds
from aligned_cli.dsl.callsite import CallSite, class_line, user_call_site
from aligned_cli.dsl.features import (
    CreatedTimestamp,
    DerivedFeature,
    EventTimestamp,
    FeatureFactory,
)
from aligned_cli.dsl.registry import register
from aligned_cli.dsl.sources import FileSourceDecl, SourceDecl, TableSourceDecl
from aligned_cli.errors import ProjectError, did_you_mean

T = TypeVar("T", bound=type)
Locate = Callable[[CallSite], Location]
SourceLike = SourceDecl | str | type | object
OutputLike = FileSourceDecl | TableSourceDecl | Output | str

_VIEW_ATTRIBUTE = "__aligned_view__"


@dataclass
class ViewFeature:
    """A feature of a decorated view with its rendered SQL (None: a plain column)."""

    name: str
    factory: FeatureFactory
    expression: str | None


@dataclass(eq=False)
class ViewDecl:
    name: str
    source: SourceLike
    site: CallSite
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    ttl: int | None = None
    materialized_source: Output | None = None
    stream: str | None = None  # the Redis stream `aligned worker` reads into this view
    stream_sink: Output | None = None  # where the worker also appends the rows it writes
    unique: UniqueTest | None = None  # how the automatic key test judges
    features: list[ViewFeature] = field(default_factory=list)
    aggregations: list[tuple[str, AggregationDecl]] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    event_timestamp: str | None = None
    created_timestamp: str | None = None

    def to_ir(self, locate: Locate) -> FeatureView:
        features = []
        for item in self.features:
            location = locate(item.factory._site)
            features.append(
                Feature(
                    name=item.name,
                    dtype=item.factory.dtype,
                    expression=item.expression,
                    description=item.factory._description,
                    constraints=item.factory.constraints_ir(location),
                    optional=item.factory._optional,
                    location=location,
                )
            )
        aggregations = []
        for name, decl in self.aggregations:
            location = locate(decl._site)
            aggregations.append(
                Aggregation(
                    name=name,
                    function=decl.function,
                    of=_column_name(decl.of, self.name, name),
                    window=decl.window,
                    min_rows=decl.min_rows,
                    description=decl._description,
                    constraints=decl.constraints_ir(location),
                    location=location,
                )
            )
        return FeatureView(
            name=self.name,
            description=self.description,
            tags=list(self.tags),
            source=source_ref(self.source, f"{self.name}_source"),
            entities=list(self.entities),
            event_timestamp=self.event_timestamp,
            created_timestamp=self.created_timestamp,
            ttl=self.ttl,
            features=features,
            aggregations=aggregations,
            materialized_source=self.materialized_source,
            stream=self.stream,
            stream_sink=self._stream_sink(locate),
            unique=self.unique.model_copy(update={"location": locate(self.site)})
            if self.unique is not None
            else None,
            location=locate(self.site),
        )

    def _stream_sink(self, locate: Locate) -> Output | None:
        if self.stream_sink is None:
            return None
        from aligned_cli.parse.to_ir import stream_sink_problem

        problem = stream_sink_problem(self.stream_sink)
        if problem is None and self.stream is None:
            problem = (
                f"feature view '{self.name}' declares a stream_sink but no stream_source",
                'the sink receives what `aligned worker` reads; add stream_source="NAME"',
            )
        if problem is not None:
            message, hint = problem
            raise ProjectError(message, location=locate(self.site), hint=hint)
        return self.stream_sink


def view_decl(obj: object) -> ViewDecl | None:
    """The declaration behind a decorated view class or one of its instances."""
    decl = getattr(obj, _VIEW_ATTRIBUTE, None)
    return decl if isinstance(decl, ViewDecl) else None


def source_ref(source: SourceLike, fallback: str) -> SourceRef:
    """A view's source: a DSL source, a source name (or `view:x`), or another view."""
    if isinstance(source, SourceDecl):
        return SourceRef(kind="source", name=source.name_for_reader(fallback))
    parent = view_decl(source)
    if parent is not None:
        return SourceRef(kind="view", name=parent.name)
    if isinstance(source, str):
        kind, sep, name = source.partition(":")
        if sep and kind.strip() in ("view", "source"):
            return SourceRef(kind="view" if kind.strip() == "view" else "source", name=name.strip())
        return SourceRef(kind="source", name=source.strip())
    raise _not_a_source(source)


def _not_a_source(source: object) -> ProjectError:
    return ProjectError(
        f"a feature view's source must be a source, a source name or a feature view, "
        f"not {type(source).__name__}",
        hint='e.g. source=FileSource.csv_at("data/x.csv"), source="x" or source=OtherView',
    )


def output_of(value: OutputLike | None) -> Output | None:
    if value is None or isinstance(value, Output):
        return value
    if isinstance(value, FileSourceDecl | TableSourceDecl):
        return value.to_output()
    if isinstance(value, str):
        return Output(file=value)
    raise ProjectError(
        f"an output must be a file path, FileSource.parquet_at(...) or a table, "
        f"not {type(value).__name__}"
    )


def _unique_test(settings: Mapping[str, str] | None) -> UniqueTest | None:
    """`unique={...}` checked as YAML's `unique:` is (keys, severity, thresholds)."""
    if settings is None:
        return None
    allowed = ("severity", "warn_if", "error_if")
    unknown = [key for key in settings if key not in allowed]
    if unknown:
        raise ProjectError(
            f"unique= takes {', '.join(allowed)}, not '{unknown[0]}'",
            hint=did_you_mean(str(unknown[0]), allowed),
        )
    if settings.get("severity", "error") not in ("error", "warn"):
        raise ProjectError(
            f"unique= severity must be 'error' or 'warn', not {settings['severity']!r}"
        )
    for key in ("warn_if", "error_if"):
        if settings.get(key) is not None:
            try:
                parse_threshold(str(settings[key]))
            except ValueError as error:
                raise ProjectError(f"unique= {key}: {error}") from None
    return UniqueTest(**settings)


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def feature_view(
    name: str | None = None,
    *,
    source: SourceLike,
    description: str | None = None,
    tags: list[str] | None = None,
    ttl: str | timedelta | int | None = None,
    materialized_source: OutputLike | None = None,
    stream_source: str | None = None,
    stream_sink: OutputLike | None = None,
    unique: Mapping[str, str] | None = None,
) -> Callable[[T], T]:
    """Declare a feature view; the class attributes are its features.

    `stream_source="trips"` names the Redis stream `aligned worker` consumes into the
    view (YAML: `stream_source: {stream: trips}`). `stream_sink` is where the worker
    also appends every row it writes: a directory of parquet part files (a path or
    `FileSource.parquet_at("target/streams/trips/")`) or a table
    (`PostgreSQLConfig(...).table("trips_log")`); YAML: `stream_source: {stream: trips,
    sink: {file: target/streams/trips/}}`. `unique={"severity": "warn", "warn_if": ">10"}`
    sets how the view's automatic `unique` test judges (YAML: `unique: {...}`)."""
    site = user_call_site()
    if not isinstance(source, SourceDecl | str) and view_decl(source) is None:
        raise _not_a_source(source)  # here, so the error points at the user's line
    ttl_seconds = window_seconds(ttl) if ttl is not None else None
    materialized = output_of(materialized_source)
    sink = output_of(stream_sink)
    unique_test = _unique_test(unique)

    def decorate(cls: T) -> T:
        decl = ViewDecl(
            name=name or _snake_case(cls.__name__),
            source=source,
            site=class_line(site, cls.__name__),
            description=description,
            tags=list(tags or []),
            ttl=ttl_seconds,
            materialized_source=materialized,
            stream=stream_source,
            stream_sink=sink,
            unique=unique_test,
        )
        _read_class_body(cls, decl)
        setattr(cls, _VIEW_ATTRIBUTE, decl)
        _attach_runtime_api(cls)
        register(decl)
        return cls

    return decorate


def _attach_runtime_api(cls: Any) -> None:
    """The seed's class-level forms: `View.query().all()`, `await
    View.freshness_in_batch_source()` (unless the class declares those names itself)."""

    def query(owner: Any, project_dir: str | None = None) -> Any:
        from aligned_cli.api.dsl_views import query as view_query

        return view_query(owner, project_dir)

    async def freshness_in_batch_source(owner: Any) -> Any:
        return await query(owner).freshness()

    if "query" not in vars(cls):
        cls.query = classmethod(query)
    if "freshness_in_batch_source" not in vars(cls):
        cls.freshness_in_batch_source = classmethod(freshness_in_batch_source)


def _body(cls: type) -> Iterator[tuple[str, Any]]:
    for attribute, value in list(vars(cls).items()):
        if not attribute.startswith("__"):
            yield attribute, value


def _read_class_body(cls: type, decl: ViewDecl) -> None:
    names: dict[int, str] = {}  # id(factory) -> its feature name in this view
    declared: list[tuple[str, FeatureFactory]] = []
    for attribute, value in _body(cls):
        if isinstance(value, FeatureFactory):
            if value._bound is not None or id(value) in names:
                # Another view's feature (or an alias): a pass-through of that column.
                value = _pass_through(value, attribute, names)
                setattr(cls, attribute, value)
            names[id(value)] = attribute
            value._bound = (decl.name, attribute)
            declared.append((attribute, value))
        elif isinstance(value, AggregationDecl):
            if value._bound is not None:
                raise ProjectError(
                    f"aggregation '{attribute}' is already declared as "
                    f"'{value._bound[0]}:{value._bound[1]}'; declare it again with .aggregate()",
                )
            value._bound = (decl.name, attribute)
            decl.aggregations.append((attribute, value))

    def render(factory: FeatureFactory) -> exp.Expr:
        name = names.get(id(factory))
        if name is not None:
            return sql.column(name)
        if factory._bound is not None:  # a column of the view this one is built on
            return sql.column(factory._bound[1])
        built = factory.expression(render)
        if built is None:
            raise ProjectError(
                f"feature view '{decl.name}' uses a feature that is not one of its attributes",
                location=Location(file=factory._site.filename, line=factory._site.line),
                hint="assign the feature to an attribute of the view class first",
            )
        return built

    for attribute, factory in declared:
        if isinstance(factory, EventTimestamp | CreatedTimestamp):
            _set_timestamp(decl, factory, attribute)
            continue
        built = factory.expression(render)
        expression = sql.canonical(built) if built is not None else None
        decl.features.append(ViewFeature(attribute, factory, expression))
        if factory._is_entity:
            decl.entities.append(attribute)


def _pass_through(value: FeatureFactory, attribute: str, names: dict[int, str]) -> FeatureFactory:
    source_name = names.get(id(value)) or (value._bound[1] if value._bound else attribute)
    copy = DerivedFeature()
    copy._dtype = value.dtype
    copy._is_entity = value._is_entity
    if source_name != attribute:
        column = sql.column(source_name)
        copy._build = lambda _render: column.copy()
    return copy


def _set_timestamp(
    decl: ViewDecl, factory: EventTimestamp | CreatedTimestamp, attribute: str
) -> None:
    current = getattr(decl, factory.role)
    if current is not None:
        raise ProjectError(
            f"feature view '{decl.name}' declares two {factory.role} columns: "
            f"'{current}' and '{attribute}'",
            location=Location(file=factory._site.filename, line=factory._site.line),
        )
    setattr(decl, factory.role, attribute)


def _column_name(of: FeatureFactory, view: str, aggregation: str) -> str:
    if of._bound is not None:
        return of._bound[1]
    raise ProjectError(
        f"aggregation '{view}:{aggregation}' aggregates an unnamed expression",
        location=Location(file=of._site.filename, line=of._site.line),
        hint="assign the expression to an attribute of the view, then aggregate that",
    )
