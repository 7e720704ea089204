"""Hand-written Spark SQL baselines for the Spark point-in-time benchmark (own process).

A local[2] SparkSession (session time zone UTC, the same settings aligned's spark
adapter uses) reads the three parquet files of `pit_bench` and writes the model's
dataset as a parquet directory, in one of two forms (`spark_bench.py` runs both and
takes the faster as the baseline):

- `window`: one shuffle by driver_id of the union of spine rows and the rows of *both*
  views, sorted by a hash of driver_id and then by the window's order, and per view
  `last(struct(...), true)` over (ORDER BY time, feature rows before spine rows at an
  equal time, then `created` ascending with NULL first so that NULL loses a tie). Spine
  columns ride along in the union, so no join back.
- `range`: `spine LEFT JOIN view ON driver_id AND event <= t [AND event >= t - ttl]`,
  ranked per spine row by `row_number()` (event DESC, created DESC NULLS LAST) = 1,
  one view after the other. The rank is partitioned by (driver_id, spine row), which the
  join's hash partitioning on driver_id already satisfies: no extra shuffle.

Spine order is kept with `monotonically_increasing_id()` (increasing in file order,
computed where the spine is read, once) and a final `ORDER BY` (see ORDERED).

    python spark_baseline.py DATA_DIR OUT_DIR --form window [--form range] --ttl-seconds 14400

Each form writes OUT_DIR/<form>.parquet (a directory). Several `--form`s run one after
the other in one session: the smoke scale does that to save JVM start-ups.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from process_end import end

if TYPE_CHECKING:  # pyspark is imported only when a session starts
    from pyspark.sql import SparkSession

# The session settings of both sides: aligned's spark adapter defaults (UTC, no UI,
# 4 shuffle partitions) plus a driver memory large enough for 10M rows.
MASTER = "local[2]"
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "4g",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
PARTITIONS = SPARK_CONF["spark.sql.shuffle.partitions"]

SOURCES = """
spine AS (
    SELECT driver_id, event_timestamp, label, monotonically_increasing_id() AS rid
    FROM spine_file
),
hourly AS (
    SELECT * FROM hourly_file WHERE driver_id IS NOT NULL AND event_timestamp IS NOT NULL
),
daily AS (
    SELECT * FROM daily_file WHERE driver_id IS NOT NULL AND event_timestamp IS NOT NULL
)"""

# Feature rows sort before spine rows at an equal time (kind 0 < 1); among feature rows
# of one view at an equal time `created` ascending puts NULL first, so the greatest
# created wins and a NULL loses. A spine row carries NULL structs, which `last(.., true)`
# skips; each view's struct is NULL on the other view's rows.
# `clustered` sorts each shuffle partition by a hash of the driver (a radix sort on one
# long) before the window's own sort, which is partitioned by (that hash, driver_id):
# the same groups, but each driver's rows arrive adjacent. Sorted straight from the
# shuffle, all rows of a driver tie on the sort prefix (driver_id) and every comparison
# between them reads both rows from memory in random order (measured, large: ~35 s of
# sort time instead of ~4 s).
WINDOW = f"""
WITH {SOURCES},
stream AS (
    SELECT driver_id, event_timestamp AS ts, 1 AS kind, NULL AS created, rid, label,
           NULL AS h, NULL AS d
    FROM spine
    UNION ALL
    SELECT driver_id, event_timestamp, 0, created, NULL, NULL,
           struct(event_timestamp AS ts, conv_rate, acc_rate, trips), NULL
    FROM hourly
    UNION ALL
    SELECT driver_id, event_timestamp, 0, created, NULL, NULL,
           NULL, struct(rating, city)
    FROM daily
),
clustered AS (
    SELECT * FROM stream DISTRIBUTE BY driver_id SORT BY xxhash64(driver_id)
),
latest AS (
    SELECT driver_id, ts, kind, rid, label,
           last(h, true) OVER w AS h,
           last(d, true) OVER w AS d
    FROM clustered
    WINDOW w AS (PARTITION BY xxhash64(driver_id), driver_id ORDER BY ts, kind, created
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT /*+ REPARTITION({{partitions}}) */ driver_id, ts AS event_timestamp, label,
       CASE WHEN h.ts >= ts - INTERVAL {{ttl}} SECONDS THEN h.conv_rate END AS conv_rate,
       CASE WHEN h.ts >= ts - INTERVAL {{ttl}} SECONDS THEN h.acc_rate END AS acc_rate,
       CASE WHEN h.ts >= ts - INTERVAL {{ttl}} SECONDS THEN h.trips END AS trips,
       d.rating, d.city, rid
FROM latest
WHERE kind = 1
"""

# The TTL is a join condition here (a range join cannot do better than bounding it).
RANGE = f"""
WITH {SOURCES},
with_hourly AS (
    SELECT s.driver_id, s.event_timestamp, s.label, s.rid, h.conv_rate, h.acc_rate, h.trips,
           row_number() OVER (PARTITION BY s.driver_id, s.rid
                              ORDER BY h.event_timestamp DESC, h.created DESC NULLS LAST) AS n
    FROM spine s
    LEFT JOIN hourly h
      ON s.driver_id = h.driver_id AND h.event_timestamp <= s.event_timestamp
     AND h.event_timestamp >= s.event_timestamp - INTERVAL {{ttl}} SECONDS
),
with_daily AS (
    SELECT x.driver_id, x.event_timestamp, x.label, x.rid, x.conv_rate, x.acc_rate, x.trips,
           d.rating, d.city,
           row_number() OVER (PARTITION BY x.driver_id, x.rid
                              ORDER BY d.event_timestamp DESC, d.created DESC NULLS LAST) AS n
    FROM (SELECT * FROM with_hourly WHERE n = 1) x
    LEFT JOIN daily d
      ON x.driver_id = d.driver_id AND d.event_timestamp <= x.event_timestamp
)
SELECT /*+ REPARTITION({{partitions}}) */
       driver_id, event_timestamp, label, conv_rate, acc_rate, trips, rating, city, rid
FROM with_daily
WHERE n = 1
"""
# The final ORDER BY range-partitions its input, and Spark samples that input with a
# job of its own: without a shuffle in between, the sampling job re-runs the whole
# window (or join) stage. A round-robin REPARTITION of the 1 row per spine row first
# makes the sample read shuffle files instead (measured: large scale, several times
# cheaper than computing the stage twice).
ORDERED = """
SELECT driver_id, event_timestamp, label, conv_rate, acc_rate, trips, rating, city
FROM ({query}) ORDER BY rid
"""
FORMS = {"window": WINDOW, "range": RANGE}


def session() -> SparkSession:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(MASTER).appName("aligned-bench-baseline")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def build(data_dir: Path, out_dir: Path, forms: list[str], ttl_seconds: int, explain: bool) -> None:
    spark = session()
    try:
        for view, file in (("spine_file", "spine"), ("hourly_file", "driver_hourly"),
                           ("daily_file", "driver_daily")):  # fmt: skip
            spark.read.parquet(str(data_dir / f"{file}.parquet")).createOrReplaceTempView(view)
        for form in forms:
            query = FORMS[form].format(ttl=int(ttl_seconds), partitions=PARTITIONS)
            frame = spark.sql(ORDERED.format(query=query))
            if explain:
                frame.explain()
            frame.write.mode("overwrite").parquet(str(out_dir / f"{form}.parquet"))
    finally:
        spark.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--form", choices=sorted(FORMS), action="append", required=True)
    parser.add_argument("--ttl-seconds", type=int, required=True)
    parser.add_argument("--explain", action="store_true", help="print the physical plan")
    args = parser.parse_args()
    build(args.data_dir, args.out_dir, args.form, args.ttl_seconds, args.explain)
    return 0


if __name__ == "__main__":
    end(main())  # as aligned's CLI ends (see process_end)
