"""SPEC §3.2 conformance audit (second pass): the Python DSL as a user writes it.

Every test writes a small project into a temp folder, runs the real `aligned` CLI in
a subprocess and compares the dataset it built with what plain SQL (DuckDB, or
PostgreSQL with `--target warehouse`) gives for the same rows.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _audit import aligned, assert_ok, write_project

TITANIC = Path("/work/shared/data/titanic.csv")
if not TITANIC.exists():  # pragma: no cover - the repo's own copy
    TITANIC = (
        Path(__file__).resolve().parents[2] / "fixtures" / "titanic_yaml" / "data" / "titanic.csv"
    )

PROJECT_YML = """\
name: audit2
connections:
  local: {type: duckdb, path: target/aligned.duckdb}
  warehouse: {type: postgres, dsn: "{{ env_var('AUDIT2_PG_DSN', 'postgresql://127.0.0.1/x') }}"}
"""


def _project(root: Path, files: dict[str, str]) -> Path:
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    return write_project(root, files, PROJECT_YML)


def _aligned(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aligned` with ALIGNED_NO_CACHE=1, 120 s."""
    return aligned(root, *args, env={"ALIGNED_NO_CACHE": "1", **(env or {})}, timeout=120)


def _run_ok(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return assert_ok(_aligned(root, "run", *args, env=env))


def _rows(root: Path, model: str) -> list[dict[str, Any]]:
    return pq.read_table(root / "target" / "datasets" / f"{model}.parquet").to_pylist()


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float | int):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(right, float) and isinstance(left, int):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return bool(left == right)


# ---------------------------------------------------------------------------------
# The SPEC §3.2 snippet, verbatim
# ---------------------------------------------------------------------------------

SPEC_SNIPPET = """
from aligned_cli import feature_view, model_contract, FileSource, Int32, Float, String, Bool, EventTimestamp

titanic_csv = FileSource.csv_at("data/titanic.csv", mapping={"PassengerId": "passenger_id", "Sex": "sex", "Age": "age", "Survived": "survived"})

@feature_view(name="passenger", source=titanic_csv)
class TitanicPassenger:
    passenger_id = Int32().as_entity()
    age = Float().lower_bound(0).upper_bound(110).description("Age in years")
    sex = String().accepted_values(["male", "female"])
    survived = Bool().is_required()
    is_male, is_female = sex.one_hot_encode(["male", "female"])
    constant_filled_age = age.fill_na(0)

passenger = TitanicPassenger()

@model_contract(name="titanic", features=[passenger.constant_filled_age, passenger.is_male], spine=titanic_csv)
class Titanic:
    did_survive = passenger.survived.as_classification_target()
"""  # noqa: E501


@pytest.fixture()
def snippet(tmp_path: Path) -> Path:
    root = _project(tmp_path / "snippet", {"features/titanic.py": SPEC_SNIPPET})
    shutil.copy(TITANIC, root / "data" / "titanic.csv")
    return root


def test_spec_snippet_runs_and_matches_sql(snippet: Path) -> None:
    result = _run_ok(snippet)
    for test in (
        "passenger__age__lower_bound",
        "passenger__age__upper_bound",
        "passenger__sex__accepted_values",
        "passenger__survived__required",
        "passenger__unique",
    ):
        assert test in result.stdout
    got = _rows(snippet, "titanic")
    csv = str(snippet / "data" / "titanic.csv")
    expected = duckdb.sql(
        f"select PassengerId, coalesce(Age, 0), Sex = 'male', Survived::bool "
        f"from read_csv_auto('{csv}')"
    ).fetchall()
    assert len(got) == 891
    assert list(got[0])[-3:] == ["constant_filled_age", "is_male", "did_survive"]
    assert next(iter(got[0])) == "passenger_id"
    assert [
        (r["passenger_id"], r["constant_filled_age"], r["is_male"], r["did_survive"]) for r in got
    ] == expected


def test_spec_snippet_manifest_holds_one_hot_pair_and_constraints(snippet: Path) -> None:
    result = _aligned(snippet, "compile")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((snippet / "target" / "manifest.json").read_text())
    views = manifest["feature_views"]
    view = views["passenger"] if isinstance(views, dict) else views[0]
    features = {f["name"]: f for f in view["features"]}
    assert view["entities"] == ["passenger_id"]
    assert features["is_male"]["expression"] == "sex = 'male'"
    assert features["is_female"]["expression"] == "sex = 'female'"
    assert features["age"]["description"] == "Age in years"
    models = manifest["models"]
    model = models["titanic"] if isinstance(models, dict) else models[0]
    assert model["target"]["kind"] == "classification"
    assert model["target"]["feature"] == {"view": "passenger", "feature": "survived"}


