"""SPEC §4 / §4b conformance audit: point-in-time rules and window aggregations on
tiny hand-made data, through the real `aligned` command (DuckDB, and PostgreSQL where
quick). Every expected value below is worked out by hand from the SPEC sentences."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _audit import aligned, assert_ok, dataset, project_yml, write_project

PROJECT = project_yml("audit")


def _project(root: Path, files: dict[str, str], extra_project: str = "") -> Path:
    return write_project(root, files, PROJECT + extra_project)


def _run_ok(root: Path, *args: str, env: dict[str, str] | None = None) -> None:
    result = assert_ok(aligned(root, "run", *args, env=env))
    assert "Traceback" not in result.stderr


# --- §4 core rules --------------------------------------------------------------

PIT_EVENTS = """
k,ts,created,v
1,2024-01-01 00:00:00,2024-01-01 00:00:00,10
1,2024-01-02 00:00:00,2024-01-05 00:00:00,20
1,2024-01-02 00:00:00,2024-01-03 00:00:00,21
1,2024-01-02 00:00:00,,22
2,2024-01-01 00:00:00,,30
2,2024-01-01 00:00:00,2024-01-01 00:00:00,31
3,2024-01-01 00:00:00,2024-01-01 00:00:00,
3,2023-12-01 00:00:00,2023-12-01 00:00:00,40
,2024-01-01 00:00:00,2024-01-01 00:00:00,99
"""

PIT_SPINE = """
k,event_timestamp
1,2024-01-02 00:00:00
1,2024-01-01 12:00:00
2,2024-01-01 00:00:00
3,2024-01-05 00:00:00
,2024-01-05 00:00:00
1,2024-01-02 00:00:00
4,2024-01-05 00:00:00
1,2023-01-01 00:00:00
2,2024-01-31 00:00:00
2,2024-01-31 00:00:01
"""

PIT_YAML = """
sources:
  - name: ev
    file: data/ev.csv
  - name: spine
    file: data/spine.csv
feature_views:
  - name: fv
    source: ev
    entities: [k]
    event_timestamp: ts
    created_timestamp: created
    ttl: 30d
    features:
      k: {type: int64}
      v: {type: int64}
      v2: {expression: "v * 2"}
models:
  - name: m
    features: [fv:v2, fv:v]
    spine: spine
