"""SPEC §4 / §8 audit, round 3: point-in-time details the earlier rounds did not pin
down — spine timestamps with UTC offsets, `timezone:` on a spine source, the
PostgreSQL session time zone, several entities and composite keys, duplicates in a
view, three-level view-on-view inheritance (entities, time columns, ttl, pass-through
types), `defaults:`, `view__feature` naming across three views, and the same rules
through the runtime API. Expected values are worked out by hand from the SPEC."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _audit import aligned, assert_ok, dataset, project_yml, write_project

PROJECT = project_yml("pit")


def _project(root: Path, files: dict[str, str], extra_project: str = "") -> Path:
    return write_project(root, files, PROJECT + extra_project)


def _aligned(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aligned` with a 120 s timeout."""
    return aligned(root, *args, env=env, timeout=120)


def _run_ok(root: Path, *args: str, env: dict[str, str] | None = None) -> None:
    assert_ok(_aligned(root, "run", *args, env=env))


def _pg(dsn: str) -> str:
    return f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'


# --- time zones -------------------------------------------------------------------------

TZ_YML = """
sources:
  - {name: ev, file: data/ev.csv}
  - {name: spine_offsets, file: data/spine_offsets.csv}
  - {name: spine_oslo, file: data/spine_oslo.csv, timezone: Europe/Oslo}
feature_views:
  - name: fv
    source: ev
    entities: [k]
    event_timestamp: ts
    features: {k: {type: int64}, v: {type: int64}}
models:
  - {name: m_offsets, features: [fv:v], spine: spine_offsets}
  - {name: m_oslo, features: [fv:v], spine: spine_oslo}
"""

TZ_FILES = {
    "data/ev.csv": "k,ts,v\n1,2024-01-01 00:30:00,1\n",  # naive: UTC
    # 01:00+02:00 = 23:00Z (before), 02:00+01:00 = 01:00Z (after), 00:20Z (before)
    "data/spine_offsets.csv": (
        "k,event_timestamp\n1,2024-01-01T01:00:00+02:00\n1,2024-01-01T02:00:00+01:00\n"
        "1,2024-01-01T00:20:00Z\n"
    ),
    # Oslo (UTC+1 in winter): 01:00 = 00:00Z (before), 01:40 = 00:40Z (after)
    "data/spine_oslo.csv": "k,event_timestamp\n1,2024-01-01 01:00:00\n1,2024-01-01 01:40:00\n",
    "features/f.yml": TZ_YML,
}


def test_spine_offsets_are_honoured_and_a_spine_source_timezone_applies(tmp_path: Path) -> None:
    # SPEC §4: "Timestamps are instants compared in UTC. Naive timestamps are read as UTC
    # ... (a source may declare `timezone: Europe/Oslo` to read its naive values in that
    # zone instead)." A spine is a source too.
    root = _project(tmp_path / "p", TZ_FILES)
    _run_ok(root, env={"TZ": "Asia/Tokyo"})
    _, rows = dataset(root, "m_offsets")
    assert [r[-1] for r in rows] == [None, 1, None]
    _, rows = dataset(root, "m_oslo")
    assert [r[-1] for r in rows] == [None, 1]


def test_postgres_session_time_zone_does_not_matter(tmp_path: Path, postgres_dsn: str) -> None:
    # SPEC §4: "Naive timestamps are read as UTC whatever the machine's or the engine
    # session's time zone".
    root = _project(tmp_path / "p", TZ_FILES, _pg(postgres_dsn))
    _run_ok(root, "--target", "warehouse", env={"PGTZ": "America/New_York", "TZ": "Asia/Tokyo"})
    _, rows = dataset(root, "m_offsets")
    assert [r[-1] for r in rows] == [None, 1, None]
    _, rows = dataset(root, "m_oslo")
    assert [r[-1] for r in rows] == [None, 1]


# --- keys -------------------------------------------------------------------------------

KEYS_YML = """
sources:
  - {name: d, file: data/d.csv}
  - {name: ab, file: data/ab.csv}
  - {name: spine, file: data/spine.csv}
feature_views:
  - name: driver
    source: d
    entities: [driver_id]
    event_timestamp: ts
    features: {driver_id: {type: int64}, rating: {type: float}}
  - name: pair
    source: ab
    entities: [a, b]
    event_timestamp: ts
    features: {a: {type: int64}, b: {type: string}, score: {type: int64}}
models:
  - name: m
    features: [pair:score, driver:rating]
    spine: spine
"""

