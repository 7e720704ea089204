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
