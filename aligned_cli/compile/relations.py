"""The raw rows of a source, as a SELECT with the source's `mapping` applied."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from aligned_cli.compile.dialects.base import Dialect, ident
from aligned_cli.core.ir import Project, Source
from aligned_cli.core.naming import STAGING_SCHEMA, staging_table
from aligned_cli.errors import ProjectError

SOURCE_ALIAS = "source"


def source_relation(source: Source, dialect: Dialect) -> exp.Expr:
    """The FROM item of a source: a file scan, a table or the declared query."""
    if source.kind == "file":
        return dialect.file_scan(source)
    if source.kind == "query":
        return exp.Subquery(
            this=_parse_query(source, dialect), alias=exp.TableAlias(this=ident(SOURCE_ALIAS))
        )
    if not source.table:
        raise ProjectError(
            f"source '{source.name}' declares none of file, table or query",
            location=source.location,
        )
    return exp.Table(
        this=ident(source.table), db=ident(source.schema_name) if source.schema_name else None
    )


def source_query(
    project: Project, source: Source, dialect: Dialect, *, at_origin: bool = False
) -> exp.Select:
    """Every row of `source`, raw columns renamed by its `mapping`.

    DuckDB renames in place (`* RENAME`), keeping column order and unmapped columns.
    Postgres cannot rename a star, so mapped columns are added under their new names
    (the raw names stay visible); staged file sources are already mapped. A source on
    another connection is read from its staged copy, unless `at_origin` (the query runs
    on the source's own connection).
    """
    if not at_origin and project.on_other_connection(source, dialect.name):
        # Staged into the run's engine with its mapping applied (`execute.foreign_sources`).
        staged = exp.Table(
            this=ident(staging_table(project.name, source.name)), db=ident(STAGING_SCHEMA)
        )
        return exp.select(exp.Star(), copy=False).from_(staged, copy=False)
    # Every compiled read of a file source passes here: PostgreSQL's staged tables
    # are named per project, so the scan must know which project it belongs to.
    relation = source_relation(source, dialect.for_project(project.name))
    mapping = {raw: new for raw, new in source.mapping.items() if raw != new}
    already_mapped = source.kind == "file" and dialect.staged_file(source)
    coarse = _timestamps_to_micros(source) if dialect.name == "duckdb" else []
    if coarse:
        # Its own SELECT: DuckDB refuses a column in both REPLACE and RENAME.
        relation = (
            exp.select(exp.Star(replace=coarse), copy=False)
            .from_(relation, copy=False)
            .subquery(ident("scan"), copy=False)
        )
    if not mapping or already_mapped:
        return exp.select(exp.Star(), copy=False).from_(relation, copy=False)
    if dialect.name == "duckdb":
        star = exp.Star(
            rename=[
                exp.Alias(this=exp.Column(this=ident(raw)), alias=ident(new))
                for raw, new in mapping.items()
            ]
        )
        return exp.select(star, copy=False).from_(relation, copy=False)
    renamed = [exp.alias_(exp.Column(this=ident(raw)), ident(new)) for raw, new in mapping.items()]
    return exp.select(exp.Star(), *renamed, copy=False).from_(relation, copy=False)


# DuckDB's timestamps of another precision than microseconds (parquet written by
# pandas holds nanoseconds): compared with a TIMESTAMP WITH TIME ZONE (an event time
# read as an instant, `current_timestamp`) they need an explicit cast, so a file
# source's are read as TIMESTAMP, aligned's microsecond timestamp, at the scan.
_COARSE_OR_FINE_TIMESTAMPS = frozenset({"TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"})


def _timestamps_to_micros(source: Source) -> list[exp.Expr]:
    """`CAST(raw AS TIMESTAMP) AS raw` for each such column of a file source (DuckDB
    names the raw columns in `* REPLACE`, before its mapping renames them)."""
    if source.kind != "file" or not source.columns:
        return []
    raw_of = {new: raw for raw, new in source.mapping.items()}
    casts: list[exp.Expr] = []
    for name, duckdb_type in source.columns.items():
        if duckdb_type.upper() in _COARSE_OR_FINE_TIMESTAMPS:
            raw = ident(raw_of.get(name, name))
            micros = exp.Cast(this=exp.Column(this=raw), to=exp.DataType.build("TIMESTAMP"))
            casts.append(exp.alias_(micros, raw.copy()))
    return casts


def known_source_columns(source: Source) -> list[str] | None:
    """The source's columns when compile time can know them (read from its file, or
    its mapping), else None."""
    if source.columns is not None:
        return list(source.columns)
    if not source.mapping:
        return None
    return list(dict.fromkeys(source.mapping.values()))


def _parse_query(source: Source, dialect: Dialect) -> exp.Query:
    text = source.query or ""
    try:
        parsed = sqlglot.parse_one(text, read=dialect.sqlglot_name)
    except (ParseError, TokenError) as error:
        raise ProjectError(
            f"cannot parse the query of source '{source.name}': {str(error).splitlines()[0]}",
            location=source.location,
        ) from None
    if not isinstance(parsed, exp.Query):
        raise ProjectError(
            f"the query of source '{source.name}' is not a SELECT", location=source.location
        )
    return parsed