def test_is_female_of_one_hot_pair_via_runtime_api(snippet: Path) -> None:
    assert _aligned(snippet, "compile").returncode == 0
    from aligned_cli import FileSource

    async def load() -> Any:
        store = await FileSource.json_at(str(snippet / "target" / "manifest.json")).feature_store()
        job = store.features_for(
            {"passenger_id": [1, 2, 6]}, features=["passenger:is_female", "passenger:is_male"]
        )
        return await job.to_pandas()

    df = asyncio.run(load())
    assert df["is_female"].tolist() == [False, True, False]
    assert df["is_male"].tolist() == [True, False, True]


def test_regression_target(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "reg",
        {
            "features/f.py": """
            from aligned_cli import FileSource, Int32, Float, feature_view, model_contract

            titanic = FileSource.csv_at("data/titanic.csv", mapping={"PassengerId": "pid"})

            @feature_view(name="pax", source=titanic)
            class Pax:
                pid = Int32().as_entity()
                Fare = Float()
                Age = Float().is_optional()

            pax = Pax()

            @model_contract(name="fare", features=[pax.Age], spine=titanic)
            class FareModel:
                fare_paid = pax.Fare.as_regression_target()
            """
        },
    )
    shutil.copy(TITANIC, root / "data" / "titanic.csv")
    _run_ok(root)
    rows = _rows(root, "fare")
    # `Age` is also a spine column, so the feature is `view__feature` (README §PIT).
    assert list(rows[0])[-2:] == ["pax__Age", "fare_paid"]
    assert rows[0]["fare_paid"] == 7.25 and rows[1]["fare_paid"] == 71.2833
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    models = manifest["models"]
    model = models["fare"] if isinstance(models, dict) else models[0]
    assert model["target"]["kind"] == "regression"


# ---------------------------------------------------------------------------------
# Every type
# ---------------------------------------------------------------------------------


def test_every_type_round_trips_into_the_dataset(tmp_path: Path) -> None:
    import datetime as dt

    root = _project(
        tmp_path / "types",
        {
            "features/f.py": """
            from aligned_cli import (FileSource, Bool, Int8, Int16, Int32, Int64, Float, Float32,
                String, Date, Timestamp, EventTimestamp, Json, Embedding, feature_view,
                model_contract)

            src = FileSource.parquet_at("data/t.parquet", mapping={"Id": "id"})

            @feature_view(name="typed", source=src)
            class Typed:
                id = Int64().as_entity()
                et = EventTimestamp()
                flag = Bool().is_optional()
                i8 = Int8()
                i16 = Int16().is_optional()
                i32 = Int32()
                i64 = Int64()
                f = Float().is_optional()
                f32 = Float32()
                s = String().is_optional()
                d = Date().is_optional()
                ts = Timestamp().is_optional()
                js = Json().is_optional()
                emb = Embedding()

            t = Typed()

            @model_contract(name="m", features=[t.flag, t.i8, t.i16, t.i32, t.i64, t.f, t.f32,
                            t.s, t.d, t.ts, t.js, t.emb], spine=FileSource.csv_at("data/s.csv"))
            class M:
                pass
            """,
            "data/s.csv": "id,event_timestamp\n1,2024-01-05 00:00:00\n2,2024-01-05 00:00:00\n"
            "3,2024-01-01 00:00:00\n",
        },
    )
    utc = dt.UTC
    pq.write_table(
        pa.table(
            {
                "Id": pa.array([1, 2, 3], pa.int64()),
                "flag": pa.array([True, None, False]),
                "i8": pa.array([1, -2, 3], pa.int8()),
                "i16": pa.array([300, None, 3], pa.int16()),
                "i32": pa.array([70000, 1, 3], pa.int32()),
                "i64": pa.array([2**40, 1, 3], pa.int64()),
                "f": pa.array([0.5, None, 3.0]),
                "f32": pa.array([1.5, 2.25, 3.0], pa.float32()),
                "s": ["a", None, "c"],
                "d": pa.array([dt.date(2024, 2, 29), None, None]),
                "ts": pa.array(
                    [dt.datetime(2024, 1, 1, 12, tzinfo=utc), None, None],
                    pa.timestamp("us", tz="UTC"),
                ),
                "et": pa.array(
                    [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 4)],
                    pa.timestamp("us"),
                ),
                "js": ['{"k": [1, 2]}', None, None],
                "emb": pa.array([[0.1, 0.2], [1.0, 2.0], [3.0]], pa.list_(pa.float64())),
            }
        ),
        root / "data" / "t.parquet",
    )
    _run_ok(root)
    table = pq.read_table(root / "target" / "datasets" / "m.parquet")
    types = {field.name: field.type for field in table.schema}
    assert types["flag"] == pa.bool_()
    assert types["i8"] == pa.int8() and types["i16"] == pa.int16()
    assert types["i32"] == pa.int32() and types["i64"] == pa.int64()
    assert types["f"] == pa.float64() and types["f32"] == pa.float32()
    assert pa.types.is_string(types["s"]) or pa.types.is_large_string(types["s"])
    assert types["d"] == pa.date32()
    assert pa.types.is_timestamp(types["ts"]) and types["ts"].tz in ("UTC", "+00:00")
    assert pa.types.is_list(types["emb"]) and types["emb"].value_type == pa.float64()
    rows = table.to_pylist()
    first, second, third = rows
    assert first["i64"] == 2**40 and first["f32"] == 1.5 and first["emb"] == [0.1, 0.2]
    assert first["d"] == dt.date(2024, 2, 29)
    assert first["ts"] == dt.datetime(2024, 1, 1, 12, tzinfo=utc)
    assert json.loads(first["js"]) == {"k": [1, 2]}
    assert second["flag"] is None and second["i16"] is None and second["f"] is None
    # The spine row at 2024-01-01 precedes every event of entity 3: all NULL (SPEC §4).
    assert all(third[k] is None for k in ("flag", "i8", "i32", "s", "emb"))


