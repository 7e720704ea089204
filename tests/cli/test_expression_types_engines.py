"""Derived features and aggregations that only an engine would have rejected are
compile errors (SPEC §9: the expression and the types), the same for YAML and the
Python DSL; an expression written in the project's dialect compiles for another only
where sqlglot can translate it (SPEC §3.1); and a date part has one declared integer
type, so its dataset column is the same on DuckDB and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from _audit import write_project
from typer.testing import CliRunner

from aligned_cli.cli.app import app

runner = CliRunner()

DATA = (
    "id,ts,val,s,flag\n1,2024-01-01 00:00:00,10,abc,true\n1,2024-01-02 10:20:30.75,20,def,false\n"
)

VIEW = """
sources:
  - name: feat
    file: data/feat.csv
feature_views:
  - name: a
    source: feat
    entities: [id]
    event_timestamp: ts
    features:
      id: {type: int32}
      val: {type: float}
      s: {type: string}
      flag: {type: bool}
"""
# The line of the first feature appended to VIEW (after its leading newline is stripped).
FIRST_EXTRA_LINE = 14


def _project(root: Path, extra: str, *, connections: str = "", model: str = "") -> Path:
    project = (
        "name: e\nconnections:\n  local: {type: duckdb, path: target/e.duckdb}\n" + connections
    )
    features = VIEW + extra + model
    return write_project(root, {"data/feat.csv": DATA, "features/f.yml": features}, project)


def _compile(root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["compile", "--project-dir", str(root), *args])
    return result.exit_code, result.output


def _project_error(root: Path, *fragments: str, args: tuple[str, ...] = ()) -> str:
    code, output = _compile(root, *args)
    assert code == 2, output
    assert "Traceback" not in output and "internal error" not in output
    assert "\n  hint: " in output, output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} missing from:\n{output}"
    return output


def _manifest_feature(root: Path, view: str, name: str) -> dict[str, object]:
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    features: list[dict[str, object]] = manifest["feature_views"][view]["features"]
    return next(f for f in features if f["name"] == name)


# --- 1a: string functions of non-strings ----------------------------------------------


@pytest.mark.parametrize(
    ("expression", "shown", "hint"),
    [
        ("lower(val)", '"val" is float', "lower takes text"),
        ("upper(flag)", '"flag" is bool', "upper takes text"),
        ("length(val)", '"val" is float', "length takes text"),
        ("contains(val, 'a')", '"val" is float', "contains takes text"),
        ("starts_with(ts, '2024')", '"ts" is timestamp', "starts_with takes text"),
        ("strpos(s, val)", '"val" is float', "strpos takes text"),
        ("replace(val, '1', '2')", '"val" is float', "replace takes text"),
        ("val like '1%'", '"val" is float', "like takes text"),
        ("regexp_matches(id, '1')", '"id" is int32', "regexp_matches takes text"),
    ],
)
def test_a_string_function_of_a_non_string_is_a_located_type_error(
    tmp_path: Path, expression: str, shown: str, hint: str
) -> None:
    root = _project(tmp_path / "p", f'      bad: {{expression: "{expression}"}}\n')
    output = _project_error(
        root, f"features/f.yml:{FIRST_EXTRA_LINE}:7:", "type mismatch", expression, shown, hint
    )
    assert not (root / "target" / "manifest.json").exists(), output


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("year(val)", '"val" is float'),
        ("extract(hour from s)", '"s" is string'),
        ("date_part('dow', id)", '"id" is int32'),
        ("date_trunc('day', val)", '"val" is float'),
        ("strftime(flag, '%Y')", '"flag" is bool'),
    ],
)
def test_a_date_function_of_a_non_time_is_a_located_type_error(
    tmp_path: Path, expression: str, shown: str
) -> None:
    root = _project(tmp_path / "p", f'      bad: {{expression: "{expression}"}}\n')
    _project_error(
        root, f"features/f.yml:{FIRST_EXTRA_LINE}:7:", expression, shown, "date or timestamp"
    )


# --- 1b: branches of CASE / IF / COALESCE -----------------------------------------------


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("case when val > 1 then s else val end", '"s" is string, "val" is float'),
        ("if(val > 1, val, s)", '"val" is float, "s" is string'),
        ("coalesce(s, val)", '"s" is string, "val" is float'),
        ("case when flag then ts else val end", '"ts" is timestamp, "val" is float'),
        ("coalesce(flag, 0)", '"flag" is bool, 0 is int32'),
        ("greatest(val, s)", '"val" is float, "s" is string'),
    ],
)
def test_branches_of_different_types_are_a_located_type_error(
    tmp_path: Path, expression: str, shown: str
) -> None:
    root = _project(tmp_path / "p", f'      bad: {{expression: "{expression}"}}\n')
    _project_error(root, f"features/f.yml:{FIRST_EXTRA_LINE}:7:", expression, shown, "one type")


def test_well_typed_functions_and_branches_still_compile_with_their_types(
    tmp_path: Path,
) -> None:
    extra = "".join(
        f'      f{i}: {{expression: "{text}"}}\n'
        for i, text in enumerate(
            [
                "lower(s)",
                "length(s) + 1",
                "contains(s, 'a')",
                "case when val > 1 then s else 'small' end",
                "case when flag then 1 else 2.5 end",
                "coalesce(val, 0)",
                "year(ts)",
                "year('2024-01-01')",
                "replace(s, 'a', 'b')",
                "trunc(val)",
            ]
        )
    )
    root = _project(tmp_path / "p", extra)
    code, output = _compile(root)
    assert code == 0, output
    expected = ["string", "int64", "bool", "string", "float", "float", "int64", "int64"]
    expected += ["string", "float"]
    for i, dtype in enumerate(expected):
        assert _manifest_feature(root, "a", f"f{i}")["dtype"] == dtype, i


# --- 1c: aggregations that need numbers -------------------------------------------------


@pytest.mark.parametrize(
    ("function", "of", "dtype"), [("sum", "s", "string"), ("mean", "ts", "timestamp")]
)
def test_a_numeric_aggregation_of_a_non_number_is_a_located_type_error(
    tmp_path: Path, function: str, of: str, dtype: str
) -> None:
    extra = f"    aggregations:\n      agg: {{function: {function}, of: {of}, window: 7d}}\n"
    root = _project(tmp_path / "p", extra)
    _project_error(
        root,
        f"features/f.yml:{FIRST_EXTRA_LINE + 1}:7:",
        "aggregation 'a:agg'",
        f"{function} of '{of}', which is {dtype}",
        "min, max, last, count or count_distinct",
    )


def test_stddev_of_a_derived_string_is_a_type_error(tmp_path: Path) -> None:
    extra = (
        "      label: {expression: \"s || '!'\"}\n"
        "    aggregations:\n      spread: {function: stddev, of: label, window: 7d}\n"
    )
    root = _project(tmp_path / "p", extra)
    _project_error(root, "aggregation 'a:spread'", "stddev of 'label', which is string")


def test_min_max_last_and_counts_of_strings_compile(tmp_path: Path) -> None:
    extra = "    aggregations:\n" + "".join(
        f"      {f}_s: {{function: {f}, of: s, window: 7d}}\n"
        for f in ("min", "max", "last", "count_distinct")
    )
    code, output = _compile(_project(tmp_path / "p", extra))
    assert code == 0, output


# --- 1d: the Python DSL goes through the same checker -----------------------------------

DSL = """
from aligned_cli import EventTimestamp, FileSource, Float, Int32, String, feature_view

