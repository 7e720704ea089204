"""Hand-written DuckDB baseline for the point-in-time benchmark (run as its own process).

For each view one `ASOF LEFT JOIN` on driver_id plus a struct key
`{event_timestamp, coalesce(created, '-infinity')}` probed with `{t, 'infinity'}`, which
picks the latest row at or before t and breaks event-time ties by `created` in the same
pass. TTL is applied by nulling a match older than t - ttl. Spine order is kept with the
parquet file row number.

    python pit_baseline.py DATA_DIR OUT.parquet --ttl-seconds 14400
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
from process_end import end

QUERY = """
COPY (
    WITH spine AS (
        SELECT driver_id, event_timestamp, label, file_row_number AS rn
        FROM read_parquet('{spine}', file_row_number = true)
    ),
    hourly AS (
        SELECT driver_id, event_timestamp AS ts, conv_rate, acc_rate, trips,
               {{'t': event_timestamp, 'c': coalesce(created, '-infinity'::TIMESTAMP)}} AS k
        FROM read_parquet('{hourly}')
        WHERE event_timestamp IS NOT NULL
    ),
    daily AS (
        SELECT driver_id, rating, city,
               {{'t': event_timestamp, 'c': coalesce(created, '-infinity'::TIMESTAMP)}} AS k
        FROM read_parquet('{daily}')
        WHERE event_timestamp IS NOT NULL
    )
    SELECT
        s.driver_id, s.event_timestamp, s.label,
        CASE WHEN h.ts >= s.event_timestamp - to_seconds({ttl}) THEN h.conv_rate END
            AS conv_rate,
        CASE WHEN h.ts >= s.event_timestamp - to_seconds({ttl}) THEN h.acc_rate END
            AS acc_rate,
        CASE WHEN h.ts >= s.event_timestamp - to_seconds({ttl}) THEN h.trips END AS trips,
        d.rating,
        d.city
    FROM spine s
    ASOF LEFT JOIN hourly h
        ON s.driver_id = h.driver_id
        AND {{'t': s.event_timestamp, 'c': 'infinity'::TIMESTAMP}} >= h.k
    ASOF LEFT JOIN daily d
        ON s.driver_id = d.driver_id
        AND {{'t': s.event_timestamp, 'c': 'infinity'::TIMESTAMP}} >= d.k
    ORDER BY s.rn
) TO '{out}' (FORMAT parquet)
"""


def build(data_dir: Path, out: Path, ttl_seconds: int) -> None:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(
        QUERY.format(
            spine=data_dir / "spine.parquet",
            hourly=data_dir / "driver_hourly.parquet",
            daily=data_dir / "driver_daily.parquet",
            ttl=int(ttl_seconds),
            out=out,
        )
    )
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--ttl-seconds", type=int, required=True)
    args = parser.parse_args()
    build(args.data_dir, args.out, args.ttl_seconds)
    return 0


if __name__ == "__main__":
    end(main())  # as aligned's CLI ends (see process_end)
