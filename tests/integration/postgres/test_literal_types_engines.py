"""The rules `compile.literal_types` applies, checked against real DuckDB and
PostgreSQL: text it accepts for a type both engines read as that type, text it refuses
at least one refuses; casts it accepts both run, and the engine-specific ones it
refuses fail on one."""

from __future__ import annotations

import duckdb
import psycopg
import pytest
import sqlglot
from sqlglot import exp

from aligned_cli.compile.literal_types import text_fits, unsupported_cast

# (DuckDB type, text): each is read as a fill value, `coalesce(NULL::type, 'text')`.
TEXTS = [
    *(("DOUBLE", t) for t in ("a", "1", " 1.5 ", "1e3", "inf", "NaN", "-Infinity", "", ".5")),
    *(("DOUBLE", t) for t in ("0x10", "1_000", "1,5")),
    *(("INTEGER", t) for t in ("3", " 3 ", "+3", "1.5", "1.0", "1e3", "0x10", "1_000", "a")),
    ("INTEGER", "99999999999"),
    ("SMALLINT", "70000"),
    ("BIGINT", "9223372036854775807"),
    *(("BOOLEAN", t) for t in ("yes", "t", "1", "TRUE", "no", "n", "f", "0", "y")),
    *(("BOOLEAN", t) for t in ("on", "off", "maybe", " true ", "tr")),
    *(("DATE", t) for t in ("2024-01-02", "2024-01-02 10:00", "x", "2024-1-2", "2024/01/02")),
    ("DATE", "20240102"),
    *(("TIMESTAMP", t) for t in ("2024-01-02", "2024-01-02T10:00:00Z", "x", "now", "epoch")),
    ("TIMESTAMP", "2024-01-02 10:00:00+02:00"),
    *(("TIMESTAMP", t) for t in ("2024-01-02 10:00:00.123456", "2024-01-02T10:00")),
    *(("TIMESTAMP", t) for t in ("2024-01-02 10:00:00+0200", "20240102T100000", "2024-01-02x")),
    *(("TIMESTAMPTZ", t) for t in ("2024-01-02", "x", "2024-01-02T10:00:00Z")),
    *(("JSON", t) for t in ("x", '{"a": 1}', "[1, 2]")),
    *(("DOUBLE[]", t) for t in ("[1,2]", "{1,2}")),
]


def _postgres_type(duckdb_type: str) -> str:
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql("postgres")


def _runs(run: object, sql: str) -> bool:
    try:
        run(sql)  # type: ignore[operator]
    except Exception:  # any engine error means 'refused'
        return False
    return True


@pytest.fixture(scope="module")
def engines(postgres_server_dsn: str):  # type: ignore[no-untyped-def]
    duck = duckdb.connect()
    with psycopg.connect(postgres_server_dsn, autocommit=True) as pg:
        yield (
            lambda sql: duck.sql(sql).fetchall(),
            lambda sql: pg.execute(sql).fetchall(),  # type: ignore[arg-type]
        )
    duck.close()


@pytest.mark.parametrize(("sql_type", "text"), TEXTS)
def test_text_fits_exactly_when_both_engines_read_it(
    engines: tuple[object, object], sql_type: str, text: str
) -> None:
    duck, pg = engines
    literal = exp.Literal.string(text).sql()
    read_by_duckdb = _runs(
        duck, f"SELECT coalesce(x, {literal}) FROM (SELECT CAST(NULL AS {sql_type}) AS x) q"
    )
    pg_type = _postgres_type(sql_type)
    # A ::text round trip: psycopg cannot turn every timestamp PostgreSQL reads into Python.
    read_by_postgres = _runs(
        pg, f"SELECT coalesce(x, {literal})::text FROM (SELECT CAST(NULL AS {pg_type}) AS x) q"
    )
    dtype = exp.DataType.build(sql_type, dialect="duckdb")
    assert text_fits(text, dtype) is (read_by_duckdb and read_by_postgres), (
        read_by_duckdb,
        read_by_postgres,
    )


ACCEPTED = [
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "DOUBLE",
    "REAL",
    "DECIMAL",
    "DECIMAL(38, 2)",
    "VARCHAR",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "JSON",
    "DOUBLE[]",
    "INTERVAL",
]
# Refused because one engine lacks them (or limits them otherwise).
ONE_ENGINE_ONLY = ["UINTEGER", "UBIGINT", "HUGEINT", "TIMESTAMP_NS", "DECIMAL(99, 99)"]


@pytest.mark.parametrize("written", ACCEPTED)
def test_accepted_casts_run_on_both_engines(engines: tuple[object, object], written: str) -> None:
    duck, pg = engines
    cast = sqlglot.parse_one(f"CAST(NULL AS {written})", read="duckdb")
    assert isinstance(cast, exp.Cast) and unsupported_cast(cast.to) is None
    assert _runs(duck, f"SELECT {cast.sql('duckdb')}")
    assert _runs(pg, f"SELECT {cast.sql('postgres')}")


@pytest.mark.parametrize("written", ONE_ENGINE_ONLY)
def test_refused_engine_specific_casts_fail_on_one_engine(
    engines: tuple[object, object], written: str
) -> None:
    duck, pg = engines
    cast = sqlglot.parse_one(f"CAST(NULL AS {written})", read="duckdb")
    assert isinstance(cast, exp.Cast) and unsupported_cast(cast.to) is not None
    ran = [_runs(duck, f"SELECT {cast.sql('duckdb')}"), _runs(pg, f"SELECT {cast.sql('postgres')}")]
    assert not all(ran)
