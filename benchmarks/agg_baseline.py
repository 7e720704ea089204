"""Hand-written DuckDB baselines for the window-aggregation benchmark (own process).

Two forms of `count` over SHORT seconds and `mean(fare)` over LONG seconds per spine
row, both exact and both deduplicating versions of an event (latest `created`):
`range` joins spine rows to the events in the wider window and groups (fastest when
windows hold few rows); `union` sorts events and spine lookups at t and t - window into
one stream of running sums (flat in window width). `agg_bench.py` runs both and takes
the faster as the baseline.

    python agg_baseline.py DATA_DIR OUT.parquet --form range|union --short S --long L
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
from process_end import end

EVENTS = """events AS (
    SELECT driver_id, event_timestamp AS ts, fare FROM read_parquet('{events}')
    WHERE driver_id IS NOT NULL AND event_timestamp IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY driver_id, event_timestamp ORDER BY created DESC NULLS LAST) = 1
)"""
SPINE = """spine AS MATERIALIZED (
    SELECT driver_id, event_timestamp, label, file_row_number AS rn
    FROM read_parquet('{spine}', file_row_number = true)
)"""
RANGE = f"""COPY (
    WITH {EVENTS}, {SPINE},
    agg AS (
        SELECT s.rn,
               count(*) FILTER (WHERE e.ts > s.event_timestamp - to_seconds({{short}})) AS n,
               count(e.fare) AS nf, avg(e.fare) AS m
        FROM spine s JOIN events e ON s.driver_id = e.driver_id
         AND e.ts > s.event_timestamp - to_seconds({{long}}) AND e.ts <= s.event_timestamp
        GROUP BY s.rn
    )
    SELECT s.driver_id, s.event_timestamp, s.label, coalesce(a.n, 0) AS trips,
           CASE WHEN a.nf > 0 THEN a.m END AS fare_mean
    FROM spine s LEFT JOIN agg a ON s.rn = a.rn ORDER BY s.rn
) TO '{{out}}' (FORMAT parquet)"""
UNION = f"""COPY (
    WITH {EVENTS}, {SPINE},
    stream AS (
        SELECT driver_id, ts, 0 AS kind, NULL::BIGINT AS rn, 1 AS one, fare FROM events
        UNION ALL SELECT driver_id, event_timestamp, 1, rn, NULL, NULL FROM spine
        UNION ALL SELECT driver_id, event_timestamp - to_seconds({{short}}), 2, rn, NULL, NULL
                  FROM spine
        UNION ALL SELECT driver_id, event_timestamp - to_seconds({{long}}), 3, rn, NULL, NULL
                  FROM spine
    ),
    running AS (
        SELECT kind, rn, count(one) OVER w AS n, count(fare) OVER w AS nf, sum(fare) OVER w AS sf
        FROM stream
        WINDOW w AS (PARTITION BY driver_id ORDER BY ts, kind ROWS UNBOUNDED PRECEDING)
    ),
    agg AS (
        SELECT rn,
               max(n) FILTER (kind = 1) - coalesce(max(n) FILTER (kind = 2), 0) AS n,
               max(nf) FILTER (kind = 1) - coalesce(max(nf) FILTER (kind = 3), 0) AS nf,
               max(sf) FILTER (kind = 1) - coalesce(max(sf) FILTER (kind = 3), 0) AS sf
        FROM running WHERE kind > 0 GROUP BY rn
    )
    SELECT s.driver_id, s.event_timestamp, s.label, coalesce(a.n, 0) AS trips,
           CASE WHEN a.nf > 0 THEN a.sf / a.nf END AS fare_mean
    FROM spine s LEFT JOIN agg a ON s.rn = a.rn ORDER BY s.rn
) TO '{{out}}' (FORMAT parquet)"""
FORMS = {"range": RANGE, "union": UNION}


def build(data_dir: Path, out: Path, form: str, short: int, long: int) -> None:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(
        FORMS[form].format(
            events=data_dir / "trips.parquet",
            spine=data_dir / "spine.parquet",
            short=short,
            long=long,
            out=out,
        )
    )
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--form", choices=sorted(FORMS), required=True)
    parser.add_argument("--short", type=int, required=True)
    parser.add_argument("--long", type=int, required=True)
    args = parser.parse_args()
    build(args.data_dir, args.out, args.form, args.short, args.long)
    return 0


if __name__ == "__main__":
    end(main())  # as aligned's CLI ends (see process_end)
