"""Rendering SQL for dialects where sqlglot may silently drop a construct.

sqlglot transpiles what it can and, for some constructs, quietly renders something
weaker (Spark's `COLLECT_LIST` for an ordered `ARRAY_AGG`, a dropped `IGNORE NULLS`,
`* EXCEPT` where Trino has none). For a point-in-time dataset that would be wrong
data without an error, so the warehouse dialects render through `render_checked`:
every construct whose meaning depends on one keyword is rendered on its own and
must keep that keyword, and sqlglot's own "unsupported" warnings become errors.
Either failure is a ProjectError naming the dialect and the construct.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from aligned_cli.errors import ProjectError


def _ordered_array_agg(node: exp.Expr) -> bool:
    return isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)


def _star_except(node: exp.Expr) -> bool:
    return isinstance(node, exp.Star) and bool(node.args.get("except_"))


# (what it is, does this node use it, keywords that must survive, one of them)
_CONSTRUCTS: tuple[tuple[str, Callable[[exp.Expr], bool], tuple[str, ...]], ...] = (
    ("IGNORE NULLS", lambda n: isinstance(n, exp.IgnoreNulls), ("IGNORE NULLS",)),
    ("an ordered ARRAY_AGG", _ordered_array_agg, ("ORDER BY",)),
    ("a star excluding columns", _star_except, ("EXCEPT", "EXCLUDE")),
)


def render_checked(dialect: str, sqlglot_name: str, tree: exp.Expr, pretty: bool) -> str:
    """`tree` as SQL of `sqlglot_name`; a construct it cannot express is a ProjectError.

    `tree` must be whole (no pre-rendered text leaves: these dialects declare
    `composes_text = False`): their generators rewrite whole scopes.
    """
    for node in tree.walk():
        for what, uses, keywords in _CONSTRUCTS:
            if not uses(node):
                continue
            alone = node.sql(dialect=sqlglot_name).upper()
            if not any(k in alone for k in keywords):
                raise unsupported(dialect, what)
    try:
        return tree.sql(dialect=sqlglot_name, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise unsupported(dialect, str(error).splitlines()[0]) from None


def unsupported(dialect: str, construct: str) -> ProjectError:
    return ProjectError(
        f"dialect '{dialect}' cannot express {construct}, which this SQL needs",
        hint="compile this node for another dialect (duckdb, postgres, spark)",
    )


# --- day of the week ------------------------------------------------------------------

# DuckDB's date parts counting 0 = Sunday .. 6 = Saturday, and 1 = Monday .. 7 = Sunday.
_SUNDAY_ZERO_PARTS = frozenset({"DOW", "DAYOFWEEK", "WEEKDAY"})
_ISO_PARTS = frozenset({"ISODOW"})

DayForm = Callable[[exp.Expr], exp.Expr]


def _iso_mod_seven(iso: DayForm) -> DayForm:
    """0 = Sunday .. 6 = Saturday from an ISO day (7 = Sunday): `iso % 7`."""

    def sunday_zero(ts: exp.Expr) -> exp.Expr:
        day = iso(ts)
        operand = day if isinstance(day, exp.Func | exp.Column | exp.Paren) else exp.paren(day)
        return exp.Mod(this=operand, expression=exp.Literal.number(7))

    return sunday_zero


def day_of_week_forms(
    expression: exp.Expr, *, iso: DayForm, sunday_zero: DayForm | None = None
) -> exp.Expr:
    """`expression` with DuckDB's day-of-week numbers in an engine's own spelling.

    DuckDB's `dayofweek(ts)`, `date_part('dow', ts)` (an EXTRACT by now, see
    `translate_expression`) and `extract(dow from ts)` count 0 = Sunday .. 6 =
    Saturday; `isodow` counts 1 = Monday .. 7 = Sunday. sqlglot prints each engine's
    nearest function, which numbers the days otherwise (BigQuery's DAYOFWEEK 1 =
    Sunday, Trino's ISO day_of_week, Snowflake's session-dependent DAYOFWEEK), so the
    forms are given per engine: `iso(ts)`, and `sunday_zero(ts)` where the engine has a
    shorter form than `iso(ts) % 7`, the default. A copy when it changes.
    """
    if expression.find(exp.DayOfWeek, exp.DayOfWeekIso, exp.Extract) is None:
        return expression
    sunday_zero = sunday_zero or _iso_mod_seven(iso)

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DayOfWeek):
            return exp.Paren(this=sunday_zero(node.this))
        if isinstance(node, exp.DayOfWeekIso):
            return exp.Paren(this=iso(node.this))
        if isinstance(node, exp.Extract):
            part = node.name.upper()
            if part in _SUNDAY_ZERO_PARTS:
                return exp.Paren(this=sunday_zero(node.expression))
            if part in _ISO_PARTS:
                return exp.Paren(this=iso(node.expression))
        return node

    return expression.transform(rewrite)


# --- row numbers that do not depend on the scan ---------------------------------------

WholeRow = Callable[[str], exp.Expr]


def number_rows_by_content(
    tree: exp.Expr,
    dialect: str,
    ascending: Callable[[exp.Expr], exp.Ordered],
    *,
    whole_row: WholeRow | None,
    order_partitions: bool = False,
) -> exp.Expr:
    """`tree` with each `ROW_NUMBER() OVER ()` (the spine's numbering) ordered by the
    rows' own values, in place.

    The spine CTE is read more than once (the output and each point-in-time join,
    joined back by row number). BigQuery evaluates a CTE once per reference, Trino
    inlines it, and none of them has `AS MATERIALIZED`: an unordered numbering could
    differ between the reads and join features to the wrong rows (Snowflake rejects
    it outright). Ordered by all the spine's columns, left to right, every read
    numbers the rows alike; rows that tie are equal in every column, so whichever
    number each gets, it gets the same features. A warehouse table has no row order
    of its own, so this is also the output order. Where the columns are unknown at
    compile time (`* `), `whole_row(alias)` is one orderable value of the whole row;
    None: a ProjectError.

    `order_partitions`: a partitioned unordered ROW_NUMBER (one row per duplicate
    key: any) gets its partition as ORDER BY, for engines requiring one (Snowflake).
    """
    for window in list(tree.find_all(exp.Window)):
        if not isinstance(window.this, exp.RowNumber) or window.args.get("order"):
            continue
        partition = window.args.get("partition_by")
        if partition:
            if order_partitions:
                keys = [ascending(p.copy()) for p in partition]
                window.set("order", exp.Order(expressions=keys))
            continue
        select = window.find_ancestor(exp.Select)
        if select is None:
            raise unsupported(dialect, "a numbering of rows in no SELECT")
        items = [e.unalias() for e in select.expressions]
        if any(isinstance(e, exp.Star) or isinstance(e.this, exp.Star) for e in items):
            source = select.args.get("from_")
            alias = source.this.alias if source is not None else ""
            if whole_row is None or not alias:
                raise unsupported(
                    dialect,
                    "a spine whose columns are unknown at compile time (a table or query"
                    " spine: its rows must be numbered in one order however often they"
                    " are read; use a file spine, whose header is read when compiling)",
                )
            values: list[exp.Expr] = [whole_row(alias)]
        else:
            values = [e.copy() for e in items if isinstance(e, exp.Column)]
        if not values:
            raise unsupported(dialect, "a numbering of rows without columns to order them by")
        window.set("order", exp.Order(expressions=[ascending(v) for v in values]))
    return tree