KEYS_FILES = {
    "data/d.csv": "driver_id,ts,rating\n1,2024-01-01,4.5\n1,2024-01-03,4.0\n2,2024-01-01,3.0\n",
    "data/ab.csv": "a,b,ts,score\n1,x,2024-01-01,10\n1,y,2024-01-01,20\n1,x,2024-01-02,11\n",
    "data/spine.csv": (
        "trip_id,driver_id,a,b,event_timestamp\n"
        "100,1,1,x,2024-01-02\n101,2,1,y,2024-01-02\n102,1,1,x,2024-01-04\n103,3,2,x,2024-01-04\n"
    ),
    "features/f.yml": KEYS_YML,
}
KEYS_EXPECTED = [(11, 4.5), (20, 3.0), (11, 4.0), (None, None)]


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_two_views_with_different_and_composite_keys(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    # SPEC §4: "a feature view `V` with `event_timestamp` contributes the row of `V` with
    # keys `k` and the greatest `event_timestamp <= t`"; spine columns first.
    extra, args = "", []
    if engine == "postgres":
        extra, args = _pg(request.getfixturevalue("postgres_dsn")), ["--target", "warehouse"]
    root = _project(tmp_path / "p", KEYS_FILES, extra)
    _run_ok(root, *args)
    columns, rows = dataset(root, "m")
    assert columns == ["trip_id", "driver_id", "a", "b", "event_timestamp", "score", "rating"]
    assert [r[0] for r in rows] == [100, 101, 102, 103]
    assert [tuple(r[5:]) for r in rows] == KEYS_EXPECTED


def test_duplicate_view_rows_still_give_one_row_per_spine_row(tmp_path: Path) -> None:
    # SPEC §4: "The dataset has exactly one row per spine row, in spine order" (a
    # duplicate key is a test failure, not extra dataset rows).
    root = _project(
        tmp_path / "p",
        {
            "data/st.csv": "k,x\n1,10\n1,11\n2,20\n",
            "data/ev.csv": "k,ts,y\n1,2024-01-01,5\n1,2024-01-01,6\n",
            "data/sp.csv": "k,event_timestamp\n1,2024-01-02\n2,2024-01-02\n1,2024-01-02\n",
            "features/f.yml": """
                sources:
                  - {name: st, file: data/st.csv}
                  - {name: ev, file: data/ev.csv}
                  - {name: sp, file: data/sp.csv}
                feature_views:
                  - name: s
                    source: st
                    entities: [k]
                    features: {k: {type: int64}, x: {type: int64}}
                  - name: e
                    source: ev
                    entities: [k]
                    event_timestamp: ts
                    features: {k: {type: int64}, y: {type: int64}}
                models:
                  - {name: m, features: [s:x, e:y], spine: sp}
                """,
        },
    )
    _run_ok(root, "-s", "model:m")
    _, rows = dataset(root, "m")
    assert [r[0] for r in rows] == [1, 2, 1]
    assert rows[0][2] in (10, 11) and rows[0][3] in (5, 6)
    assert rows[1][2:] == (20, None)


# --- view on view ----------------------------------------------------------------------

CHAIN_YML = """
sources:
  - {name: ev, file: data/ev.csv, mapping: {K: k}}
  - {name: sp, file: data/sp.csv, mapping: {K: k, T: event_timestamp}}
feature_views:
  - name: base
    source: ev
    entities: [k]
    event_timestamp: ts
    created_timestamp: created
    ttl: 3d
    features: {k: {type: int64}, v: {type: float32}, w: {type: int16}}
  - name: mid
    source: view:base
    features:
      v: {}
      w: {}
      vw: {expression: "v * w"}
  - name: leaf
    source: view:mid
    features:
      vw: {}
      w: {}
      w2: {expression: "w + 1"}
  - name: leaf_long
    source: view:mid
    ttl: 30d
    features:
      vw: {}
models:
  - name: m
    features: [leaf:w2, leaf:vw, leaf_long:vw, mid:v]
    spine: sp
"""

CHAIN_FILES = {
    "data/ev.csv": (
        "K,ts,created,v,w\n"
        "1,2024-01-01 00:00:00,2024-01-01,1.5,10\n"
        "1,2024-01-01 00:00:00,2024-01-02,2.5,20\n"  # same event, later created: wins
        "1,2024-01-05 00:00:00,2024-01-05,3.5,30\n"
        "2,2024-01-01 00:00:00,2024-01-01,4.5,40\n"
    ),
    "data/sp.csv": (
        "K,T\n1,2024-01-03 00:00:00\n1,2024-01-06 00:00:00\n"
        "2,2024-01-03 00:00:00\n2,2024-01-06 00:00:00\n"
    ),
    "features/f.yml": CHAIN_YML,
}


def test_three_level_view_chain_inherits_keys_time_columns_and_ttl(tmp_path: Path) -> None:
    # SPEC §4: "A view built on another (`source: view:x`) inherits its entities,
    # `event_timestamp`, `created_timestamp` and `ttl` unless it restates them; a feature
    # it declares without an `expression` passes the parent's column through".
    root = _project(tmp_path / "p", CHAIN_FILES)
    _run_ok(root)
    columns, rows = dataset(root, "m")
    assert columns == ["k", "event_timestamp", "w2", "leaf__vw", "leaf_long__vw", "v"]
    assert [tuple(r[2:]) for r in rows] == [
        (21, 50.0, 50.0, 2.5),
        (31, 105.0, 105.0, 3.5),
        (41, 180.0, 180.0, 4.5),
        (None, None, 180.0, None),  # 5 days old: outside the inherited 3d, inside 30d
    ]
    views = json.loads((root / "target" / "manifest.json").read_text())["feature_views"]
    for name in ("mid", "leaf", "leaf_long"):
        assert views[name]["entities"] == ["k"]
        assert views[name]["event_timestamp"] == "ts"
        assert views[name]["created_timestamp"] == "created"


def test_pass_through_features_inherit_their_type(tmp_path: Path) -> None:
    # SPEC §4: "a feature it declares without an `expression` passes the parent's column
    # through (its type too, if omitted)".
    root = _project(tmp_path / "p", CHAIN_FILES)
    assert _aligned(root, "compile").returncode == 0
    nodes = json.loads((root / "target" / "manifest.json").read_text())["nodes"]
    assert nodes["feature.pit.mid.v"]["dtype"] == "float32"
    assert nodes["feature.pit.leaf.w"]["dtype"] == "int16"  # two levels up


def test_pass_through_of_a_derived_parent_feature_inherits_its_type(tmp_path: Path) -> None:
    # SPEC §4: "(its type too, if omitted)" — mid:vw is `v * w` (float32 in the
    # manifest); leaf:vw passes it through and should carry the same type.
    root = _project(tmp_path / "p", CHAIN_FILES)
    assert _aligned(root, "compile").returncode == 0
    nodes = json.loads((root / "target" / "manifest.json").read_text())["nodes"]
    parent_type = nodes["feature.pit.mid.vw"]["dtype"]
    assert parent_type is not None
    assert nodes["feature.pit.leaf.vw"]["dtype"] == parent_type
    assert nodes["feature.pit.leaf_long.vw"]["dtype"] == parent_type


def test_view_chain_through_the_runtime_api_is_point_in_time(tmp_path: Path) -> None:
    # SPEC §8: "an `event_timestamp` column makes the load point-in-time (§4) ... The
    # result has the entity frame's columns first, in order, then the features named as
    # in §4; one row per entity row, in order."
    from aligned_cli import FileSource

    root = _project(tmp_path / "p", CHAIN_FILES)
    assert _aligned(root, "compile").returncode == 0

    async def load() -> Any:
        store = await FileSource.json_at(str(root / "target" / "manifest.json")).feature_store()
        entities = {
            "event_timestamp": [
                datetime(2024, 1, 6, tzinfo=UTC),
                datetime(2024, 1, 3, tzinfo=UTC),
                datetime(2024, 1, 6, tzinfo=UTC),
            ],
            "k": [2, 1, 1],
        }
        job = store.features_for(entities, features=["leaf_long:vw", "leaf:w2", "mid:v"])
        return await job.to_pandas()

    cwd = os.getcwd()
    os.chdir(root)
    try:
        frame = asyncio.run(load())
    finally:
        os.chdir(cwd)
    assert list(frame.columns) == ["event_timestamp", "k", "vw", "w2", "v"]
    assert frame["k"].tolist() == [2, 1, 1]
    assert frame["vw"].tolist() == [180.0, 50.0, 105.0]
    assert frame["w2"].isna().tolist() == [True, False, False]
    assert frame["w2"].tolist()[1:] == [21, 31]


# --- defaults and naming -----------------------------------------------------------------


def test_defaults_fill_features_where_no_row_qualifies(tmp_path: Path) -> None:
    # SPEC §4: "where no row qualifies it is NULL like the rest of that view's features
    # (a model may fill such gaps with `defaults: {feature: value}`)".
    root = _project(
        tmp_path / "p",
        {
            "data/ev.csv": "k,ts,x,c\n2,2024-01-01,5,b\n",
            "data/sp.csv": "k,event_timestamp\n2,2024-01-02\n3,2024-01-02\n2,2023-01-01\n",
            "features/f.yml": """
                sources:
                  - {name: ev, file: data/ev.csv}
                  - {name: sp, file: data/sp.csv}
                feature_views:
                  - name: e
                    source: ev
                    entities: [k]
                    event_timestamp: ts
                    features:
                      k: {type: int64}
                      x: {type: float}
                      c: {type: string}
                      x2: {expression: "x * 2"}
                models:
                  - name: m
                    features: [e:x, e:c, e:x2]
                    spine: sp
                    defaults: {x: -1, c: none, x2: 0}
                """,
        },
    )
    _run_ok(root)
    _, rows = dataset(root, "m")
    assert [tuple(r[2:]) for r in rows] == [
        (5.0, "b", 10.0),
        (-1.0, "none", 0.0),
        (-1.0, "none", 0.0),
    ]


def test_shared_feature_names_across_three_views(tmp_path: Path) -> None:
    # SPEC §4: "features in the order the model lists them, named `feature` (where two of
    # the model's views share a feature name, both become `view__feature`)".
    files = {f"data/{n}.csv": f"k,x,{n}_only\n1,{i},{i * 10}\n" for i, n in enumerate("abc", 1)}
    files["data/sp.csv"] = "k\n1\n"
    files["features/f.yml"] = """
        sources:
          - {name: a_src, file: data/a.csv}
          - {name: b_src, file: data/b.csv}
          - {name: c_src, file: data/c.csv}
          - {name: sp, file: data/sp.csv}
        feature_views:
          - {name: a, source: a_src, entities: [k],
             features: {k: {type: int64}, x: {type: int64}, a_only: {type: int64}}}
          - {name: b, source: b_src, entities: [k],
             features: {k: {type: int64}, x: {type: int64}, b_only: {type: int64}}}
          - {name: c, source: c_src, entities: [k],
             features: {k: {type: int64}, x: {type: int64}, c_only: {type: int64}}}
        models:
          - {name: m, features: [c:x, a:a_only, a:x, b:b_only, b:x], spine: sp}
        """
    root = _project(tmp_path / "p", files)
    _run_ok(root)
    columns, rows = dataset(root, "m")
    assert columns == ["k", "c__x", "a_only", "a__x", "b_only", "b__x"]
    assert rows == [(1, 3, 10, 1, 20, 2)]


# --- §3.1 expressions in the project's dialect ----------------------------------------------

DIALECT_YML = """
sources: [{name: s, file: data/s.csv}]
feature_views:
  - name: v
    source: s
    entities: [k]
    features:
      k: {type: int64}
      ts: {type: timestamp}
      year: {expression: "to_char(ts, 'YYYY')"}
models:
  - {name: m, features: [v:year], spine: s}
"""


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_expressions_are_read_in_the_projects_dialect(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    # SPEC §3.1: "Derived `expression`s are SQL in the project's dialect (default duckdb),
    # parsed with sqlglot". A project declaring `dialect: postgres` writes PostgreSQL's
    # `to_char(ts, 'YYYY')` (the year); DuckDB's reading of it is a plain text cast.
    extra, args = "", []
    if engine == "postgres":
        extra, args = _pg(request.getfixturevalue("postgres_dsn")), ["--target", "warehouse"]
    root = _project(
        tmp_path / "p",
        {
            "data/s.csv": "k,ts\n1,2024-03-05 10:00:00\n2,2023-12-31 23:00:00\n",
            "features/f.yml": DIALECT_YML,
        },
        extra,
    )
    project = root / "aligned_project.yml"
    project.write_text("dialect: postgres\n" + project.read_text())
    _run_ok(root, *args)
    _, rows = dataset(root, "m")
    assert [r[-1] for r in rows] == ["2024", "2023"]