"""

# Hand-worked expectations, one per spine row, in spine order:
PIT_EXPECTED = [
    (1, datetime(2024, 1, 2), 40, 20),  # tie on ts: greatest created wins (created > t is fine)
    (1, datetime(2024, 1, 1, 12), 20, 10),  # greatest ts <= t
    (2, datetime(2024, 1, 1), 62, 31),  # NULL created loses to a non-NULL one
    (3, datetime(2024, 1, 5), None, None),  # the selected row's NULL stays NULL
    (None, datetime(2024, 1, 5), None, None),  # NULL keys match nothing
    (1, datetime(2024, 1, 2), 40, 20),  # duplicate spine row kept
    (4, datetime(2024, 1, 5), None, None),  # entity without history
    (1, datetime(2023, 1, 1), None, None),  # before any row
    (2, datetime(2024, 1, 31), 62, 31),  # ts = t - ttl qualifies (inclusive)
    (2, datetime(2024, 1, 31, 0, 0, 1), None, None),  # one second past the ttl
]


def _pit_project(root: Path, extra_project: str = "") -> Path:
    return _project(
        root,
        {"data/ev.csv": PIT_EVENTS, "data/spine.csv": PIT_SPINE, "features/f.yml": PIT_YAML},
        extra_project,
    )


def _naive(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def test_point_in_time_rules_on_duckdb(tmp_path: Path) -> None:
    root = _pit_project(tmp_path / "p")
    _run_ok(root)
    columns, rows = dataset(root, "m")
    # spine columns first, then features in the order the model lists them
    assert columns == ["k", "event_timestamp", "v2", "v"]
    assert [tuple(_naive(x) for x in row) for row in rows] == PIT_EXPECTED


def test_point_in_time_rules_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    root = _pit_project(tmp_path / "p", f'  warehouse: {{type: postgres, dsn: "{postgres_dsn}"}}\n')
    _run_ok(root, "--target", "warehouse")
    columns, rows = dataset(root, "m")
    assert columns == ["k", "event_timestamp", "v2", "v"]
    assert [tuple(_naive(x) for x in row) for row in rows] == PIT_EXPECTED


def test_naive_times_are_utc_whatever_the_machine_zone_and_timezone_key(tmp_path: Path) -> None:
    """`timezone: Europe/Oslo` reads the source's naive values in Oslo (UTC+1 in winter);
    the machine's TZ must not matter; offsets in the spine are honoured."""
    root = _project(
        tmp_path / "p",
        {
            "data/a.csv": "k,ts,v\n1,2024-01-01 00:30:00,1\n",
            "data/b.csv": "k,ts,w\n1,2024-01-01 00:30:00,7\n",
            "data/spine.csv": (
                "k,event_timestamp\n1,2023-12-31 23:45:00\n1,2023-12-31 23:15:00\n"
                "1,2024-01-01 00:40:00\n"
            ),
            "features/f.yml": """
                sources:
                  - {name: a_src, file: data/a.csv, timezone: Europe/Oslo}
                  - {name: b_src, file: data/b.csv}
                  - {name: spine, file: data/spine.csv}
                feature_views:
                  - name: a
                    source: a_src
                    entities: [k]
                    event_timestamp: ts
                    features: {k: {type: int64}, v: {type: int64}}
                  - name: b
                    source: b_src
                    entities: [k]
                    event_timestamp: ts
                    features: {k: {type: int64}, w: {type: int64}}
                models:
                  - {name: m, features: [a:v, b:w], spine: spine}
                """,
        },
    )
    _run_ok(root, env={"TZ": "America/New_York"})
    _, rows = dataset(root, "m")
    assert [(r[2], r[3]) for r in rows] == [(1, None), (None, None), (1, 7)]