feat = FileSource.csv_at("data/feat.csv")


@feature_view(name="a", source=feat)
class A:
    id = Int32().as_entity()
    ts = EventTimestamp()
    val = Float()
    s = String()
    derived = {derived}
"""


def _dsl_project(root: Path, derived: str, connections: str = "") -> Path:
    project = (
        "name: e\nconnections:\n  local: {type: duckdb, path: target/e.duckdb}\n" + connections
    )
    files = {"data/feat.csv": DATA, "features/f.py": DSL.format(derived=derived)}
    return write_project(root, files, project)


@pytest.mark.parametrize(
    ("derived", "fragments"),
    [
        ("val.lower()", ["LOWER(val)", '"val" is float', "lower takes text"]),
        ('val.contains("a")', ['"val" is float', "strpos takes text"]),
        ("val.year()", ["EXTRACT(YEAR FROM val)", '"val" is float', "date or timestamp"]),
        ("val.day_of_week()", ["DATE_PART('dow', val)", '"val" is float']),
        ("s.abs()", ["ABS(s)", '"s" is string']),
    ],
)
def test_dsl_type_errors_are_compile_errors_at_the_python_line(
    tmp_path: Path, derived: str, fragments: list[str]
) -> None:
    root = _dsl_project(tmp_path / "p", derived)
    line = DSL.lstrip("\n").splitlines().index("    derived = {derived}") + 1
    _project_error(root, f"features/f.py:{line}:", "type mismatch", *fragments)


# --- 2: expressions compiled for another dialect -------------------------------------------

WAREHOUSE = '  warehouse: {type: postgres, dsn: "postgresql://nobody@127.0.0.1:1/none"}\n'


def test_duckdb_date_functions_compile_to_postgres_extract(tmp_path: Path) -> None:
    extra = (
        '      h: {expression: "hour(ts)"}\n'
        '      dw: {expression: "dayofweek(ts)"}\n'
        '      sec: {expression: "second(ts)"}\n'
        "      dp: {expression: \"date_part('dow', ts)\"}\n"
        "      c: {expression: \"contains(s, 'b')\"}\n"
    )
    root = _project(tmp_path / "p", extra)
    code, output = _compile(root, "--dialect", "postgres")
    assert code == 0, output
    sql = (root / "target" / "compiled" / "postgres" / "view.e.a.sql").read_text()
    assert 'CAST(EXTRACT(HOUR FROM "row"."ts") AS BIGINT) AS "h"' in sql
    assert 'CAST(EXTRACT(DOW FROM "row"."ts") AS BIGINT) AS "dw"' in sql
    assert 'CAST(FLOOR(EXTRACT(SECOND FROM "row"."ts")) AS BIGINT) AS "sec"' in sql
    assert 'CAST(EXTRACT(DOW FROM "row"."ts") AS BIGINT) AS "dp"' in sql
    assert 'POSITION(\'b\' IN "row"."s") > 0' in sql
    assert "HOUR(" not in sql and "DAY_OF_WEEK(" not in sql and "CONTAINS(" not in sql
    # The DuckDB SQL keeps the functions as written.
    code, output = _compile(root, "--dialect", "duckdb")
    assert code == 0, output
    duck = (root / "target" / "compiled" / "duckdb" / "view.e.a.sql").read_text()
    assert "HOUR(" in duck and "DATE_PART('dow'" in duck


@pytest.mark.parametrize(
    ("expression", "function", "hint"),
    [
        ("strlen(s)", "strlen", "write length(x)"),
        ("epoch_us(ts)", "epoch_us", "extract(hour from ts)"),
        ("list_sum([val, val])", "list_sum", "translate"),
    ],
)
def test_an_unknown_function_cannot_be_compiled_for_another_dialect(
    tmp_path: Path, expression: str, function: str, hint: str
) -> None:
    root = _project(
        tmp_path / "p", f'      n: {{expression: "{expression}"}}\n', connections=WAREHOUSE
    )
    _project_error(
        root,
        f"features/f.yml:{FIRST_EXTRA_LINE}:7:",
        expression,
        f"'{function}'",
        "from duckdb to postgres",
        hint,
    )
    # Compiled for DuckDB alone (the dialect it is written in) it is fine.
    code, output = _compile(root, "--dialect", "duckdb")
    assert code == 0, output


@pytest.mark.parametrize(
    ("expression", "function"),
    [("split(s, ',')", "split"), ("levenshtein(s, 'abc')", "levenshtein")],
)
def test_a_known_function_postgres_lacks_is_a_compile_error(
    tmp_path: Path, expression: str, function: str
) -> None:
    root = _project(tmp_path / "p", f'      n: {{expression: "{expression}"}}\n')
    _project_error(root, expression, f"'{function}'", "to postgres", args=("--dialect", "postgres"))


# --- 3: date parts have one integer type on both engines ----------------------------------

MODEL = """
models:
  - name: m
    features: [{features}]
    spine: {{source: feat, event_timestamp: ts}}
