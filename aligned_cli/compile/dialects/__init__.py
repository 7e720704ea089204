"""Dialect lookup: `get_dialect("duckdb")`."""

from __future__ import annotations

from collections.abc import Callable

from aligned_cli.compile.dialects.base import Dialect
from aligned_cli.errors import UsageError, did_you_mean

DIALECT_NAMES = ("duckdb", "postgres", "spark", "bigquery", "snowflake", "trino")
_ALIASES = {"postgresql": "postgres", "pyspark": "spark", "sparksql": "spark"}


def _duckdb() -> Dialect:
    from aligned_cli.compile.dialects.duckdb import DuckDBDialect

    return DuckDBDialect()


def _postgres() -> Dialect:
    from aligned_cli.compile.dialects.postgres import PostgresDialect

    return PostgresDialect()


def _spark() -> Dialect:
    from aligned_cli.compile.dialects.spark import SparkDialect

    return SparkDialect()


def _bigquery() -> Dialect:
    from aligned_cli.compile.dialects.bigquery import BigQueryDialect

    return BigQueryDialect()


def _snowflake() -> Dialect:
    from aligned_cli.compile.dialects.snowflake import SnowflakeDialect

    return SnowflakeDialect()


def _trino() -> Dialect:
    from aligned_cli.compile.dialects.trino import TrinoDialect

    return TrinoDialect()


# Imported lazily: compiling for DuckDB never loads the other dialects' modules.
_FACTORIES: dict[str, Callable[[], Dialect]] = {
    "duckdb": _duckdb,
    "postgres": _postgres,
    "spark": _spark,
    "bigquery": _bigquery,
    "snowflake": _snowflake,
    "trino": _trino,
}


def dialect_name(name: str) -> str:
    """The canonical name of the dialect called `name` (`POSTGRESQL` -> `postgres`); an
    unknown name is a UsageError listing the known ones."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _FACTORIES:
        raise UsageError(
            f"unknown dialect '{name}'; known dialects: {', '.join(DIALECT_NAMES)}",
            hint=did_you_mean(name, DIALECT_NAMES),
        )
    return key


def get_dialect(name: str) -> Dialect:
    """The dialect called `name`; an unknown name is a UsageError listing the known ones."""
    return _FACTORIES[dialect_name(name)]()


__all__ = ["DIALECT_NAMES", "Dialect", "dialect_name", "get_dialect"]
