"""PostgreSQL point-in-time benchmark: `aligned run` against a hand-written LATERAL query.

The pit benchmark's data (`pit_bench.generate`: two driver views with ties on
`created`, NULL `created`, a 4h TTL and spine rows before any history) is loaded by
COPY into tables of a database this script creates and drops (`aligned_bench_<pid>`). The
tables get the index a careful hand-written query wants, once, outside the timing.
Both sides then run as whole processes, interleaved: `aligned run --target warehouse`
of a project whose sources are those tables, and the hand-written query (one
`LEFT JOIN LATERAL (... ORDER BY event DESC, created DESC NULLS LAST LIMIT 1)` per
view) streamed out by COPY and written to the same parquet file. The outputs must be
identical to each other and to the DuckDB pit baseline on the same data.

    python benchmarks/pg_bench.py --scale smoke|small   (server: ALIGNED_BENCH_POSTGRES_DSN)
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pit_bench
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from common import (
    ALIGNED,
    BENCH_DIR,
    DATA_DIR,
    PYTHON,
    BenchmarkError,
    BenchResult,
    Measurement,
    Metric,
    Scale,
    cached_dataset,
    main_for,
    median,
    run_process,
    write_result,
)
from process_end import end
from psycopg import sql

SERVER_DSN = os.environ.get(
    "ALIGNED_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# One database per run (pid): two benchmark runs on one server never drop each other's.
DATABASE = f"aligned_bench_{os.getpid()}"
ROUNDS = 3
TIME_TARGET = 1.25
SCALES: tuple[Scale, ...] = ("smoke", "small")  # large: hours of loading for little news

TABLES = {
    "driver_hourly": "driver_id bigint, event_timestamp timestamptz, created timestamptz,"
    " conv_rate double precision, acc_rate double precision, trips bigint",
    "driver_daily": "driver_id bigint, event_timestamp timestamptz, created timestamptz,"
    " rating double precision, city text",
    "spine": "driver_id bigint, event_timestamp timestamptz, label smallint",
}
# The index the lookup walks top-1: its columns and directions are its ORDER BY.
INDEXES = [
    f"CREATE INDEX {t}_pit ON {t} (driver_id, event_timestamp DESC, created DESC NULLS LAST)"
    for t in ("driver_hourly", "driver_daily")
]

PROJECT_YML = """\
name: pg_bench
feature-paths: [features]
target-path: target
default-connection: warehouse
connections:
  warehouse: {{type: postgres, dsn: "{dsn}"}}
"""
# pit_bench's project with table sources instead of parquet files.
FEATURES_YML = (
    pit_bench.FEATURES_YML.replace("file: data/driver_hourly.parquet", "table: driver_hourly")
    .replace("file: data/driver_daily.parquet", "table: driver_daily")
    .replace("file: data/spine.parquet", "table: spine")
)

LOOKUP = """
LEFT JOIN LATERAL (
    SELECT {features} FROM {view} v
    WHERE v.driver_id = s.driver_id AND v.event_timestamp <= s.event_timestamp {ttl}
    ORDER BY v.event_timestamp DESC, v.created DESC NULLS LAST
    LIMIT 1
) {alias} ON TRUE"""
BASELINE_QUERY = (
    """
WITH s AS (SELECT driver_id, event_timestamp, label, row_number() OVER () AS rn FROM spine)
SELECT s.driver_id, s.event_timestamp, s.label,
       h.conv_rate, h.acc_rate, h.trips, d.rating, d.city
