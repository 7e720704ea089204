"""What sqlglot parses a SQL statement into: a derived expression is none of these.

Shared by the YAML `expression:` parser (compile) and `transform_sql` (dsl), so both
refuse `x; drop table t` (a Block) and `drop table t` the same way.
"""

from __future__ import annotations

from sqlglot import exp

STATEMENTS: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Block",
        "Values",  # `values (1)`: a table of rows, not a value of one
        "DDL",
        "DML",
        "Command",
        "Create",
        "Drop",
        "Alter",
        "Set",
        "Use",
        "Transaction",
        "Commit",
        "Rollback",
        "Pragma",
        "Copy",
        "Describe",
        "Merge",
        "Insert",
        "Update",
        "Delete",
        "Show",
        "Cache",
        "Uncache",
        "Refresh",
        "Grant",
        "Kill",
        "Analyze",
        "Summarize",
        "Attach",
        "Detach",
        "Install",
        "Declare",
        "Comment",
        "LoadData",
        "TruncateTable",
        "Export",
    )
    if hasattr(exp, name)  # names differ across sqlglot versions
)


def holds_statement(tree: exp.Expr) -> bool:
    """True when `tree` is, or contains, a statement (or several, as a Block)."""
    return tree.find(*STATEMENTS) is not None  # `find` looks at `tree` itself first
