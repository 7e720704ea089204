"""Fill values, text read as another type and casts in derived expressions are compile
errors where DuckDB or PostgreSQL would fail when the query runs."""

from __future__ import annotations

import pytest
from sqlglot import exp

from aligned_cli.compile.expressions import infer_type, parse_expression, resolve_columns
from aligned_cli.compile.literal_types import text_fits, unsupported_cast
from aligned_cli.core.location import Location
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError

WHERE = Location(file="features/f.yml", line=12, col=7)
IN_PYTHON = Location(file="features/f.py", line=9)
SCHEMA = {
    "f": DataType.FLOAT,
    "n": DataType.INT32,
    "small": DataType.INT8,
    "s": DataType.STRING,
    "b": DataType.BOOL,
    "t": DataType.TIMESTAMP,
    "d": DataType.DATE,
    "j": DataType.JSON,
    "e": DataType.EMBEDDING,
    "raw": None,
}


def _infer(sql: str, where: Location = WHERE, dialect: str = "duckdb") -> DataType | None:
    tree = resolve_columns(parse_expression(sql, where, dialect=dialect), SCHEMA, sql, where)
    return infer_type(tree, SCHEMA, sql, where, dialect=dialect)


# --- fill values (`coalesce`, the DSL's `fill_na`) ----------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("coalesce(f, 0)", DataType.FLOAT),  # an integer fills a float
        ("coalesce(f, -1.5)", DataType.FLOAT),
        ("coalesce(f, '1.5')", DataType.FLOAT),  # text both engines read as a number
        ("coalesce(f, 'NaN')", DataType.FLOAT),
        ("coalesce(n, 0)", DataType.INT32),
        ("coalesce(n, '3')", DataType.INT32),
        ("coalesce(n, 2.0)", DataType.FLOAT),  # a whole number: as the engines type it
        ("coalesce(b, 'yes')", DataType.BOOL),
        ("coalesce(b, false)", DataType.BOOL),
        ("coalesce(t, '2024-01-31')", DataType.TIMESTAMP),
        ("coalesce(t, '2024-01-31T10:00:00Z')", DataType.TIMESTAMP),
        ("coalesce(d, '2024-01-31')", DataType.DATE),
        ("coalesce(j, '{\"a\": 1}')", DataType.JSON),
        ("coalesce(s, 'none')", DataType.STRING),
        ("coalesce(raw, 'x')", None),  # unknown type: the engine's to judge
        ("coalesce(n, raw)", None),
    ],
)
def test_fill_values_of_the_features_type_compile(sql: str, expected: DataType | None) -> None:
    assert _infer(sql) == expected


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("coalesce(f, 'a')", "fill value 'a' cannot be read as float"),
        ("coalesce(f, '')", "fill value '' cannot be read as float"),
        ("coalesce(f, '1_000')", "fill value '1_000' cannot be read as float"),  # DuckDB only
        ("coalesce(n, '1.5')", "fill value '1.5' cannot be read as int32"),  # PostgreSQL refuses
        ("coalesce(n, '99999999999')", "cannot be read as int32"),  # out of range
        ("coalesce(small, '300')", "cannot be read as int8"),
        ("coalesce(b, 'maybe')", "fill value 'maybe' cannot be read as bool"),
        ("coalesce(b, 'on')", "cannot be read as bool"),  # DuckDB refuses
        ("coalesce(t, 'soon')", "fill value 'soon' cannot be read as timestamp"),
        ("coalesce(d, 'x')", "cannot be read as date"),
        ("coalesce(j, 'x')", "fill value 'x' cannot be read as json"),
        ("coalesce(e, '[1, 2]')", "cannot be read as embedding"),  # PostgreSQL reads '{1,2}'
        ("coalesce(n, 1.5)", "fill value 1.5 in 'COALESCE(\"n\", 1.5)' is not a whole number"),
        ("coalesce(n, -0.5)", "is not a whole number"),
    ],
)
def test_fill_values_engines_cannot_read_are_located_type_errors(sql: str, fragment: str) -> None:
    with pytest.raises(ProjectError) as caught:
        _infer(sql)
    text = str(caught.value)
    assert text.startswith("features/f.yml:12:7: type mismatch in expression"), text
    assert sql in text and fragment in text, text
    assert caught.value.hint


