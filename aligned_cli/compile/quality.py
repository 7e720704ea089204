"""Data-quality tests (SPEC §6) as SQL that returns the failing rows.

Every test reads its view through a CTE named `this`, so the same query runs on the
view's compiled rows (`aligned test`) or on a freshly built table before it is
swapped in (`aligned run`: build -> test -> swap).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.dialects.base import column, ident, sqlglot_dialect
from aligned_cli.compile.pit import OutputFeature, features_query
from aligned_cli.compile.session import CompileSession
from aligned_cli.core.ir import FeatureRef, Project
from aligned_cli.core.sql_errors import parse_message
from aligned_cli.core.tests import DataTest, TestChecks
from aligned_cli.errors import ProjectError

THIS = "this"
SAMPLE_ROWS = 5  # failing rows a test result shows


def test_query(
    project: Project,
    test: DataTest,
    dialect: str,
    relation: exp.Expr | None = None,
    session: CompileSession | None = None,
) -> exp.Query:
    """The failing rows of `test`; `relation` (default: the view's query) is `this`.

    `session` (for `project` and `dialect`) shares view queries across many tests."""
    if session is None:
        session = CompileSession(project, get_dialect(dialect))
    given = relation
    # From here every node is ours (the caller's relation is copied once), so the
    # builders need not copy: with 500 tests, their copies were most of the work.
    relation = session.view_relation(test.view) if relation is None else relation.copy()
    body = _failing_rows(session, test, relation)
    if test.kind == "custom":
        return body  # the user's SQL already carries the `this` CTE
    if test.feature is not None and session.view(test.view).aggregation(test.feature):
        rows = _aggregated_rows(session, test, relation, given)
        return body.with_(_this_alias(), as_=rows, copy=False)
    return body.with_(_this_alias(), as_=_as_query(relation), copy=False)


def compile_test_sql(
    project: Project, test: DataTest, dialect: str, session: CompileSession | None = None
) -> str:
    if session is None:
        session = CompileSession(project, get_dialect(dialect), compose_text=True)
    engine = session.dialect
    query = test_query(project, test, dialect, session=session)
    if not engine.composes_text:
        # Spark and the warehouses rewrite whole trees (Spark: no `AS MATERIALIZED`, an
        # unordered ROW_NUMBER numbered by scan order): the test runs what a model would.
        return engine.sql(query, copy=False)
    # Plain sqlglot rendering, without its defensive copy: the query is ours and
    # discarded (the engines that compose text need no rewrite of it).
    return query.sql(dialect=sqlglot_dialect(engine.sqlglot_name), pretty=True, copy=False)


def compile_test_checks(
    project: Project, test: DataTest, dialect: str, failing: str, view_sql: str
) -> TestChecks | None:
    """`TestChecks` from the test's compiled SQL (`failing`) and its view's (`view_sql`),
    each embedded as rendered (a leaf holding its text) rather than rendered again.
    None for dialects whose generators rewrite whole trees, which a leaf of text
    would defeat (`composes_text`): running there builds the checks then."""
    engine = get_dialect(dialect)
    if not engine.composes_text:
        return None
    name = engine.sqlglot_name
    total = _around(row_count_query, name, view_sql) if needs_row_count(test) else None
    return TestChecks(
        failing=failing,
        count=_around(failing_count_query, name, failing),
        sample=_around(failing_sample_query, name, failing),
        total=total,
    )


def _around(query: Callable[[exp.Expr], exp.Select], dialect: str, text: str) -> str:
    """`query(exp.var(text)).sql(dialect=dialect)`, without rendering it per test: a
    leaf of text renders verbatim, so the query is rendered once around a slot and
    the text put in its place (the same string; 500 tests made this a sixth of a
    big project's SQL compile)."""
    before, after = _rendered_around_slot(query, dialect)
    return before + text + after


@functools.cache
def _rendered_around_slot(query: Callable[[exp.Expr], exp.Select], dialect: str) -> tuple[str, str]:
    slot = "\0aligned-slot\0"  # no SQL text holds a NUL byte
    before, found, after = query(exp.var(slot)).sql(dialect=dialect).partition(slot)
    assert found and slot not in after, "the slot is rendered exactly once"
    return before, after


def checks_for_test(
    test: DataTest,
    failing: exp.Expr,
    view_rows: Callable[[], exp.Expr],
    render: Callable[[exp.Expr], str],
) -> TestChecks:
    """What running `test` executes, each query rendered by `render` (the engine's
    SQL): the failing rows (`failing`), their count and sample, and the row count of
    `view_rows()` (asked for only with a percent threshold)."""
    total = row_count_query(view_rows()) if needs_row_count(test) else None
    return TestChecks(
        failing=render(failing),
        count=render(failing_count_query(failing)),
        sample=render(failing_sample_query(failing)),
        total=render(total) if total is not None else None,
    )


def failing_count_query(failing: exp.Expr) -> exp.Select:
    """How many rows the test query `failing` returns."""
    return exp.select(exp.Count(this=exp.Star())).from_(_named(failing, "failing"))


def failing_sample_query(failing: exp.Expr) -> exp.Select:
    """The first SAMPLE_ROWS rows the test query `failing` returns."""
    return exp.select(exp.Star()).from_(_named(failing, "failing")).limit(SAMPLE_ROWS)


def row_count_query(rows: exp.Expr) -> exp.Select:
    """How many rows `rows` has: a query (or a leaf holding one's text), or a table."""
    source = rows if isinstance(rows, exp.Table) else _named(rows, "rows")
    return exp.select(exp.Count(this=exp.Star())).from_(source)


def needs_row_count(test: DataTest) -> bool:
    """Whether a threshold is a percentage of the view's rows."""
    return any(c and c.strip().endswith("%") for c in (test.warn_if, test.error_if))


def _named(query: exp.Expr, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=ident(alias)))


def _as_query(relation: exp.Expr) -> exp.Expr:
    if isinstance(relation, exp.Query | exp.Var):  # a Var is a query's SQL text
        return relation
    return exp.select(exp.Star()).from_(relation)


def _aggregated_rows(
    session: CompileSession, test: DataTest, relation: exp.Expr, given: exp.Expr | None
) -> exp.Query:
    """An aggregation's value as of each distinct (keys, event time) of the view.

    An aggregation is no column of the view's rows: it exists only as of an instant.
    Its constraint is judged at every instant the view has an event for the entity
    (the view's own keys and event times as the spine), so a failing row names the
    entity and time at which the value broke it. Rows with a NULL key or event time
    belong to no window and are left out. `given` (the staged table of `aligned run`)
    is also what the aggregation reads, so new data is judged before it is swapped in.
    """
    view = session.view(test.view)
    assert test.feature is not None and view.event_timestamp is not None
    keys = [*view.entities, view.event_timestamp]
    rows = exp.Subquery(this=_as_query(relation), alias=exp.TableAlias(this=ident("rows")))
    present = [exp.not_(exp.Is(this=column(k), expression=exp.Null())) for k in keys]
    spine = (
        exp.select(*(column(k) for k in keys), copy=False)
        .distinct()
        .from_(rows, copy=False)
        .where(exp.and_(*present), copy=False)
    )
    output = OutputFeature(FeatureRef(view=view.name, feature=test.feature), test.feature)
    return features_query(
        session.project,
        [output],
        spine,
        keys,
        view.event_timestamp,
        session.dialect,
        # The view's event times are instants (TIMESTAMPTZ) on every engine.
        spine_timestamp_type="TIMESTAMP WITH TIME ZONE",
        # A staged table becomes a query: the aggregation embeds it as a subquery.
        view_relations={view.name: _as_query(given)} if given is not None else None,
        session=session,
    )


def _this() -> exp.Table:
    return exp.Table(this=ident(THIS))


def _this_alias() -> exp.TableAlias:
    # What `with_("this", ...)` parses the name into, built without running the parser.
    return exp.TableAlias(this=exp.to_identifier(THIS))


def _failing_rows(session: CompileSession, test: DataTest, relation: exp.Expr) -> exp.Query:
    # Builders get fresh nodes only (`copy=False`): each shared node is copied here.
    col = column(test.feature) if test.feature else None
    rows = exp.select(exp.Star(), copy=False).from_(_this(), copy=False)
    kind = test.kind
    if kind == "required":
        assert col is not None
        return rows.where(exp.Is(this=col, expression=exp.Null()), copy=False)
    if kind in ("lower_bound", "upper_bound"):
        assert col is not None
        bound = _literal(test.value)
        if kind == "lower_bound":
            broken: exp.Expr = (
                exp.LT(this=col, expression=bound)
                if test.is_inclusive
                else exp.LTE(this=col, expression=bound)
            )
        else:
            broken = (
                exp.GT(this=col, expression=bound)
                if test.is_inclusive
                else exp.GTE(this=col, expression=bound)
            )
        return rows.where(broken, copy=False)
    if kind == "accepted_values":
        assert col is not None
        values = [_literal(v) for v in (test.value or [])]
        allowed = exp.In(this=col, expressions=values) if values else exp.false()
        return rows.where(
            exp.and_(exp.not_(exp.Is(this=col, expression=exp.Null())), exp.not_(allowed)),
            copy=False,
        )
    if kind == "relationships":
        assert col is not None
        return rows.where(_missing_parent(session, test, col), copy=False)
    if kind == "unique":
        keys = list(test.value or [])
        count = exp.Count(this=exp.Star())
        # A row with a NULL entity key or event time matches nothing (SPEC §4), so it
        # duplicates nothing either (dbt's unique skips NULLs too); a NULL created
        # timestamp is a value here: two such versions of one event are a tie.
        created = session.project.views[test.view].created_timestamp
        known = [
            exp.not_(exp.Is(this=column(k), expression=exp.Null())) for k in keys if k != created
        ]
        grouped = exp.select(
            *(column(k) for k in keys),
            exp.alias_(count, ident("n_records"), copy=False),
            copy=False,
        ).from_(_this(), copy=False)
        if known:
            grouped = grouped.where(exp.and_(*known, copy=False), copy=False)
        return grouped.group_by(*(column(k) for k in keys), copy=False).having(
            exp.GT(this=count.copy(), expression=exp.Literal.number(1)), copy=False
        )
    if kind == "null_rate":
        assert col is not None
        rate = _null_rate(col)
        return (
            exp.select(
                exp.alias_(rate, ident("null_rate")),
                exp.alias_(_literal(test.value), ident("max_null_rate")),
            )
            .from_(_this())
            .having(exp.GT(this=rate.copy(), expression=_literal(test.value)))
        )
    if kind in ("mean", "min", "max"):
        assert col is not None
        return _statistic(test, col)
    if kind == "row_count":
        count = exp.Count(this=exp.Star())
        bounds = test.value or {}
        return (
            exp.select(exp.alias_(count, ident("row_count")))
            .from_(_this())
            .having(_outside(count.copy(), bounds.get("min"), bounds.get("max")))
        )
    if kind == "drift":
        assert col is not None
        # Evaluated by the runner against the previous run's statistics.
        return exp.select(
            exp.alias_(exp.Avg(this=col), ident("mean")),
            exp.alias_(exp.func("stddev_samp", col.copy()), ident("stddev")),
            exp.alias_(exp.Count(this=exp.Star()), ident("row_count")),
        ).from_(_this())
    if kind == "custom":
        return _custom(test, session.project.vars, relation)
    raise ProjectError(f"unknown test kind '{kind}'", location=test.location)


def _literal(value: Any) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if value is None:
        return exp.Null()
    return exp.Literal.string(str(value))


def _null_rate(col: exp.Column) -> exp.Expr:
    nulls = exp.Sum(
        this=exp.Case(
            ifs=[
                exp.If(
                    this=exp.Is(this=col.copy(), expression=exp.Null()), true=exp.Literal.number(1)
                )
            ],
            default=exp.Literal.number(0),
        )
    )
    total = exp.Count(this=exp.Star())
    as_float = exp.Cast(this=nulls, to=exp.DataType.build("double"))
    return exp.Div(this=as_float, expression=exp.func("nullif", total, exp.Literal.number(0)))


def _statistic(test: DataTest, col: exp.Column) -> exp.Query:
    function = {"mean": exp.Avg, "min": exp.Min, "max": exp.Max}[test.kind]
    value = function(this=col)
    bounds = test.value or {}
    return (
        exp.select(exp.alias_(value, ident(test.kind)))
        .from_(_this())
        .having(_outside(value.copy(), bounds.get("min"), bounds.get("max")))
    )


def _outside(value: exp.Expr, low: Any, high: Any) -> exp.Expr:
    checks: list[exp.Expr] = []
    if low is not None:
        checks.append(exp.LT(this=value.copy(), expression=_literal(low)))
    if high is not None:
        checks.append(exp.GT(this=value.copy(), expression=_literal(high)))
    return exp.or_(*checks) if checks else exp.false()


def _missing_parent(session: CompileSession, test: DataTest, col: exp.Column) -> exp.Expr:
    target = str((test.value or {}).get("to"))
    parent_view = session.project.views[target]
    field = (test.value or {}).get("field") or parent_view.entities[0]
    parent = exp.Subquery(
        this=session.view_relation(parent_view.name),
        alias=exp.TableAlias(this=ident("parent")),
    )
    exists = exp.Exists(
        this=exp.select(exp.Literal.number(1))
        .from_(parent)
        .where(exp.EQ(this=column(field, "parent"), expression=column(test.feature or "", THIS)))
    )
    return exp.and_(exp.not_(exp.Is(this=col, expression=exp.Null())), exp.not_(exists))


def _custom(test: DataTest, variables: dict[str, Any], relation: exp.Expr) -> exp.Query:
    """The test's SELECT, rendered now that `{{ this }}` is known (with `var`/`env_var`
    like every other YAML string), over `relation` as `this`."""
    from aligned_cli.parse.jinja import render

    assert test.sql is not None and test.location is not None
    text = render(
        test.sql, location=test.location, variables=variables, extra={"this": f'"{THIS}"'}
    )
    hint = (
        "a custom test is a SELECT returning the failing rows: select * from {{ this }} where ..."
    )
    try:
        parsed = sqlglot.parse_one(text, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as error:
        raise ProjectError(
            f"custom test '{test.name}' is not valid SQL: {parse_message(error)}",
            location=test.location,
            hint=hint,
        ) from None
    if not isinstance(parsed, exp.Query):
        raise ProjectError(
            f"custom test '{test.name}' must be a SELECT returning the failing rows",
            location=test.location,
            hint=hint,
        )
    return parsed.with_(_this_alias(), as_=_as_query(relation))