# ---------------------------------------------------------------------------------
# Operators and methods: values against SQL, NULL inputs, DuckDB vs PostgreSQL
# ---------------------------------------------------------------------------------

OPS_DATA = (
    "id,a,b,x,s,d,ts\n"
    "1,-7,2,-7.5,Hello,2024-02-29,2024-03-10 13:45:00\n"
    "2,7,-2,2.5,abc,2024-12-31,2024-12-31 23:59:59\n"
    "3,7,5,0.0,,2023-01-01,2023-01-01 00:00:00\n"
    "4,,3,,XyZ,,\n"
)

# name -> (DSL expression, the SQL a user would write for it in DuckDB)
OPS: dict[str, tuple[str, str]] = {
    "add": ("a + b", "a + b"),
    "sub": ("a - b", "a - b"),
    "mul": ("a * b", "a * b"),
    "div": ("a / b", "a / b"),
    "fdiv": ("a // b", "a // b"),
    "mod": ("a % b", "a % b"),
    "radd": ("10 - a", "10 - a"),
    "gt": ("a > b", "a > b"),
    "ge": ("a >= 7", "a >= 7"),
    "lt": ("a < b", "a < b"),
    "le": ("a <= -7", "a <= -7"),
    "eq": ("a == 7", "a = 7"),
    "ne": ("a != 7", "a <> 7"),
    "both": ("(a > 0) & (b > 0)", "a > 0 and b > 0"),
    "either": ("(a > 0) | (b > 0)", "a > 0 or b > 0"),
    "negated": ("~(a > 0)", "not (a > 0)"),
    "filled": ("a.fill_na(0)", "coalesce(a, 0)"),
    "ordinal": (
        's.ordinal_categories(["abc", "Hello"])',
        "case when s = 'abc' then 0 when s = 'Hello' then 1 end",
    ),
    "has_l": ('s.contains("l")', "strpos(s, 'l') > 0"),
    "a_null": ("a.is_null()", "a is null"),
    "a_not_null": ("a.not_null()", "a is not null"),
    "clipped": ("a.clip(-1, 5)", "case when a < -1 then -1 when a > 5 then 5 else a end"),
    "log": ("x.abs().log1p()", "ln(1 + abs(x))"),
    "floored": ("x.floor()", "floor(x)"),
    "ceiled": ("x.ceil()", "ceil(x)"),
    "absolute": ("a.abs()", "abs(a)"),
    "lowered": ("s.lower()", "lower(s)"),
    "uppered": ("s.upper()", "upper(s)"),
    "length": ("s.str_len()", "length(s)"),
    "yr": ("ts.year()", "year(ts)"),
    "mo": ("d.month()", "month(d)"),
    "dy": ("d.day()", "day(d)"),
    "hr": ("ts.hour()", "hour(ts)"),
    "dow": ("d.day_of_week()", "dayofweek(d)"),
    "dpart": ('d.date_part("day")', "day(d)"),
    "sql": ('transform_sql("a * 10 + b")', "a * 10 + b"),
}


