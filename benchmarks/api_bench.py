"""Runtime API benchmark: `store.features_for(entities, features=[...])` in-process.

The point-in-time benchmark's data (two views, ties resolved by `created`, a TTL) and
its spine as the entity frame (100k rows at "small"): aligned's
`FeatureStore.features_for(...).to_arrow_sync()` for 5 features from two views against
the hand-written DuckDB struct-key ASOF query over the same registered Arrow table, in
the same process and run, rounds interleaved. The two results must be identical.

    python benchmarks/api_bench.py --scale smoke|small|large
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import duckdb
import pit_bench
import pyarrow as pa
import pyarrow.parquet as pq
from common import (
    ALIGNED,
    BenchmarkError,
    BenchResult,
    Metric,
    Scale,
    cached_dataset,
    main_for,
    median,
    run_process,
    write_result,
)

ROUNDS = 5
TARGET = 1.25
FEATURES = ["conv_rate", "acc_rate", "trips", "rating", "city"]
REFS = [f"driver_hourly:{f}" for f in FEATURES[:3]] + [f"driver_daily:{f}" for f in FEATURES[3:]]

# The hand-written query: the same job the API does, on an Arrow entity frame.
BASELINE = """
WITH spine AS (SELECT *, row_number() OVER () AS rn FROM entities),
hourly AS (
    SELECT driver_id, event_timestamp AS ts, conv_rate, acc_rate, trips,
           {{'t': event_timestamp, 'c': coalesce(created, '-infinity'::TIMESTAMP)}} AS k
    FROM read_parquet('{hourly}') WHERE event_timestamp IS NOT NULL),
daily AS (
    SELECT driver_id, rating, city,
           {{'t': event_timestamp, 'c': coalesce(created, '-infinity'::TIMESTAMP)}} AS k
    FROM read_parquet('{daily}') WHERE event_timestamp IS NOT NULL)
SELECT s.driver_id, s.event_timestamp, s.label,
    CASE WHEN h.ts >= s.event_timestamp - to_seconds({ttl}) THEN h.conv_rate END AS conv_rate,
    CASE WHEN h.ts >= s.event_timestamp - to_seconds({ttl}) THEN h.acc_rate END AS acc_rate,
    CASE WHEN h.ts >= s.event_timestamp - to_seconds({ttl}) THEN h.trips END AS trips,
    d.rating, d.city
FROM spine s
ASOF LEFT JOIN hourly h ON s.driver_id = h.driver_id
    AND {{'t': s.event_timestamp, 'c': 'infinity'::TIMESTAMP}} >= h.k
ASOF LEFT JOIN daily d ON s.driver_id = d.driver_id
    AND {{'t': s.event_timestamp, 'c': 'infinity'::TIMESTAMP}} >= d.k
ORDER BY s.rn
"""


def _timed(action: Callable[[], pa.Table]) -> tuple[float, pa.Table]:
    start = time.perf_counter()
    table = action()
    return time.perf_counter() - start, table


def _same(aligned: pa.Table, baseline: pa.Table) -> None:
    if aligned.num_rows != baseline.num_rows:
        raise BenchmarkError(f"row counts differ: {aligned.num_rows} vs {baseline.num_rows}")
    for name in FEATURES:
        left = aligned.column(name).to_pylist()
        right = baseline.column(name).to_pylist()
        wrong = sum(1 for a, b in zip(left, right, strict=True) if a != b and a == a)
        if wrong:
            raise BenchmarkError(f"{wrong} values of {name} differ from the baseline")


def run(scale: Scale) -> BenchResult:
    from aligned_cli.api import FeatureStore

    drivers, rows = pit_bench.SIZES[scale]
    params = {
        "version": pit_bench.GENERATOR_VERSION,
        "seed": pit_bench.SEED,
        "drivers": drivers,
        "rows": rows,
    }
    result = BenchResult(name="api", scale=scale, details=dict(params))
    try:
        project = cached_dataset(
            f"pit-{drivers}x{rows}", params, lambda d: pit_bench.generate(d, drivers, rows)
        )
        run_process([ALIGNED, "compile", "--project-dir", project])
        entities = pq.read_table(project / "data" / "spine.parquet")
        store = FeatureStore.from_manifest(project / "target" / "manifest.json")
        sql = BASELINE.format(
            hourly=project / "data" / "driver_hourly.parquet",
            daily=project / "data" / "driver_daily.parquet",
            ttl=pit_bench.TTL_SECONDS,
        )
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")

        def baseline() -> pa.Table:
            connection.register("entities", entities)
            table = connection.sql(sql).to_arrow_table()
            connection.unregister("entities")
            return table

        def aligned() -> pa.Table:
            return store.features_for(entities, features=REFS).to_arrow_sync()

        aligned()  # warm-up: imports, page cache
        baseline()
        aligned_times: list[float] = []
        baseline_times: list[float] = []
        for round_ in range(ROUNDS):
            order = (aligned, baseline) if round_ % 2 == 0 else (baseline, aligned)
            for action in order:
                seconds, table = _timed(action)
                (aligned_times if action is aligned else baseline_times).append(seconds)
                if action is aligned:
                    aligned_table = table
                else:
                    baseline_table = table
        _same(aligned_table, baseline_table)
        result.details.update(aligned_seconds=aligned_times, baseline_seconds=baseline_times)
        result.metrics = [
            Metric(
                f"`features_for` ({entities.num_rows:,} entities x 5 features)",
                "s",
                median(aligned_times),
                median(baseline_times),
                "duckdb",
                TARGET,
            )
        ]
    except Exception as error:  # reported in the table; run_all exits non-zero
        result.error = f"{type(error).__name__}: {error}"
    write_result(result)
    return result


def main() -> int:
    return main_for(run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