"""


def test_date_parts_are_typed_integers_in_the_manifest(tmp_path: Path) -> None:
    extra = (
        "      dow: {expression: \"date_part('dow', ts)\"}\n"
        '      y: {expression: "extract(year from ts)"}\n'
        '      h: {expression: "hour(ts)"}\n'
        '      ep: {expression: "extract(epoch from ts)"}\n'
        "      n: {expression: \"date_part('hour', ts) + 1\"}\n"
    )
    root = _project(tmp_path / "p", extra)
    code, output = _compile(root)
    assert code == 0, output
    types = {n: _manifest_feature(root, "a", n)["dtype"] for n in ("dow", "y", "h", "ep", "n")}
    # An epoch keeps its fraction of a second.
    assert types == {"dow": "int64", "y": "int64", "h": "int64", "ep": "float", "n": "int64"}


def test_dsl_day_of_week_is_typed_and_the_same_column_on_duckdb_and_postgres(
    tmp_path: Path, postgres_dsn: str
) -> None:
    connections = f'  warehouse: {{type: postgres, dsn: "{postgres_dsn}"}}\n'
    root = _dsl_project(tmp_path / "p", "ts.day_of_week()", connections)
    models = root / "features" / "m.yml"
    models.write_text(MODEL.format(features="a:derived, a:val").lstrip("\n"))
    code, output = _compile(root)
    assert code == 0, output
    assert _manifest_feature(root, "a", "derived")["dtype"] == "int64"
    columns = []
    for target in ("local", "warehouse"):
        result = runner.invoke(app, ["run", "--project-dir", str(root), "--target", target])
        assert result.exit_code == 0, result.output
        parquet = root / "target" / "datasets" / "m.parquet"
        relation = duckdb.sql(f"select derived from '{parquet}' order by ts")
        columns.append((relation.types, relation.fetchall()))
    assert columns[0] == columns[1]
    assert str(columns[0][0][0]) == "BIGINT"
    assert columns[0][1] == [(1,), (2,)]  # 2024-01-01 was a Monday


def test_duckdb_date_functions_run_the_same_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    extra = (
        '      h: {expression: "hour(ts)"}\n'
        '      mi: {expression: "minute(ts)"}\n'
        '      sec: {expression: "second(ts)"}\n'
        '      xs: {expression: "extract(second from ts)"}\n'
        "      ds: {expression: \"date_part('second', ts)\"}\n"
        '      q: {expression: "quarter(ts)"}\n'
        '      doy: {expression: "dayofyear(ts)"}\n'
        "      c: {expression: \"contains(s, 'e')\"}\n"
        '      nan: {expression: "isnan(val)"}\n'
    )
    connections = f'  warehouse: {{type: postgres, dsn: "{postgres_dsn}"}}\n'
    features = "a:h, a:mi, a:sec, a:xs, a:ds, a:q, a:doy, a:c, a:nan"
    root = _project(
        tmp_path / "p", extra, connections=connections, model=MODEL.format(features=features)
    )
    rows = []
    for target in ("local", "warehouse"):
        result = runner.invoke(app, ["run", "--project-dir", str(root), "--target", target])
        assert result.exit_code == 0, result.output
        parquet = root / "target" / "datasets" / "m.parquet"
        relation = duckdb.sql(
            f"select h, mi, sec, xs, ds, q, doy, c, nan from '{parquet}' order by ts"
        )
        rows.append(([str(t) for t in relation.types], relation.fetchall()))
    assert rows[0] == rows[1]
    expected = [(0, 0, 0, 0, 0, 1, 1, False, False), (10, 20, 30, 30, 30, 1, 2, True, False)]
    assert rows[0][1] == expected
