"""Dialect lookup: `get_dialect("duckdb")`."""

from __future__ import annotations

from aligned_cli.compile.dialects.base import Dialect
from aligned_cli.errors import UsageError, did_you_mean

DIALECT_NAMES = ("duckdb", "postgres")


def get_dialect(name: str) -> Dialect:
    """The dialect called `name`; an unknown name is a UsageError listing the known ones."""
    key = name.strip().lower()
    if key in ("postgresql", "postgres"):
        from aligned_cli.compile.dialects.postgres import PostgresDialect

        return PostgresDialect()
    if key == "duckdb":
        from aligned_cli.compile.dialects.duckdb import DuckDBDialect

        return DuckDBDialect()
    raise UsageError(
        f"unknown dialect '{name}'; known dialects: {', '.join(DIALECT_NAMES)}",
        hint=did_you_mean(name, DIALECT_NAMES),
    )


__all__ = ["DIALECT_NAMES", "Dialect", "get_dialect"]