def test_booleans_and_text_do_not_fill_numbers() -> None:
    for sql in ("coalesce(f, true)", "coalesce(n, false)", "coalesce(s, 1)", "coalesce(b, 0)"):
        with pytest.raises(ProjectError, match="type mismatch"):
            _infer(sql)


def test_fill_hints_speak_the_language_of_the_declaration() -> None:
    with pytest.raises(ProjectError) as yaml:
        _infer("coalesce(n, 1.5)")
    assert "coalesce(CAST(n AS DOUBLE), 1.5)" in (yaml.value.hint or "")
    with pytest.raises(ProjectError) as python:
        _infer("coalesce(n, 1.5)", IN_PYTHON)
    assert ".fill_na(0)" in (python.value.hint or "")
    with pytest.raises(ProjectError) as text:
        _infer("coalesce(f, 'a')", IN_PYTHON)
    assert ".fill_na(value)" in (text.value.hint or "")
    assert "number without quotes" in (text.value.hint or "")


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("f = 'a'", "text 'a' cannot be read as float"),
        ("f in (1, 'x')", "text 'x' cannot be read as float"),
        ("t > 'soon'", "text 'soon' cannot be read as timestamp"),
        ("t between '2024-01-01' and 'later'", "text 'later' cannot be read as timestamp"),
        ("nullif(n, 'x')", "text 'x' cannot be read as int32"),
        ("case when b then f else 'a' end", "text 'a' cannot be read as float"),
        ("greatest(f, 'a')", "text 'a' cannot be read as float"),
    ],
)
def test_text_compared_with_or_given_for_another_type_must_read_as_it(
    sql: str, fragment: str
) -> None:
    with pytest.raises(ProjectError, match="type mismatch") as caught:
        _infer(sql)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "sql", ["t > '2024-01-31'", "t > '2024/01/31'", "d = '2024-1-31'", "f > '1e3'", "s = 'a'"]
)
def test_text_engines_read_as_the_other_type_compiles(sql: str) -> None:
    assert _infer(sql) == DataType.BOOL


# --- casts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CAST(f AS BIGINT)", DataType.INT64),
        ("CAST(f AS INTEGER)", DataType.INT32),
        ("f::SMALLINT", DataType.INT16),
        ("CAST(f AS TINYINT)", DataType.INT8),
        ("CAST(n AS DOUBLE)", DataType.FLOAT),
        ("CAST(n AS REAL)", DataType.FLOAT32),
        ("CAST(f AS DECIMAL(38, 2))", DataType.FLOAT),
        ("CAST(f AS DECIMAL)", DataType.FLOAT),
        ("CAST(f AS VARCHAR)", DataType.STRING),
        ("f::TEXT", DataType.STRING),
        ("CAST(n AS BOOLEAN)", DataType.BOOL),
        ("CAST(s AS DATE)", DataType.DATE),
        ("CAST(s AS TIMESTAMPTZ)", DataType.TIMESTAMP),
        ("CAST(s AS JSON)", DataType.JSON),
        ("CAST(e AS DOUBLE[])", DataType.EMBEDDING),
        ("TRY_CAST(s AS BIGINT)", DataType.INT64),
        ("t + CAST('1 day' AS INTERVAL)", DataType.TIMESTAMP),  # date arithmetic
        ("DATE '2024-01-31'", DataType.DATE),  # a typed literal is a cast too
    ],
)
def test_casts_to_aligned_types_compile(sql: str, expected: DataType) -> None:
    assert _infer(sql) == expected