FROM s"""
    + LOOKUP.format(
        features="conv_rate, acc_rate, trips",
        view="driver_hourly",
        ttl=f"AND v.event_timestamp >= s.event_timestamp - INTERVAL '{pit_bench.TTL_SECONDS} s'",
        alias="h",
    )
    + LOOKUP.format(features="rating, city", view="driver_daily", ttl="", alias="d")
    + "\nORDER BY s.rn"
)
OUTPUT_SCHEMA = pa.schema(
    [
        ("driver_id", pa.int64()),
        ("event_timestamp", pa.timestamp("us", tz="UTC")),
        ("label", pa.int16()),
        ("conv_rate", pa.float64()),
        ("acc_rate", pa.float64()),
        ("trips", pa.int64()),
        ("rating", pa.float64()),
        ("city", pa.string()),
    ]
)


def baseline(dsn: str, out: Path) -> None:
    """The hand-written side (run as its own process): query, COPY out, parquet."""
    buffer = io.BytesIO()
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        copy_sql = f"COPY ({BASELINE_QUERY}) TO STDOUT (FORMAT csv)"
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for chunk in copy:
                buffer.write(chunk)
    buffer.seek(0)
    table = pa_csv.read_csv(
        buffer,
        read_options=pa_csv.ReadOptions(column_names=OUTPUT_SCHEMA.names),
        convert_options=pa_csv.ConvertOptions(column_types=OUTPUT_SCHEMA, strings_can_be_null=True),
    )
    pq.write_table(table, out)


def database_dsn(server_dsn: str, name: str) -> str:
    base, _, _ = server_dsn.rpartition("/")
    return f"{base}/{name}"


def create_database(name: str) -> str:
    """A fresh database `name` on the server (an old one left by a crash is dropped)."""
    drop_database(name)
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_dsn(SERVER_DSN, name)


def drop_database(name: str) -> None:
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        conn.execute(statement)


def load(dsn: str, data: Path) -> None:
    """COPY the parquet files into typed tables (file order kept: it is spine order),
    then index and analyze them."""
    files = {"driver_hourly": "driver_hourly", "driver_daily": "driver_daily", "spine": "spine"}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # naive parquet times are UTC
        for table, columns in TABLES.items():
            conn.execute(f"CREATE TABLE {table} ({columns})")
            arrow = pq.read_table(data / f"{files[table]}.parquet")
            names = ", ".join(arrow.schema.names)
            buffer = io.BytesIO()
            pa_csv.write_csv(arrow, buffer, pa_csv.WriteOptions(include_header=False))
            copy_sql = f"COPY {table} ({names}) FROM STDIN (FORMAT csv)"
            with conn.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.write(buffer.getbuffer())
        for statement in INDEXES:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE")


def write_project(directory: Path, dsn: str) -> Path:
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "features").mkdir(parents=True)
    (directory / "aligned_project.yml").write_text(PROJECT_YML.format(dsn=dsn))
    (directory / "features" / "drivers.yml").write_text(FEATURES_YML)
    return directory


def run(scale: Scale) -> BenchResult:
    """Interleave ROUNDS runs of aligned and of the baseline; compare their outputs."""
    drivers, rows = pit_bench.SIZES[scale]
    params = {"version": pit_bench.GENERATOR_VERSION, "seed": pit_bench.SEED,
              "drivers": drivers, "rows": rows}  # fmt: skip
    result = BenchResult(name="pg_pit", scale=scale, details=dict(params))
    try:
        data = cached_dataset(
            f"pit-{drivers}x{rows}", params, lambda d: pit_bench.generate(d, drivers, rows)
        )
        dsn = create_database(DATABASE)
        load(dsn, data / "data")
        project = write_project(DATA_DIR / f"pg-{drivers}x{rows}", dsn)
        aligned_out = project / "target" / "datasets" / "driver_model.parquet"
        baseline_out = project / "baseline" / "driver_model.parquet"
        duckdb_out = project / "baseline" / "duckdb.parquet"
        baseline_out.parent.mkdir()
        aligned_cmd: list[str | Path] = [
            ALIGNED, "run", "--select", "model:driver_model", "--target", "warehouse",
            "--project-dir", project,
        ]  # fmt: skip
        baseline_cmd: list[str | Path] = [
            PYTHON, BENCH_DIR / "pg_bench.py", "baseline", dsn, baseline_out,
        ]  # fmt: skip

        def aligned_run() -> Measurement:
            aligned_out.unlink(missing_ok=True)
            measurement = run_process(aligned_cmd, cwd=project)
            if not aligned_out.exists():
                raise BenchmarkError(f"`aligned run` exited 0 but wrote no {aligned_out}")
            return measurement

        run_process(baseline_cmd)  # warm-up: shared buffers, page cache, imports
        run_process(aligned_cmd, cwd=project)  # and the compile cache, like a rerun
        aligned: list[Measurement] = []
        hand: list[Measurement] = []
        for round_ in range(ROUNDS):
            if round_ % 2 == 0:
                aligned.append(aligned_run())
                hand.append(run_process(baseline_cmd))
            else:
                hand.append(run_process(baseline_cmd))
                aligned.append(aligned_run())
        result.details["aligned_runs"] = [vars(m) for m in aligned]
        result.details["baseline_runs"] = [vars(m) for m in hand]
        result.metrics = [
            Metric(
                f"`aligned run` wall time ({drivers * rows:,} feature rows)",
                "s",
                median([m.seconds for m in aligned]),
                median([m.seconds for m in hand]),
                "postgres",
                TIME_TARGET,
            )
        ]
        result.details["output"] = pit_bench.compare(aligned_out, baseline_out)
        # The same answer as the DuckDB engine's hand-written ASOF query (untimed).
        run_process([
            PYTHON, BENCH_DIR / "pit_baseline.py", data / "data", duckdb_out,
            "--ttl-seconds", str(pit_bench.TTL_SECONDS),
        ])  # fmt: skip
        pit_bench.compare(aligned_out, duckdb_out)
        result.details["same_as_duckdb_baseline"] = True
    except Exception as error:  # reported in the table; the exit code says it failed
        result.error = f"{type(error).__name__}: {error}"
    finally:
        try:
            drop_database(DATABASE)
        except psycopg.Error as error:
            result.error = result.error or f"could not drop {DATABASE}: {error}"
    write_result(result)
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "baseline":
        baseline(sys.argv[2], Path(sys.argv[3]))
        end(0)  # as aligned's CLI ends (see process_end)
    return main_for(run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