def test_spine_without_timestamp_gets_latest_as_of_now_and_ttl_counts_from_now(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def at(delta: timedelta) -> str:
        return (now + delta).isoformat(sep=" ")

    events = (
        "k,ts,v\n"
        f"1,{at(-timedelta(days=2))},1\n"
        f"1,{at(timedelta(days=3))},99\n"  # in the future: not 'latest as of now'
        f"2,{at(-timedelta(days=10))},2\n"  # older than the 7d ttl counted from now
        f"3,{at(-timedelta(days=6))},3\n"
    )
    root = _project(
        tmp_path / "p",
        {
            "data/ev.csv": events,
            "data/spine.csv": "k,label\n3,a\n1,b\n2,c\n",
            "features/f.yml": """
                sources:
                  - {name: ev, file: data/ev.csv}
                  - {name: spine, file: data/spine.csv}
                feature_views:
                  - name: fv
                    source: ev
                    entities: [k]
                    event_timestamp: ts
                    ttl: 1w
                    features: {k: {type: int64}, v: {type: int64}}
                models:
                  - {name: m, features: [fv:v], spine: spine}
                """,
        },
    )
    _run_ok(root)
    columns, rows = dataset(root, "m")
    assert columns == ["k", "label", "v"]
    assert rows == [(3, "a", 3), (1, "b", 1), (2, "c", None)]


STATIC_AND_CLASH_YAML = """
sources:
  - {name: a_src, file: data/a.csv}
  - {name: b_src, file: data/b.csv}
  - {name: spine, file: data/spine.csv}
feature_views:
  - name: a
    source: a_src
    entities: [k]
    event_timestamp: ts
    features:
      k: {type: int64}
      x: {type: float}
      city: {type: string}
  - name: b
    source: b_src
    entities: [k]
    features:
      k: {type: int64}
      x: {type: float}
models:
  - name: m
    features: [a:x, b:x, a:city]
    spine: {source: spine, event_timestamp: at}
    target: {column: label}
"""


def test_static_view_view_feature_naming_nan_and_spine_mapping(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p",
        {
            "data/a.csv": "k,ts,x,city\n1,2020-01-01,1.5,oslo\n2,2020-01-01,NaN,rome\n",
            "data/b.csv": "k,x\n1,100\n2,200\n",
            "data/spine.csv": "k,label,at\n2,0,2020-06-01\n1,1,2020-06-01\n9,1,2020-06-01\n",
            "features/f.yml": STATIC_AND_CLASH_YAML,
        },
    )
    _run_ok(root)
    columns, rows = dataset(root, "m")
    assert columns[:3] == ["k", "label", "at"]
    assert columns[3:6] == ["a__x", "b__x", "city"]
    assert math.isnan(rows[0][3])  # NaN is a value, not NULL
    assert rows[0][4:6] == (200.0, "rome")
    assert rows[1][3:6] == (1.5, 100.0, "oslo")
    assert rows[2][3:6] == (None, None, None)


def test_view_on_view_inherits_time_columns_and_ttl_and_defaults_fill_gaps(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path / "p",
        {
            "data/ev.csv": (
                "K,ts,created,v\n1,2024-01-01 00:00:00,2024-01-01 00:00:00,1\n"
                "1,2024-01-01 00:00:00,2024-01-02 00:00:00,2\n"
            ),
            "data/spine.csv": "K,T\n1,2024-01-03 00:00:00\n1,2024-01-03 00:00:01\n",
            "features/f.yml": """
                sources:
                  - {name: ev, file: data/ev.csv, mapping: {K: k}}
                  - {name: spine, file: data/spine.csv, mapping: {K: k, T: event_timestamp}}
                feature_views:
                  - name: base
                    source: ev
                    entities: [k]
                    event_timestamp: ts
                    created_timestamp: created
                    ttl: 2d
                    features: {k: {type: int64}, v: {type: int64}}
                  - name: child
                    source: view:base
                    features:
                      v: {}
                      v3: {expression: "v * 3"}
                  - name: child_long
                    source: view:base
                    ttl: 10d
                    features:
                      v: {}
                models:
                  - name: m
                    features: [child:v, child:v3, child_long:v]
                    spine: spine
                    defaults: {v3: -1}
                """,
        },
    )
    _run_ok(root)
    columns, rows = dataset(root, "m")
    assert columns == ["k", "event_timestamp", "child__v", "v3", "child_long__v"]
    assert [r[2:] for r in rows] == [(2, 6, 2), (None, -1, 2)]


def test_ttl_is_a_fixed_duration_across_dst(tmp_path: Path) -> None:
    """Oslo switches to summer time on 2024-03-31; `1d` is still exactly 86,400 s."""
    root = _project(
        tmp_path / "p",
        {
            "data/ev.csv": "k,ts,v\n1,2024-03-30 12:00:00,1\n",  # Oslo, = 11:00 UTC
            "data/spine.csv": (
                "k,event_timestamp\n1,2024-03-31 11:00:00\n1,2024-03-31 11:00:01\n"
                "1,2024-03-31 10:00:00\n"
            ),
            "features/f.yml": """
                sources:
                  - {name: ev, file: data/ev.csv, timezone: Europe/Oslo}
                  - {name: spine, file: data/spine.csv}
                feature_views:
                  - name: fv
                    source: ev
                    entities: [k]
                    event_timestamp: ts
                    ttl: 1d
                    features: {k: {type: int64}, v: {type: int64}}
                models:
                  - {name: m, features: [fv:v], spine: spine}
                """,
        },
    )
    _run_ok(root)
    _, rows = dataset(root, "m")
    assert [r[2] for r in rows] == [1, None, 1]


# --- §4b aggregations -------------------------------------------------------------

AGG_YAML = """
sources:
  - {name: t_src, file: data/t.csv}
  - {name: spine, file: data/spine.csv}
feature_views:
  - name: trips
    source: t_src
    entities: [d]
    event_timestamp: ts
    created_timestamp: created
    features:
      d: {type: int64}
      fare: {type: float, optional: true}
      city: {type: string}
      fare2: {expression: "fare * 2"}
    aggregations:
      n_7d: {function: count, window: 7d}
      sum_7d: {function: sum, of: fare, window: 7d}
      mean_min3: {function: mean, of: fare, window: 90d, min_rows: 3}
      mean_min2: {function: mean, of: fare, window: 90d, min_rows: 2}
      last_city: {function: last, of: city, window: 90d}
      cities: {function: count_distinct, of: city, window: 90d}
      max2: {function: max, of: fare2, window: 90d}
      mn: {function: min, of: fare, window: 90d}
      n_min2: {function: count, window: 7d, min_rows: 2}
models:
  - name: m
    features: [trips:n_7d, trips:sum_7d, trips:mean_min3, trips:mean_min2, trips:last_city,
               trips:cities, trips:max2, trips:mn, trips:n_min2]
    spine: spine
"""

AGG_TRIPS = """
d,ts,created,fare,city
1,2024-01-01 00:00:00,2024-01-01 00:00:00,10,oslo
1,2024-01-03 00:00:00,2024-01-03 00:00:00,20,rome
1,2024-01-03 00:00:00,2024-01-04 00:00:00,25,oslo
1,2024-01-08 00:00:00,2024-01-08 00:00:00,,paris
"""

AGG_SPINE = """
d,event_timestamp
1,2024-01-08 00:00:00
1,2024-01-07 23:59:59
1,2024-01-10 00:00:00
1,2023-12-01 00:00:00
2,2024-01-08 00:00:00
"""

# (n_7d, sum_7d, mean_min3, mean_min2, last_city, cities, max2, mn, n_min2) per spine row.
# A count below its `min_rows` is NULL like any aggregation.
# Versions of the 01-03 event count once, with the latest created (fare 25, oslo).
AGG_EXPECTED = [
    (2, 25.0, None, 17.5, "paris", 2, 50.0, 10.0, 2),  # window (01-01, 01-08]: 01-01 excluded
    (2, 35.0, None, 17.5, "oslo", 1, 50.0, 10.0, 2),
    (1, None, None, 17.5, "paris", 2, 50.0, 10.0, None),  # only the NULL-fare event in 7d
    (0, None, None, None, None, 0, None, None, None),  # empty window: count 0, others NULL
    (0, None, None, None, None, 0, None, None, None),  # entity without rows
]


def _agg_rows(root: Path) -> list[tuple[Any, ...]]:
    columns, rows = dataset(root, "m")
    assert columns[:2] == ["d", "event_timestamp"]
    return [tuple(r[2:]) for r in rows]


def test_window_aggregations_edge_cases(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p",
        {"data/t.csv": AGG_TRIPS, "data/spine.csv": AGG_SPINE, "features/f.yml": AGG_YAML},
    )
    _run_ok(root)
    assert _agg_rows(root) == AGG_EXPECTED


def test_window_aggregations_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    root = _project(
        tmp_path / "p",
        {"data/t.csv": AGG_TRIPS, "data/spine.csv": AGG_SPINE, "features/f.yml": AGG_YAML},
        f'  warehouse: {{type: postgres, dsn: "{postgres_dsn}"}}\n',
    )
    _run_ok(root, "--target", "warehouse")
    assert _agg_rows(root) == AGG_EXPECTED


def test_ttl_on_a_static_view_is_a_compile_error(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p",
        {
            "data/a.csv": "k,v\n1,2\n",
            "features/f.yml": """
                sources: [{name: a_src, file: data/a.csv}]
                feature_views:
                  - name: a
                    source: a_src
                    entities: [k]
                    ttl: 30d
                    features: {k: {type: int64}, v: {type: int64}}
                """,
        },
    )
    result = aligned(root, "compile")
    assert result.returncode == 2
    assert "ttl" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("duration", ["30s", "15m", "2h", "30d", "1w"])
def test_every_documented_duration_unit_parses(tmp_path: Path, duration: str) -> None:
    root = _project(
        tmp_path / "p",
        {
            "data/a.csv": "k,ts,v\n1,2024-01-01,2\n",
            "features/f.yml": f"""
                sources: [{{name: a_src, file: data/a.csv}}]
                feature_views:
                  - name: a
                    source: a_src
                    entities: [k]
                    event_timestamp: ts
                    ttl: {duration}
                    features: {{k: {{type: int64}}, v: {{type: int64}}}}
                """,
        },
    )
    result = aligned(root, "compile")
    assert result.returncode == 0, result.stderr
