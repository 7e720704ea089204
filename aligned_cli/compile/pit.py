"""Point-in-time datasets (SPEC §4): features of many views joined to a spine.

The shape is the same on every engine: number the spine rows, compute each row's
instant `t` (its timestamp, or now), attach every view (temporal views through the
dialect's point-in-time strategy, static views by key on one row per key), then
select the spine's columns and the features in order, sorted by the row number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from aligned_cli.compile.aggregations import WindowAggregations, attach_aggregations
from aligned_cli.compile.dialects.base import Dialect, TemporalJoin, column, ident
from aligned_cli.compile.relations import known_source_columns, source_query
from aligned_cli.compile.session import PIT_CREATED, PIT_EVENT, CompileSession
from aligned_cli.core.ir import Aggregation, FeatureRef, FeatureView, Model, Project
from aligned_cli.errors import ProjectError, did_you_mean

SPINE = "__aligned_spine"
SPINE_SOURCE = "__aligned_spine_source"
SPINE_RECORD = "__aligned_spine_record"
ROW_NUMBER = "__aligned_row"
SPINE_TIME = "__aligned_time"
DUPLICATE = "__aligned_duplicate"
_INTERNAL = (ROW_NUMBER, SPINE_TIME, SPINE_RECORD)


@dataclass(frozen=True)
class OutputFeature:
    """One feature column of a dataset."""

    ref: FeatureRef
    name: str  # column name in the dataset


def output_features(
    refs: Sequence[FeatureRef],
    spine_columns: Sequence[str] | None,
    target: FeatureRef | None = None,
    target_name: str | None = None,
) -> list[OutputFeature]:
    """Dataset column names: `feature`, or `view__feature` where two of the views
    share the name or the name is a spine column. The target comes last."""
    unique = list(dict.fromkeys(refs))
    views_by_name: dict[str, set[str]] = {}
    for ref in unique:
        views_by_name.setdefault(ref.feature, set()).add(ref.view)
    taken = set(spine_columns or ())
    outputs: list[OutputFeature] = []
    for ref in unique:
        clash = len(views_by_name[ref.feature]) > 1 or ref.feature in taken
        outputs.append(OutputFeature(ref, f"{ref.view}__{ref.feature}" if clash else ref.feature))
    if target is not None:
        used = taken | {o.name for o in outputs}
        name = target_name or target.feature
        if name in used:
            name = f"{target.view}__{target.feature}"
        outputs.append(OutputFeature(target, name))
    return outputs


def features_query(
    project: Project,
    feature_refs: Sequence[FeatureRef] | Sequence[OutputFeature],
    spine: exp.Query,
    spine_columns: Sequence[str] | None,
    spine_timestamp: str | None,
    dialect: Dialect,
    *,
    spine_timezone: str | None = None,
    spine_timestamp_type: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    view_relations: Mapping[str, exp.Expr] | None = None,
    session: CompileSession | None = None,
) -> exp.Query:
    """The features of `feature_refs` for every row of `spine`, point-in-time.

    `spine` is any relation holding the views' entity columns; `spine_columns` lists
    its columns in order (None: all of them, unknown at compile time).
    `spine_timestamp` names its timestamp column (naive values read in
    `spine_timezone`, default UTC; `spine_timestamp_type` is its DuckDB type where
    known); None means "latest as of now". `defaults` fill
    NULLs by output name, `view:feature` or feature name. `view_relations` replaces a
    view's compiled query by a relation holding its rows (e.g. a materialized table).
    `session` (for `project` and `dialect`) shares view queries across many calls.
    """
    if session is None:
        session = CompileSession(project, dialect)
    project = session.project
    if all(isinstance(o, OutputFeature) for o in feature_refs):
        resolved = [o for o in feature_refs if isinstance(o, OutputFeature)]
    else:
        refs = [r for r in feature_refs if isinstance(r, FeatureRef)]
        resolved = output_features(refs, spine_columns)
    views = _views_used(project, resolved)
    if spine_columns is not None:
        _check_spine_has_entities(views, spine_columns)

    numbered = _numbered_spine(
        spine, spine_columns, spine_timestamp, spine_timezone, spine_timestamp_type, dialect
    )
    select = exp.select().from_(exp.Table(this=ident(SPINE), alias=exp.TableAlias(this=ident("s"))))
    values: dict[FeatureRef, exp.Expr] = {}
    ctes: list[tuple[str, exp.Query]] = []
    for index, view in enumerate(views):
        alias = f"__aligned_v{index}"
        requested = dict.fromkeys(o.ref.feature for o in resolved if o.ref.view == view.name)
        names = tuple(n for n in requested if view.aggregation(n) is None)
        aggregations = tuple(a for a in view.aggregations if a.name in requested)
        given = (view_relations or {}).get(view.name)
        if aggregations:
            attached_aggs = attach_aggregations(
                _window_spec(session, view, aggregations, given, alias), dialect
            )
            ctes += attached_aggs.ctes
            for join in attached_aggs.joins:
                select = select.join(join, copy=False)
            for name, value in attached_aggs.values.items():
                values[FeatureRef(view=view.name, feature=name)] = value
        if not names:
            continue
        if view.event_timestamp:
            # Our own view query carries its times ready for the join (`pit_columns`).
            pit_event, pit_created = (
                session.pit_columns(view.name) if given is None else (None, None)
            )
            relation = (
                given.copy() if given is not None else session.view_relation(view.name, pit=True)
            )
            attached = dialect.temporal_join(
                TemporalJoin(
                    view=relation,
                    alias=alias,
                    spine_alias="s",
                    spine_time=SPINE_TIME,
                    entities=tuple(view.entities),
                    event_timestamp=view.event_timestamp,
                    created_timestamp=view.created_timestamp,
                    ttl_seconds=view.ttl,
                    features=names,
                    pit_event=pit_event,
                    pit_created=pit_created,
                    spine_relation=SPINE,
                    spine_row=ROW_NUMBER,
                )
            )
            select = select.join(attached.join, copy=False)
            for name, value in attached.values.items():
                values[FeatureRef(view=view.name, feature=name)] = value
        else:
            relation = given.copy() if given is not None else session.view_relation(view.name)
            select = select.join(_static_join(relation, view, names, alias), copy=False)
            for name in names:
                values[FeatureRef(view=view.name, feature=name)] = column(name, alias)

    select = select.select(*_spine_columns_out(spine_columns, dialect), append=False, copy=False)
    fills = dict(defaults or {})
    selected: set[FeatureRef] = set()
    for output in resolved:
        value = values[output.ref]
        if output.ref in selected:  # the target may read the same value as a feature
            value = value.copy()
        selected.add(output.ref)
        default = _default_for(output, fills)
        if default is not _MISSING:
            value = exp.Coalesce(this=value, expressions=[exp.convert(default)])
        select = select.select(exp.alias_(value, ident(output.name), copy=False), copy=False)
    select = select.order_by(column(ROW_NUMBER, "s"), copy=False)
    # Aggregations read the spine more than once: its row numbers must be computed
    # once (MATERIALIZED, where the engine has it), or two scans could number the
    # rows differently.
    materialized = (bool(ctes) and dialect.materialized_ctes) or None
    select = select.with_(ident(SPINE), as_=numbered, materialized=materialized, copy=False)
    for name, query in ctes:
        select = select.with_(ident(name), as_=query, copy=False)
    return select


def model_query(
    project: Project,
    model_name: str,
    dialect: Dialect,
    *,
    spine_columns: Sequence[str] | None = None,
    view_relations: Mapping[str, exp.Expr] | None = None,
    session: CompileSession | None = None,
) -> exp.Query:
    """The training dataset of a model: its spine, features and target (SPEC §4).

    `spine_columns` overrides what compile time knows about the spine's columns
    (an adapter that has read the spine can pass them for exact name clashes).
    """
    model = project.models.get(model_name)
    if model is None:
        raise ProjectError(
            f"unknown model '{model_name}'", hint=did_you_mean(model_name, project.models)
        )
    if model.spine is None:
        raise ProjectError(
            f"model '{model.name}' has no spine, so it has no dataset to compile",
            location=model.location,
            hint="add `spine: <source>`; without one the model is served through the API only",
        )
    source = project.sources.get(model.spine.source)
    if source is None:
        raise ProjectError(
            f"model '{model.name}' uses unknown spine source '{model.spine.source}'",
            location=model.location,
            hint=did_you_mean(model.spine.source, project.sources),
        )
    # Names clash with the columns we know of; the spine itself is selected whole
    # (unmapped raw columns included) unless the caller lists its columns.
    known = list(spine_columns) if spine_columns is not None else known_source_columns(source)
    timestamp = spine_timestamp_column(model, source.event_timestamp, known)
    target = model.target.feature if model.target else None
    outputs = output_features(
        model.features, known, target, model.target.name if model.target else None
    )
    return features_query(
        project,
        outputs,
        source_query(project, source, dialect),
        spine_columns,
        timestamp,
        dialect,
        spine_timezone=source.timezone,
        spine_timestamp_type=(source.columns or {}).get(timestamp) if timestamp else None,
        defaults=model.defaults,
        view_relations=view_relations,
        session=session,
    )


def spine_timestamp_column(
    model: Model, source_timestamp: str | None, columns: Sequence[str] | None
) -> str | None:
    """The spine's timestamp: declared on the model, on the source, or a column
    named `event_timestamp`; None (latest as of now) without one."""
    if model.spine and model.spine.event_timestamp:
        return model.spine.event_timestamp
    if source_timestamp:
        return source_timestamp
    if columns is not None and "event_timestamp" in columns:
        return "event_timestamp"
    return None


def pit_index_statement(view: FeatureView, table: exp.Table, dialect: Dialect) -> exp.Create | None:
    """The index serving the point-in-time lookup of `view` stored in `table`.

    Postgres only (DuckDB's ASOF join sorts instead); its columns and directions
    are exactly the lookup's ORDER BY, so the planner can walk it top-1.
    """
    if dialect.name != "postgres" or not view.event_timestamp:
        return None
    from aligned_cli.compile.dialects.postgres import pit_order

    keys: list[exp.Expr] = [column(k) for k in view.entities]
    order = [*keys, *pit_order(None, view.event_timestamp, view.created_timestamp)]
    name = f"{table.name}__pit"[:63]
    return exp.Create(
        this=exp.Index(
            this=ident(name),
            table=table.copy(),
            params=exp.IndexParameters(columns=order),
        ),
        kind="INDEX",
        exists=True,
    )


# --- helpers --------------------------------------------------------------------


class _Missing:
    pass


_MISSING: Any = _Missing()


def _default_for(output: OutputFeature, defaults: Mapping[str, Any]) -> Any:
    for key in (output.name, str(output.ref), output.ref.feature):
        if key in defaults:
            return defaults[key]
    return _MISSING


def _views_used(project: Project, outputs: Sequence[OutputFeature]) -> list[FeatureView]:
    views: dict[str, FeatureView] = {}
    for output in outputs:
        ref = output.ref
        view = project.views.get(ref.view)
        if view is None:
            raise ProjectError(
                f"unknown feature view '{ref.view}' in '{ref}'",
                hint=did_you_mean(ref.view, project.views),
            )
        if view.feature(ref.feature) is None and view.aggregation(ref.feature) is None:
            raise ProjectError(
                f"view '{view.name}' has no feature '{ref.feature}' (in '{ref}')",
                location=view.location,
                hint=did_you_mean(ref.feature, view.feature_names),
            )
        views.setdefault(view.name, view)
    return list(views.values())


def _window_spec(
    session: CompileSession,
    view: FeatureView,
    aggregations: tuple[Aggregation, ...],
    given: exp.Expr | None,
    alias: str,
) -> WindowAggregations:
    """What `attach_aggregations` needs: the view's rows with point-in-time times."""
    dialect = session.dialect
    assert view.event_timestamp is not None  # checked when the project is loaded
    reads_raw = bool(session.aggregated_raw_columns(view.name))
    if given is None or reads_raw:  # a given relation holds features only
        relation = session.view_relation(view.name, pit=True)
        pit_event, pit_created = session.pit_columns(view.name)
    else:
        relation, pit_event, pit_created = given.copy(), None, None
    event = pit_event or view.event_timestamp
    created = pit_created or view.created_timestamp
    if dialect.separate_pit_times and pit_event is None:
        # A relation we did not build: convert its instants here.
        times = [(view.event_timestamp, PIT_EVENT), (view.created_timestamp, PIT_CREATED)]
        extra = [
            exp.alias_(dialect.pit_from_instant(column(name)), ident(target))
            for name, target in times
            if name
        ]
        relation = exp.select(exp.Star(), *extra).from_(
            exp.Subquery(this=relation, alias=exp.TableAlias(this=ident("g")))
        )
        event = PIT_EVENT
        created = PIT_CREATED if view.created_timestamp else None
    return WindowAggregations(
        view=relation,
        prefix=f"{alias}_agg",
        entities=tuple(view.entities),
        event=event,
        created=created,
        aggregations=aggregations,
        of_types=session.of_types(view.name),
        spine=SPINE,
        spine_row=ROW_NUMBER,
        spine_time=SPINE_TIME,
    )


def _check_spine_has_entities(views: Sequence[FeatureView], columns: Sequence[str]) -> None:
    for view in views:
        missing = [k for k in view.entities if k not in columns]
        if missing:
            raise ProjectError(
                f"the spine has no column {', '.join(repr(m) for m in missing)}, an entity of"
                f" view '{view.name}'",
                location=view.location,
                hint=did_you_mean(missing[0], columns),
            )


def _numbered_spine(
    spine: exp.Query,
    columns: Sequence[str] | None,
    timestamp: str | None,
    timezone: str | None,
    timestamp_type: str | None,
    dialect: Dialect,
) -> exp.Select:
    """The spine with its row number (for order) and its instant `t` (in the
    point-in-time representation: internal, never output)."""
    time = (
        dialect.pit_instant(column(timestamp, SPINE_SOURCE), timezone, timestamp_type)
        if timestamp
        else dialect.pit_now()
    )
    row_number = exp.Window(this=exp.RowNumber())
    if columns is not None:
        spine_cols: list[exp.Expr] = [column(c, SPINE_SOURCE) for c in columns]
    else:
        spine_cols = [exp.Column(this=exp.Star(), table=ident(SPINE_SOURCE))]
        # Whatever the dialect needs to output the spine's own columns later.
        spine_cols += dialect.spine_record(SPINE_SOURCE, SPINE_RECORD)
    return exp.select(
        *spine_cols,
        exp.alias_(row_number, ident(ROW_NUMBER)),
        exp.alias_(time, ident(SPINE_TIME)),
        copy=False,
    ).from_(
        exp.Subquery(this=spine.copy(), alias=exp.TableAlias(this=ident(SPINE_SOURCE))),
        copy=False,
    )


def _spine_columns_out(columns: Sequence[str] | None, dialect: Dialect) -> list[exp.Expr]:
    """The spine's own columns, first and in order, without our helper columns."""
    if columns is not None:
        return [column(c, "s") for c in columns]
    return dialect.spine_star("s", SPINE_RECORD, (ROW_NUMBER, SPINE_TIME))


def _static_join(
    relation: exp.Expr, view: FeatureView, names: Sequence[str], alias: str
) -> exp.Join:
    """LEFT JOIN on the keys of one row per key (duplicates are a `unique` failure)."""
    cols = list(dict.fromkeys([*view.entities, *names]))
    numbered = exp.select(
        *(column(c) for c in cols),
        exp.alias_(
            exp.Window(
                this=exp.RowNumber(),
                partition_by=[column(k) for k in view.entities],
            ),
            ident(DUPLICATE),
        ),
    ).from_(exp.Subquery(this=relation, alias=exp.TableAlias(this=ident("v"))))
    one_per_key = (
        exp.select(*(column(c) for c in cols))
        .from_(exp.Subquery(this=numbered, alias=exp.TableAlias(this=ident("n"))))
        .where(exp.EQ(this=column(DUPLICATE), expression=exp.Literal.number(1)))
    )
    on = exp.and_(
        *(exp.EQ(this=column(k, "s"), expression=column(k, alias)) for k in view.entities)
    )
    return exp.Join(
        this=exp.Subquery(this=one_per_key, alias=exp.TableAlias(this=ident(alias))),
        side="LEFT",
        on=on,
    )
