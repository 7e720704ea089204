"""Several temporal views on one local Spark: the fused union window against SPEC §4.

Views sharing the spine and the entity keys are fused into one window (one record
column per view, `pit_forms.fuse_union_windows`), through which the spine's rows ride
(no join back): here `a` (TTL) and `b` (no TTL) on (k1, k2), while `c` (k1 only)
keeps a window of its own, joined back by row number. Each view must still see only
its own rows: the brute-force reference of SPEC §4 per view, on the property tests'
data (ties broken by created, NULL created, TTL bounds, NULL keys and times,
duplicated spine rows). With window aggregations in the same model (more reads of the
numbered spine), Spark's dataset must equal DuckDB's.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "property"))

from pit_helpers import INSTANTS, SpineRow, ViewRow, reference_latest, same
from test_pit_property import spine_rows, static_rows, view_rows

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.pit import features_query
from aligned_cli.core.ir import (
    Aggregation,
    Feature,
    FeatureRef,
    FeatureView,
    Project,
    Source,
    SourceRef,
)
from aligned_cli.core.types import DataType

pytestmark = pytest.mark.spark

_COUNTER = itertools.count()
C_TTL = 86400
FEATURES = [
    FeatureRef(view="a", feature="f_int"),
    FeatureRef(view="b", feature="f_int"),
    FeatureRef(view="a", feature="f_float"),
    FeatureRef(view="c", feature="f_int"),
    FeatureRef(view="b", feature="f_float"),
    FeatureRef(view="profile", feature="label"),
]
COLUMNS = ["a__f_int", "b__f_int", "a__f_float", "c__f_int", "b__f_float", "label"]


def _view(name: str, entities: list[str], ttl: int | None) -> FeatureView:
    return FeatureView(
        name=name,
        source=SourceRef(kind="source", name=f"{name}_src"),
        entities=entities,
        event_timestamp="ts",
        created_timestamp="created",
        ttl=ttl,
        features=[
            Feature(name="f_int", dtype=DataType.INT64),
            Feature(name="f_float", dtype=DataType.FLOAT),
        ],
    )


def _project(tables: dict[str, str], ttl: int | None) -> Project:
    profile = FeatureView(
        name="profile",
        source=SourceRef(kind="source", name="profile_src"),
        entities=["k1"],
        features=[Feature(name="label", dtype=DataType.STRING)],
    )
    views = {
        "a": _view("a", ["k1", "k2"], ttl),
        "b": _view("b", ["k1", "k2"], None),
        "c": _view("c", ["k1"], C_TTL),
        "profile": profile,
    }
    sources = {
        f"{name}_src": Source(name=f"{name}_src", table=table) for name, table in tables.items()
    }
    return Project(name="fused", root="/tmp", sources=sources, views=views)


def _load(spark: Any, name: str, columns: dict[str, Any]) -> None:
    import pyarrow as pa

    spark.createDataFrame(pa.table(columns)).createOrReplaceTempView(name)


def _view_table(rows: list[ViewRow]) -> dict[str, Any]:
    import pyarrow as pa

    utc = pa.timestamp("us", tz="UTC")
    return {
        "k1": pa.array([r.k1 for r in rows], pa.int64()),
        "k2": pa.array([r.k2 for r in rows], pa.string()),
        "ts": pa.array([r.ts for r in rows], utc),
        "created": pa.array([r.created for r in rows], utc),
        "f_int": pa.array([r.f_int for r in rows], pa.int64()),
        "f_float": pa.array([r.f_float for r in rows], pa.float64(), from_pandas=False),
    }


def _expected(
    rows: dict[str, list[ViewRow]],
    labels: dict[int, str | None],
    spine: list[SpineRow],
    ttl: int | None,
    now: datetime | None,
) -> list[tuple[Any, ...]]:
    ttls = {"a": ttl, "b": None, "c": C_TTL}
    # View c is keyed by k1 only: compare k2 as equal on both sides.
    c_rows = [replace(r, k2="*") for r in rows["c"]]
    out = []
    for s in spine:
        t = now if now is not None else s.t
        hits: dict[str, ViewRow | None] = {}
        for name in ("a", "b", "c"):
            seconds = ttls[name]
            delta = timedelta(seconds=seconds) if seconds else None
            if name == "c":
                probe = replace(s, k2="*")
                hits[name] = reference_latest(c_rows, probe, t, delta)
            else:
                hits[name] = reference_latest(rows[name], s, t, delta)
        label = labels.get(s.k1) if s.k1 is not None else None
        values = [_value(hits[view], feature) for view, feature in ORDER]
        out.append((s.tag, *values, label))
    return out


ORDER = [("a", "f_int"), ("b", "f_int"), ("a", "f_float"), ("c", "f_int"), ("b", "f_float")]


def _value(hit: ViewRow | None, feature: str) -> Any:
    return getattr(hit, feature) if hit is not None else None


@settings(
    max_examples=int(os.environ.get("ALIGNED_SPARK_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    a=view_rows,
    b=view_rows,
    c=view_rows,
    statics=static_rows,
    spine=spine_rows,
    ttl=st.sampled_from([None, 3600, 86400]),
    with_time=st.sampled_from([True, True, False]),
    list_columns=st.booleans(),
)
def test_fused_windows_match_reference(
    spark: Any,
    a: list[ViewRow],
    b: list[ViewRow],
    c: list[ViewRow],
    statics: list[Any],
    spine: list[SpineRow],
    ttl: int | None,
    with_time: bool,
    list_columns: bool,
) -> None:
    import pyarrow as pa

    n = next(_COUNTER)
    tables = {name: f"fused_{name}_{n}" for name in ("a", "b", "c", "profile")}
    spine_table = f"fused_spine_{n}"
    rows = {"a": a, "b": b, "c": c}
    for name, view_rows_ in rows.items():
        _load(spark, tables[name], _view_table(view_rows_))
    _load(
        spark,
        tables["profile"],
        {
            "k1": pa.array([s.k1 for s in statics], pa.int64()),
            "label": pa.array([s.label for s in statics], pa.string()),
        },
    )
    _load(
        spark,
        spine_table,
        {
            "k1": pa.array([s.k1 for s in spine], pa.int64()),
            "k2": pa.array([s.k2 for s in spine], pa.string()),
            "t": pa.array([s.t for s in spine], pa.timestamp("us", tz="UTC")),
            "tag": pa.array([s.tag for s in spine], pa.int64()),
        },
    )

    dialect = get_dialect("spark")
    query = features_query(
        _project(tables, ttl),
        FEATURES,
        exp.select(exp.Star()).from_(exp.to_table(spine_table, quoted=True)),
        ["k1", "k2", "t", "tag"] if list_columns else None,
        "t" if with_time else None,
        dialect,
    )
    sql = dialect.sql(query)
    # a and b share one window, c (other keys) has its own.
    assert sql.count("DISTRIBUTE BY") == 2, sql
    assert "/*+ REPARTITION */" in sql

    before = datetime.now(UTC)
    result = spark.sql(sql)
    assert result.columns == ["k1", "k2", "t", "tag", *COLUMNS]
    got = [tuple(r)[3:] for r in result.collect()]
    assert before.year > 2024  # generated instants are in 2024: `now` is exact enough
    labels = {s.k1: s.label for s in statics}
    expected = _expected(rows, labels, spine, ttl, None if with_time else before)
    assert same(got, expected), f"\nSQL: {sql}\ngot:      {got}\nexpected: {expected}"


AGGREGATIONS = [
    Aggregation(name="n_1d", function="count", window=86400),
    Aggregation(name="sum_1d", function="sum", of="f_int", window=86400),
    Aggregation(name="max_2d", function="max", of="f_int", window=2 * 86400, min_rows=2),
    Aggregation(name="last_1d", function="last", of="f_float", window=86400),
]


def _random_rows(rng: random.Random, count: int) -> list[ViewRow]:
    def maybe(value: Any, none: float = 0.1) -> Any:
        return None if rng.random() < none else value

    rows = {}
    for _ in range(count):
        row = ViewRow(
            k1=maybe(rng.randint(1, 4), 0.05),
            k2=maybe(rng.choice(["a", "b"]), 0.05),
            ts=maybe(rng.choice(INSTANTS), 0.05),
            created=maybe(rng.choice(INSTANTS), 0.3),
            f_int=maybe(rng.randint(-100, 100)),
            f_float=maybe(rng.uniform(-10, 10)),
        )
        rows[(row.k1, row.k2, row.ts, row.created)] = row  # one per (keys, ts, created)
    return list(rows.values())


@pytest.mark.parametrize("seed", [1, 2])
def test_fused_windows_with_aggregations_equal_duckdb(spark: Any, seed: int) -> None:
    import duckdb
    import pyarrow as pa

    rng = random.Random(seed)
    tables = {name: f"fused_agg_{name}_{seed}" for name in ("a", "b", "c", "profile")}
    spine_table = f"fused_agg_spine_{seed}"
    arrow = {name: pa.table(_view_table(_random_rows(rng, 120))) for name in ("a", "b", "c")}
    arrow["profile"] = pa.table(
        {"k1": pa.array([1, 2, 3], pa.int64()), "label": pa.array(["x", None, "y"])}
    )
    spine = [
        (rng.choice([1, 2, 3, 4, None]), rng.choice(["a", "b", None]), rng.choice(INSTANTS))
        for _ in range(60)
    ]
    spine += spine[:5]  # duplicated spine rows
    spine_arrow = pa.table(
        {
            "k1": pa.array([s[0] for s in spine], pa.int64()),
            "k2": pa.array([s[1] for s in spine], pa.string()),
            "t": pa.array([s[2] for s in spine], pa.timestamp("us", tz="UTC")),
            "tag": pa.array(range(len(spine)), pa.int64()),
        }
    )
    project = _project(tables, 3600)
    a = project.views["a"].model_copy(update={"aggregations": AGGREGATIONS})
    project = project.model_copy(update={"views": {**project.views, "a": a}})
    features = [*FEATURES, *(FeatureRef(view="a", feature=g.name) for g in AGGREGATIONS)]

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    results = {}
    for engine in ("spark", "duckdb"):
        dialect = get_dialect(engine)
        query = features_query(
            project,
            features,
            exp.select(exp.Star()).from_(exp.to_table(spine_table, quoted=True)),
            None,
            "t",
            dialect,
        )
        sql = dialect.sql(query)
        if engine == "spark":
            for name, table in arrow.items():
                spark.createDataFrame(table).createOrReplaceTempView(tables[name])
            spark.createDataFrame(spine_arrow).createOrReplaceTempView(spine_table)
            assert sql.count("DISTRIBUTE BY") == 2, sql
            results[engine] = [tuple(r) for r in spark.sql(sql).collect()]
        else:
            for name, table in arrow.items():
                con.register(tables[name], table)
            con.register(spine_table, spine_arrow)
            results[engine] = con.execute(sql).fetchall()
    con.close()
    # Not the spine's time (Spark gives naive local datetimes, DuckDB aware ones).
    spark_rows, duckdb_rows = ([r[:2] + r[3:] for r in results[e]] for e in ("spark", "duckdb"))
    assert [r[2] for r in spark_rows] == list(range(len(spine)))  # all rows, in spine order
    assert same(spark_rows, duckdb_rows), f"\nspark:  {spark_rows}\nduckdb: {duckdb_rows}"