def test_casts_to_timestamp_compile() -> None:
    _infer("CAST(s AS TIMESTAMP)")
    _infer("TIMESTAMP '2024-01-31 10:00:00'")
    assert _infer("CAST(s AS TIMESTAMP)", dialect="postgres") == DataType.TIMESTAMP


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("CAST(f AS INT[])", "casts to INT[]: a list of anything but float"),
        ("CAST(s AS UUID)", "casts to UUID: it is not a type of aligned"),
        ("TRY_CAST(s AS UUID)", "casts to UUID"),
        ("CAST(f AS DECIMAL(99, 99))", "DECIMAL holds 1 to 38 digits"),
        ("CAST(f AS DECIMAL(10, 12))", "scale must be between 0 and its precision"),
        ("CAST(n AS UINTEGER)", "casts to UINTEGER"),  # DuckDB only
        ("CAST(n AS HUGEINT)", "casts to INT128"),
        ("CAST(s AS BLOB)", "casts to BLOB"),
        ("CAST(s AS TIMESTAMP_NS)", "casts to TIMESTAMP_NS"),
        ("CAST(s AS MAP(VARCHAR, INT))", "casts to MAP"),
        ("lower(CAST(f AS UUID))", "casts to UUID"),  # anywhere in the expression
    ],
)
def test_casts_to_other_types_are_located_errors_naming_the_supported_ones(
    sql: str, fragment: str
) -> None:
    with pytest.raises(ProjectError) as caught:
        _infer(sql)
    text = str(caught.value)
    assert text.startswith(f"features/f.yml:12:7: expression '{sql}' casts to"), text
    assert fragment in text, text
    hint = caught.value.hint or ""
    for supported in ("BIGINT (int64)", "DOUBLE (float)", "VARCHAR (string)", "TIMESTAMP"):
        assert supported in hint, hint


def test_postgres_lengths_and_precisions_are_refused_in_a_postgres_project() -> None:
    for sql in ("CAST(s AS VARCHAR(3))", "CAST(s AS CHAR(2))", "CAST(s AS TIMESTAMP(3))"):
        with pytest.raises(ProjectError, match=r"PostgreSQL applies its (length|precision)"):
            _infer(sql, dialect="postgres")
    assert _infer("s::jsonb", dialect="postgres") == DataType.JSON
    # PostgreSQL's own precision (microseconds) is what DuckDB keeps: nothing differs.
    assert _infer("CAST(s AS TIMESTAMP(6))", dialect="postgres") == DataType.TIMESTAMP


def test_a_time_of_day_may_be_computed_on_the_way() -> None:
    """TIME is no type of aligned, but both engines have it (a business-hours flag)."""
    assert _infer("CAST(t AS TIME) BETWEEN '09:00' AND '17:00'") == DataType.BOOL


@pytest.mark.parametrize(
    ("text", "sql_type", "fits"),
    [
        (" 7 ", "INT", True),
        ("+7", "BIGINT", True),
        ("1e3", "BIGINT", False),
        ("0x10", "INT", False),
        ("127", "TINYINT", True),
        ("128", "TINYINT", False),
        ("255", "UTINYINT", True),
        ("-1", "UTINYINT", False),
        (".5", "DOUBLE", True),
        ("-Infinity", "DOUBLE", True),
        ("1,5", "DOUBLE", False),
        ("TRUE", "BOOLEAN", True),
        (" true ", "BOOLEAN", False),
        ("epoch", "TIMESTAMP", True),
        ("2024-01-31 10:00:00+02:00", "TIMESTAMPTZ", True),
        ("now", "TIMESTAMP", False),  # PostgreSQL only
        ("20240131", "TIMESTAMP", False),  # PostgreSQL only
        # After the date, the engines read what follows (both read these alike):
        ("2024-01-31 10:00:00 UTC", "TIMESTAMPTZ", True),
        ("2024-01-31 10:00:00 Europe/Oslo", "TIMESTAMP", True),
        ("2024-01-31T10:00:00+00:00:00", "TIMESTAMPTZ", True),
        ("2024-01-31 10:00:00.1234567890", "TIMESTAMP", True),
        ("soon 2024-01-31", "TIMESTAMP", False),
        ("2024-01-31t10:00:00", "TIMESTAMP", False),  # DuckDB reads only `T`
        ("12:00", "TIME", True),  # not checked
        ("anything", "VARCHAR", True),
    ],
)
def test_text_fits(text: str, sql_type: str, fits: bool) -> None:
    assert text_fits(text, exp.DataType.build(sql_type, dialect="duckdb")) is fits


def test_unsupported_cast_of_an_embedding_with_a_size_or_list_of_lists() -> None:
    assert unsupported_cast(exp.DataType.build("DOUBLE[]", dialect="duckdb")) is None
    assert unsupported_cast(exp.DataType.build("DOUBLE[][]", dialect="duckdb")) is not None