def _ops_project(root: Path, ops: dict[str, tuple[str, str]], data: str = OPS_DATA) -> Path:
    lines = "\n".join(f"    {name} = {dsl}" for name, (dsl, _) in ops.items())
    refs = ", ".join(f"n.{name}" for name in ops)
    feature_file = (
        "from aligned_cli import (FileSource, Int64, Float, String, Date, Timestamp,\n"
        "    feature_view, model_contract, transform_sql)\n\n"
        'src = FileSource.csv_at("data/n.csv")\n\n\n'
        '@feature_view(name="nums", source=src)\n'
        "class Nums:\n"
        "    id = Int64().as_entity()\n"
        "    a = Int64().is_optional()\n"
        "    b = Int64()\n"
        "    x = Float().is_optional()\n"
        "    s = String().is_optional()\n"
        "    d = Date().is_optional()\n"
        "    ts = Timestamp().is_optional()\n"
        f"{lines}\n\n\n"
        "n = Nums()\n\n\n"
        f'@model_contract(name="m", features=[{refs}], spine=src)\n'
        "class M:\n"
        "    pass\n"
    )
    return _project(root, {"features/f.py": feature_file, "data/n.csv": data})


def _sql_expected(root: Path, ops: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    csv = root / "data" / "n.csv"
    select = ", ".join(f"{sql} as {name}" for name, (_, sql) in ops.items())
    relation = duckdb.sql(
        f"with n as (select * from read_csv('{csv}', types={{'a': 'BIGINT', 'b': 'BIGINT', "
        f"'x': 'DOUBLE', 's': 'VARCHAR', 'd': 'DATE', 'ts': 'TIMESTAMP'}})) "
        f"select id, {select} from n order by id"
    )
    columns = relation.columns
    return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


def _compare(got: list[dict[str, Any]], expected: list[dict[str, Any]], names: Any) -> list[str]:
    problems = []
    for g, e in zip(got, expected, strict=True):
        for name in names:
            if not _same(g[name], e[name]):
                problems.append(f"id={e['id']} {name}: got {g[name]!r}, SQL gives {e[name]!r}")
    return problems


def test_operators_and_methods_match_duckdb_sql_including_nulls(tmp_path: Path) -> None:
    root = _ops_project(tmp_path / "ops", OPS)
    _run_ok(root)
    got = _rows(root, "m")
    expected = _sql_expected(root, OPS)
    assert _compare(got, expected, OPS) == []
    # Spot checks a user relies on: SQL semantics for negatives, NULL propagation.
    by_id = {row["id"]: row for row in got}
    assert by_id[1]["fdiv"] == -3 and by_id[1]["mod"] == -1 and by_id[1]["div"] == -3.5
    assert by_id[4]["add"] is None and by_id[4]["gt"] is None and by_id[4]["filled"] == 0
    assert by_id[4]["either"] is True  # NULL OR TRUE is TRUE
    assert by_id[3]["has_l"] is None and by_id[3]["ordinal"] is None
    assert by_id[1]["dow"] == 4  # 2024-02-29 is a Thursday, 0 = Sunday


def _pg_env(postgres_dsn: str) -> dict[str, str]:
    return {"AUDIT2_PG_DSN": postgres_dsn}


@pytest.mark.postgres
def test_operators_and_methods_agree_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    root = _ops_project(tmp_path / "ops", OPS)
    _run_ok(root)
    duck = _rows(root, "m")
    _run_ok(root, "--target", "warehouse", env=_pg_env(postgres_dsn))
    pg = _rows(root, "m")
    assert _compare(pg, duck, OPS) == []


def test_floor_division_of_a_float_is_integral(tmp_path: Path) -> None:
    """`x // 2` on a Float: Python gives floor(x / 2); SQL integer division truncates.
    Either is an integral number."""
    root = _ops_project(tmp_path / "fdiv", {"half": ("x // 2", "x // 2")})
    _run_ok(root)
    values = [row["half"] for row in _rows(root, "m")]  # x = -7.5, 2.5, 0.0, NULL
    assert values[3] is None
    assert values[0] in (-4.0, -3.0) and values[1] in (1.0, 2.0), values


@pytest.mark.postgres
def test_floor_division_of_a_float_runs_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    root = _ops_project(tmp_path / "fdiv", {"half": ("x // 2", "x // 2")})
    result = _aligned(root, "run", "--target", "warehouse", env=_pg_env(postgres_dsn))
    assert result.returncode == 0, result.stdout


@pytest.mark.postgres
def test_round_with_digits_runs_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    ops = {"r1": ("x.round(1)", "round(x, 1)")}
    root = _ops_project(tmp_path / "round", ops)
    _run_ok(root)
    assert [row["r1"] for row in _rows(root, "m")][:3] == [-7.5, 2.5, 0.0]
    result = _aligned(root, "run", "--target", "warehouse", env=_pg_env(postgres_dsn))
    assert result.returncode == 0, result.stdout
    assert [row["r1"] for row in _rows(root, "m")][:3] == [-7.5, 2.5, 0.0]


@pytest.mark.postgres
def test_round_half_agrees_on_both_engines(tmp_path: Path, postgres_dsn: str) -> None:
    ops = {"r0": ("x.round()", "round(x)")}
    root = _ops_project(tmp_path / "round", ops)
    _run_ok(root)
    duck = [row["r0"] for row in _rows(root, "m")]
    _run_ok(root, "--target", "warehouse", env=_pg_env(postgres_dsn))
    pg = [row["r0"] for row in _rows(root, "m")]
    assert duck == pg


ZERO_DATA = "id,a,b,x,s,d,ts\n1,7,0,1.0,a,,\n2,-7,2,1.0,a,,\n"
ZERO_OPS = {"div": ("a / b", ""), "fdiv": ("a // b", ""), "mod": ("a % b", "")}


def test_division_by_zero_gives_null_not_a_failed_run(tmp_path: Path) -> None:
    root = _ops_project(tmp_path / "zero", ZERO_OPS, data=ZERO_DATA)
    result = _aligned(root, "run")
    assert result.returncode == 0, result.stdout
    zero, other = _rows(root, "m")
    assert other["fdiv"] == -3 and other["mod"] == -1
    assert zero["fdiv"] is None and zero["mod"] is None


@pytest.mark.postgres
def test_division_by_zero_agrees_on_both_engines(tmp_path: Path, postgres_dsn: str) -> None:
    root = _ops_project(tmp_path / "zero", {"div": ("a / b", "")}, data=ZERO_DATA)
    duck = _aligned(root, "run")
    duck_rows = _rows(root, "m") if duck.returncode == 0 else None
    pg = _aligned(root, "run", "--target", "warehouse", env=_pg_env(postgres_dsn))
    pg_rows = _rows(root, "m") if pg.returncode == 0 else None
    assert duck.returncode == pg.returncode == 0, pg.stdout
    assert duck_rows == pg_rows


def test_eq_none_means_is_null(tmp_path: Path) -> None:
    ops = {"missing": ("a == None", "a is null"), "present": ("a != None", "a is not null")}
    root = _ops_project(tmp_path / "none", ops)
    _run_ok(root)
    got = _rows(root, "m")
    assert [r["missing"] for r in got] == [False, False, False, True]
    assert [r["present"] for r in got] == [True, True, True, False]


# ---------------------------------------------------------------------------------
# Sources, views on views, YAML <-> Python references, aggregations
# ---------------------------------------------------------------------------------

EVENTS = (
    "id,event_timestamp,v,w\n"
    "1,2024-01-01 00:00:00,1.5,2\n"
    "1,2024-01-03 00:00:00,2.5,3\n"
    "2,2024-01-02 00:00:00,,4\n"
)
SPINE = (
    "id,event_timestamp\n"
    "1,2024-01-02 00:00:00\n"
    "1,2024-01-04 00:00:00\n"
    "2,2024-01-05 00:00:00\n"
    "3,2024-01-05 00:00:00\n"
)

CHAIN_PY = """
from aligned_cli import FileSource, Int64, Float, EventTimestamp, feature_view, model_contract

events = FileSource.csv_at("data/e.csv")

@feature_view(name="base", source=events)
class Base:
    id = Int64().as_entity()
    event_timestamp = EventTimestamp()
    v = Float().is_optional()
    w = Int64()
    vw = v * w

@feature_view(name="second", source=Base)
class Second:
    vw = Float()
    vw2 = vw * 2

@feature_view(name="third", source="view:second")
class Third:
    vw2 = Float()
    vw3 = vw2 + 1
    total = vw2.aggregate().sum().over(days=30)
    n_1d = vw2.aggregate().count().over(days=1)
    n_2d = vw2.aggregate().count().over("2d")

t = Third()

@model_contract(name="py_model", features=[t.vw3, "yaml_view:doubled", t.total, t.n_1d, t.n_2d],
                spine=FileSource.csv_at("data/spine.csv"))
class PyModel:
    pass
"""

CHAIN_YML = """
sources:
  - {name: spine_src, file: data/spine.csv}
feature_views:
  - name: yaml_view
    source: view:base
    features:
      doubled: {expression: "w * 2"}
models:
  - name: yaml_model
    features: [third:vw3, yaml_view:doubled]
    spine: spine_src
"""


@pytest.fixture()
def chain(tmp_path: Path) -> Path:
    return _project(
        tmp_path / "chain",
        {
            "features/a.py": CHAIN_PY,
            "features/b.yml": CHAIN_YML,
            "data/e.csv": EVENTS,
            "data/spine.csv": SPINE,
        },
    )


def test_view_on_view_chain_yaml_python_cross_refs_and_aggregations(chain: Path) -> None:
    _run_ok(chain)
    py = _rows(chain, "py_model")
    got = [(r["vw3"], r["doubled"], r["total"], r["n_1d"], r["n_2d"]) for r in py]
    assert got == [
        # 1.5 * 2 * 2 + 1; the 30d window (t - 30d, t] holds the 01-01 row; the 1d
        # window excludes an event exactly at t - 1d (SPEC §4b); 2d includes it.
        (7.0, 4, 6.0, 0, 1),
        (16.0, 6, 21.0, 0, 1),  # 2.5 * 3 * 2 + 1; sum 6 + 15
        (None, 8, None, 0, 0),  # v NULL: derived NULL; a sum of NULLs is NULL
        (None, None, None, 0, 0),  # no history: NULL, count 0
    ]
    yml = _rows(chain, "yaml_model")
    assert [(r["vw3"], r["doubled"]) for r in yml] == [(7.0, 4), (16.0, 6), (None, 8), (None, None)]


def test_runtime_api_on_a_dsl_project(chain: Path) -> None:
    assert _aligned(chain, "compile").returncode == 0
    from aligned_cli import FileSource

    async def load() -> tuple[Any, Any, Any]:
        store = await FileSource.json_at(str(chain / "target" / "manifest.json")).feature_store()
        entities = {
            "id": [2, 1, 1],
            "event_timestamp": [datetime(2024, 1, 5), datetime(2024, 1, 2), datetime(2024, 1, 4)],
        }
        pit = await store.model("py_model").features_for(entities).to_pandas()
        everything = await store.feature_view("third").all().to_pandas()
        latest = await store.features_for(
            {"id": [1]}, features=["third:vw3", "yaml_view:doubled"]
        ).to_polars()
        return pit, everything, latest

    pit, everything, latest = asyncio.run(load())
    assert list(pit.columns[:4]) == ["id", "event_timestamp", "vw3", "doubled"]
    assert pit["vw3"].tolist()[1:] == [7.0, 16.0] and math.isnan(pit["vw3"].tolist()[0])
    assert sorted(everything["vw2"].dropna().tolist()) == [6.0, 15.0]
    assert latest.rows() == [(1, 16.0, 6)]


def test_class_level_query_all_on_a_dsl_view(chain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(chain)
    spec = importlib.util.spec_from_file_location("audit2_chain_features", chain / "features/a.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    df = module.Second.query().all().to_pandas_sync()
    assert sorted(df["vw2"].dropna().tolist()) == [6.0, 15.0]
    df = asyncio.run(module.Base.query().all().to_pandas())
    assert sorted(df["vw"].dropna().tolist()) == [3.0, 7.5]


def test_parquet_source_with_mapping(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "pq",
        {
            "features/f.py": """
            from aligned_cli import FileSource, Int32, String, feature_view, model_contract

            people = FileSource.parquet_at("data/p.parquet", mapping={"Person Id": "pid",
                                                                     "Full Name": "name"})

            @feature_view(name="person", source=people)
            class Person:
                pid = Int32().as_entity()
                name = String()
                shout = name.upper()

            p = Person()

            @model_contract(name="m", features=[p.shout], spine=people)
            class M:
                pass
            """
        },
    )
    pq.write_table(
        pa.table({"Person Id": pa.array([2, 1], pa.int32()), "Full Name": ["bo", "al"]}),
        root / "data" / "p.parquet",
    )
    _run_ok(root)
    assert [(r["pid"], r["shout"]) for r in _rows(root, "m")] == [(2, "BO"), (1, "AL")]


def _pg_tables(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            'create table drivers ("DriverId" int, ts timestamptz, rate double precision);'
            "insert into drivers values (1, '2024-01-01T00:00:00Z', 0.5),"
            " (1, '2024-01-02T00:00:00Z', 0.7), (2, '2024-01-01T00:00:00Z', null);"
            "create table spine (driver_id int, event_timestamp timestamp);"
            "insert into spine values (1, '2024-01-01 12:00'), (2, '2024-01-03'),"
            " (1, '2024-01-05')"
        )


PG_PY = """
from aligned_cli import PostgreSQLConfig, Int32, Float, EventTimestamp, feature_view, model_contract

db = PostgreSQLConfig(env_var="AUDIT2_DRIVERS_DSN")
drivers = db.table("drivers", mapping={"DriverId": "driver_id", "ts": "event_timestamp"})
spine = db.table("spine")

@feature_view(name="driver", source=drivers)
class Driver:
    driver_id = Int32().as_entity()
    event_timestamp = EventTimestamp()
    rate = Float().is_optional()
    high = rate > 0.6

d = Driver()

@model_contract(name="m", features=[d.rate, d.high], spine=spine)
class M:
    pass
"""


@pytest.mark.postgres
def test_postgres_table_source_from_env_var_dsn(tmp_path: Path, postgres_dsn: str) -> None:
    _pg_tables(postgres_dsn)
    root = _project(tmp_path / "pg", {"features/f.py": PG_PY})
    _run_ok(root, env={"AUDIT2_DRIVERS_DSN": postgres_dsn})
    assert [(r["driver_id"], r["rate"], r["high"]) for r in _rows(root, "m")] == [
        (1, 0.5, False),
        (2, None, None),
        (1, 0.7, True),
    ]


@pytest.mark.postgres
def test_postgres_config_env_var_dsn_is_not_written_to_the_manifest(
    tmp_path: Path, postgres_dsn: str
) -> None:
    _pg_tables(postgres_dsn)
    root = _project(tmp_path / "pg", {"features/f.py": PG_PY})
    scheme, rest = postgres_dsn.split("://", 1)
    user, _, host = rest.partition("@")
    secret_dsn = f"{scheme}://{user.split(':')[0]}:Sup3rSecretPw@{host}"  # trust auth
    result = _aligned(root, "compile", env={"AUDIT2_DRIVERS_DSN": secret_dsn})
    assert result.returncode == 0, result.stderr
    assert "Sup3rSecretPw" not in (root / "target" / "manifest.json").read_text()


# ---------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------


def test_same_name_in_yaml_and_python_names_both_files(chain: Path) -> None:
    (chain / "features" / "c.yml").write_text(
        "feature_views:\n  - name: base\n    source: view:second\n"
        "    features:\n      q: {expression: vw2}\n"
    )
    result = _aligned(chain, "compile")
    assert result.returncode == 2
    assert "features/a.py" in result.stderr and "features/c.yml" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_file_raising_at_import_is_reported_at_the_users_line(chain: Path) -> None:
    (chain / "features" / "d.py").write_text(
        "from aligned_cli import Int64\n\n\ndef helper():\n"
        '    return {"a": 1}["missing_key"]\n\n\nX = helper()\n'
    )
    result = _aligned(chain, "compile")
    assert result.returncode == 2
    assert "features/d.py:5" in result.stderr
    assert "missing_key" in result.stderr
    assert "Traceback" not in result.stderr and "aligned_cli/" not in result.stderr
