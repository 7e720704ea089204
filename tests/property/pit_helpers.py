"""Test-only helpers for the point-in-time property tests.

A brute-force reference of SPEC §4, random-data generation, and a tiny runner that
loads rows into DuckDB or PostgreSQL and runs a compiled query. Independent of
`aligned_cli.execute` on purpose: this checks the compiler, not the adapters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlglot import exp

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.pit import features_query
from aligned_cli.core.ir import Feature, FeatureRef, FeatureView, Project, Source, SourceRef
from aligned_cli.core.types import DataType

OSLO = ZoneInfo("Europe/Oslo")

# Instants around DST changes (Oslo), a leap day, and neighbours at 1 µs, 1 h, 24 h.
_ANCHORS = [
    datetime(2024, 2, 28, 12, 0, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
    datetime(2024, 3, 30, 12, 0, tzinfo=UTC),
    datetime(2024, 3, 31, 12, 0, tzinfo=UTC),
    datetime(2024, 10, 26, 0, 30, tzinfo=UTC),
    datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
]
_STEPS = [timedelta(0), timedelta(microseconds=1), timedelta(hours=1), timedelta(hours=24)]
INSTANTS = sorted(
    {a + s for a in _ANCHORS for s in _STEPS} | {a - s for a in _ANCHORS for s in _STEPS}
)


def oslo_safe(instant: datetime) -> bool:
    """True when the Oslo wall time of `instant` maps back to it unambiguously."""
    local = instant.astimezone(OSLO).replace(tzinfo=None)
    first = local.replace(tzinfo=OSLO, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=OSLO, fold=1).astimezone(UTC)
    return first == second == instant


@dataclass
class ViewRow:
    k1: int | None
    k2: str | None
    ts: datetime | None  # aware, UTC
    created: datetime | None
    f_int: int | None
    f_float: float | None


@dataclass
class SpineRow:
    k1: int | None
    k2: str | None
    t: datetime | None  # aware, UTC
    tag: int


@dataclass
class StaticRow:
    k1: int
    label: str | None


# --- reference implementation of SPEC §4 -----------------------------------------


def reference_latest(
    rows: Sequence[ViewRow], spine: SpineRow, t: datetime | None, ttl: timedelta | None
) -> ViewRow | None:
    if spine.k1 is None or spine.k2 is None or t is None:
        return None
    best: ViewRow | None = None
    for row in rows:
        if row.k1 != spine.k1 or row.k2 != spine.k2 or row.ts is None or row.ts > t:
            continue
        if ttl is not None and row.ts < t - ttl:
            continue
        if best is None or _rank(row) > _rank(best):
            best = row
    return best


def _rank(row: ViewRow) -> tuple[datetime, bool, datetime]:
    assert row.ts is not None
    floor = datetime.min.replace(tzinfo=UTC)
    return (row.ts, row.created is not None, row.created or floor)


def reference_dataset(
    rows: Sequence[ViewRow],
    statics: Sequence[StaticRow],
    spine: Sequence[SpineRow],
    ttl: timedelta | None,
    now: datetime | None,
) -> list[tuple[Any, ...]]:
    """(tag, f_int, f_float, doubled, label) per spine row, in spine order."""
    labels = {s.k1: s.label for s in statics}
    out = []
    for s in spine:
        t = now if now is not None else s.t
        hit = reference_latest(rows, s, t, ttl)
        f_int = hit.f_int if hit else None
        f_float = hit.f_float if hit else None
        doubled = f_int * 2 if f_int is not None else None
        label = labels.get(s.k1) if s.k1 is not None else None
        out.append((s.tag, f_int, f_float, doubled, label))
    return out


def same(a: Sequence[tuple[Any, ...]], b: Sequence[tuple[Any, ...]]) -> bool:
    def norm(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return "NaN"
        return v

    return [tuple(map(norm, r)) for r in a] == [tuple(map(norm, r)) for r in b]


# --- the project under test ---------------------------------------------------------


def pit_project(
    view_table: str, static_table: str, ttl: int | None, view_timezone: str | None
) -> Project:
    stats = FeatureView(
        name="stats",
        source=SourceRef(kind="source", name="stats_src"),
        entities=["k1", "k2"],
        event_timestamp="ts",
        created_timestamp="created",
        ttl=ttl,
        features=[
            Feature(name="f_int", dtype=DataType.INT64),
            Feature(name="f_float", dtype=DataType.FLOAT),
            Feature(name="doubled", expression="f_int * 2"),
        ],
    )
    profile = FeatureView(
        name="profile",
        source=SourceRef(kind="source", name="profile_src"),
        entities=["k1"],
        features=[Feature(name="label", dtype=DataType.STRING)],
    )
    return Project(
        name="pit",
        root="/tmp",
        sources={
            "stats_src": Source(name="stats_src", table=view_table, timezone=view_timezone),
            "profile_src": Source(name="profile_src", table=static_table),
        },
        views={"stats": stats, "profile": profile},
    )


FEATURES = [
    FeatureRef(view="stats", feature="f_int"),
    FeatureRef(view="stats", feature="f_float"),
    FeatureRef(view="stats", feature="doubled"),
    FeatureRef(view="profile", feature="label"),
]


def with_known_types(project: Project, naive_view: bool) -> Project:
    """The project with the stats source's column types declared (as compile time
    reads them from a file), so the compiler skips run-time type checks."""
    ts = "TIMESTAMP" if naive_view else "TIMESTAMP WITH TIME ZONE"
    columns = {
        "k1": "BIGINT",
        "k2": "VARCHAR",
        "ts": ts,
        "created": "TIMESTAMP WITH TIME ZONE",
        "f_int": "BIGINT",
        "f_float": "DOUBLE",
    }
    source = project.sources["stats_src"].model_copy(update={"columns": columns})
    return project.model_copy(update={"sources": {**project.sources, "stats_src": source}})


def compiled_sql(
    project: Project,
    spine_table: str,
    dialect_name: str,
    with_time: bool,
    list_columns: bool,
    spine_timestamp_type: str | None = None,
) -> str:
    dialect = get_dialect(dialect_name)
    spine = exp.select(exp.Star()).from_(exp.to_table(spine_table, quoted=True))
    columns = ["k1", "k2", "t", "tag"] if list_columns else None
    query = features_query(
        project,
        FEATURES,
        spine,
        columns,
        "t" if with_time else None,
        dialect,
        spine_timestamp_type=spine_timestamp_type,
    )
    return dialect.sql(query, pretty=False)


# --- loading and running ---------------------------------------------------------


def _stored(value: datetime | None, naive: bool, zone: ZoneInfo | None = None) -> datetime | None:
    if value is None:
        return None
    if zone is not None:
        return value.astimezone(zone).replace(tzinfo=None)
    return value.replace(tzinfo=None) if naive else value


def duckdb_run(
    con: Any,
    names: tuple[str, str, str],
    rows: Sequence[ViewRow],
    statics: Sequence[StaticRow],
    spine: Sequence[SpineRow],
    naive_view: bool,
    naive_spine: bool,
    view_zone: ZoneInfo | None,
    sql: str,
) -> list[tuple[Any, ...]]:
    duckdb_load(con, names, rows, statics, spine, naive_view, naive_spine, view_zone)
    result = con.execute(sql)
    fetched = result.fetchall()
    columns = [d[0] for d in result.description]
    assert columns == ["k1", "k2", "t", "tag", "f_int", "f_float", "doubled", "label"], columns
    return [(r[3], r[4], r[5], r[6], r[7]) for r in fetched]


def duckdb_load(
    con: Any,
    names: tuple[str, str, str],
    rows: Sequence[ViewRow],
    statics: Sequence[StaticRow],
    spine: Sequence[SpineRow],
    naive_view: bool,
    naive_spine: bool,
    view_zone: ZoneInfo | None,
) -> None:
    import pyarrow as pa

    view_name, static_name, spine_name = names
    ts_type = pa.timestamp("us") if naive_view or view_zone else pa.timestamp("us", tz="UTC")
    view = pa.table(
        {
            "k1": pa.array([r.k1 for r in rows], pa.int64()),
            "k2": pa.array([r.k2 for r in rows], pa.string()),
            "ts": pa.array([_stored(r.ts, naive_view, view_zone) for r in rows], ts_type),
            "created": pa.array([r.created for r in rows], pa.timestamp("us", tz="UTC")),
            "f_int": pa.array([r.f_int for r in rows], pa.int64()),
            "f_float": pa.array([r.f_float for r in rows], pa.float64(), from_pandas=False),
        }
    )
    static = pa.table(
        {
            "k1": pa.array([s.k1 for s in statics], pa.int64()),
            "label": pa.array([s.label for s in statics], pa.string()),
        }
    )
    spine_type = pa.timestamp("us") if naive_spine else pa.timestamp("us", tz="UTC")
    spine_table = pa.table(
        {
            "k1": pa.array([s.k1 for s in spine], pa.int64()),
            "k2": pa.array([s.k2 for s in spine], pa.string()),
            "t": pa.array([_stored(s.t, naive_spine) for s in spine], spine_type),
            "tag": pa.array([s.tag for s in spine], pa.int64()),
        }
    )
    for name, table in ((view_name, view), (static_name, static), (spine_name, spine_table)):
        con.register(f"{name}_arrow", table)
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{name}_arrow"')
        con.unregister(f"{name}_arrow")


def postgres_run(
    conn: Any,
    names: tuple[str, str, str],
    rows: Sequence[ViewRow],
    statics: Sequence[StaticRow],
    spine: Sequence[SpineRow],
    naive_view: bool,
    naive_spine: bool,
    view_zone: ZoneInfo | None,
    sql: str,
) -> list[tuple[Any, ...]]:
    postgres_load(conn, names, rows, statics, spine, naive_view, naive_spine, view_zone)
    cursor = conn.execute(sql)
    columns = [d.name for d in cursor.description]
    assert columns == ["k1", "k2", "t", "tag", "f_int", "f_float", "doubled", "label"], columns
    return [(r[3], r[4], r[5], r[6], r[7]) for r in cursor.fetchall()]


def postgres_load(
    conn: Any,
    names: tuple[str, str, str],
    rows: Sequence[ViewRow],
    statics: Sequence[StaticRow],
    spine: Sequence[SpineRow],
    naive_view: bool,
    naive_spine: bool,
    view_zone: ZoneInfo | None,
) -> None:
    from psycopg import sql as pgsql

    view_name, static_name, spine_name = names
    view_ts = "timestamp" if naive_view or view_zone else "timestamptz"
    spine_ts = "timestamp" if naive_spine else "timestamptz"
    ddl = [
        (
            view_name,
            f"k1 bigint, k2 text, ts {view_ts}, created timestamptz, "
            "f_int bigint, f_float double precision",
        ),
        (static_name, "k1 bigint, label text"),
        (spine_name, f"k1 bigint, k2 text, t {spine_ts}, tag bigint"),
    ]
    for name, columns in ddl:
        conn.execute(pgsql.SQL("CREATE TABLE {} (" + columns + ")").format(pgsql.Identifier(name)))
    data: list[tuple[str, list[tuple[Any, ...]]]] = [
        (
            view_name,
            [
                (r.k1, r.k2, _stored(r.ts, naive_view, view_zone), r.created, r.f_int, r.f_float)
                for r in rows
            ],
        ),
        (static_name, [(s.k1, s.label) for s in statics]),
        (spine_name, [(s.k1, s.k2, _stored(s.t, naive_spine), s.tag) for s in spine]),
    ]
    for name, values in data:
        with conn.cursor().copy(
            pgsql.SQL("COPY {} FROM STDIN").format(pgsql.Identifier(name))
        ) as copy:
            for value in values:
                copy.write_row(value)
