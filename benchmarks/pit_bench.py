"""Point-in-time benchmark: `aligned run` of a model against a hand-written DuckDB script.

Data (numpy, fixed seed): two driver feature views written as parquet, `driver_hourly`
(ttl 4h) and `driver_daily`, with ~1% (driver, event_timestamp) ties resolved by
`created`, a few NULL `created` and NULL values, and a shuffled spine of which ~5% of
rows lie before any history (plus rows exactly on an event and on the TTL bound).
Both sides run as whole separate processes, interleaved; we report median wall time and
peak RSS, and require the two outputs to be identical (rows, order, values).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import (
    ALIGNED,
    BENCH_DIR,
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

GENERATOR_VERSION = 2
SEED = 7
ROUNDS = 5  # single runs vary by ±15 % on a shared 2-core box
TIME_TARGET = 1.25
RSS_TARGET = 1.5
REFERENCE_MAX_ROWS = 50_000  # check the baseline against a pure-Python reference up to this
TTL_SECONDS = 4 * 3600
# scale -> (drivers, hourly rows per driver); daily rows and spine rows follow from these
SIZES: dict[Scale, tuple[int, int]] = {
    "smoke": (1_000, 20),
    "small": (10_000, 100),
    "large": (100_000, 100),
}
FEATURES = ["conv_rate", "acc_rate", "trips", "rating", "city"]
COLUMNS = ["driver_id", "event_timestamp", "label", *FEATURES]
START = np.datetime64("2024-03-01T00:00:00", "us")
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
CITIES = np.array([f"city_{i:02d}" for i in range(20)], dtype=object)

PROJECT_YML = """\
name: pit_bench
feature-paths: [features]
target-path: target
default-connection: local
connections:
  local: {type: duckdb, path: target/aligned.duckdb}
"""

FEATURES_YML = f"""\
sources:
  - name: driver_hourly_source
    file: data/driver_hourly.parquet
  - name: driver_daily_source
    file: data/driver_daily.parquet
  - name: driver_spine
    file: data/spine.parquet

feature_views:
  - name: driver_hourly
    source: driver_hourly_source
    entities: [driver_id]
    event_timestamp: event_timestamp
    created_timestamp: created
    ttl: {TTL_SECONDS // 3600}h
    features:
      conv_rate: {{type: float}}
      acc_rate: {{type: float}}
      trips: {{type: int64}}
  - name: driver_daily
    source: driver_daily_source
    entities: [driver_id]
    event_timestamp: event_timestamp
    created_timestamp: created
    features:
      rating: {{type: float}}
      city: {{type: string}}

models:
  - name: driver_model
    description: Point-in-time benchmark model
    features: [driver_hourly:conv_rate, driver_hourly:acc_rate, driver_hourly:trips,
               driver_daily:rating, driver_daily:city]
    spine: driver_spine
    output: {{file: target/datasets/driver_model.parquet}}
"""


@dataclass(frozen=True)
class History:
    """Event times of one view as a (drivers, rows) grid, plus ties and `created`."""

    event_us: np.ndarray  # int64 microseconds since START, shape (drivers, rows)
    created_us: np.ndarray  # same shape
    created_null: np.ndarray  # bool, same shape
    tie: np.ndarray  # bool, same shape: this row repeats its predecessor's event time


def _history(rng: np.random.Generator, gaps_us: np.ndarray, origin_us: int) -> History:
    """Cumulative event times with ~1% ties (a row repeating its predecessor's time).

    In a tie the two `created` values differ (which one wins is random); only the
    first row of a pair may have a NULL `created` (it must lose), so no tie is ambiguous."""
    event = origin_us + np.cumsum(gaps_us, axis=1)
    tie = rng.random(event.shape) < 0.01
    tie[:, 0] = False
    tie[:, 1:] &= ~tie[:, :-1]  # pairs only, never chains
    event[:, 1:] = np.where(tie[:, 1:], event[:, :-1], event[:, 1:])
    offset = rng.integers(0, 1800, event.shape) * 1_000_000
    shifted = (offset[:, :-1] + rng.integers(1, 1800, offset[:, 1:].shape) * 1_000_000) % (
        3600 * 1_000_000
    )
    offset[:, 1:] = np.where(tie[:, 1:], shifted, offset[:, 1:])
    first_of_pair = np.zeros_like(tie)
    first_of_pair[:, :-1] = tie[:, 1:]
    created_null = (rng.random(event.shape) < np.where(first_of_pair, 0.3, 0.005)) & ~tie
    return History(event, event + offset, created_null, tie)


def _timestamps(us: np.ndarray) -> pa.Array:
    return pa.array((START + us.astype("timedelta64[us]")).ravel(), pa.timestamp("us"))


def _write_shuffled(rng: np.random.Generator, columns: dict[str, pa.Array], path: Path) -> None:
    table = pa.table(columns)
    pq.write_table(table.take(pa.array(rng.permutation(table.num_rows))), path)


def generate(directory: Path, drivers: int, rows: int) -> None:
    """Write the project (YAML) and its parquet data for `drivers` x `rows`."""
    rng = np.random.default_rng(SEED)
    data = directory / "data"
    data.mkdir()
    (directory / "features").mkdir()
    (directory / "aligned_project.yml").write_text(PROJECT_YML)
    (directory / "features" / "drivers.yml").write_text(FEATURES_YML)
    ids = np.arange(1000, 1000 + drivers, dtype=np.int64)

    # driver_hourly: gaps of 1-5 h plus jitter, so the 4h TTL drops a real share of matches
    gaps = (
        rng.integers(1, 6, (drivers, rows)) * HOUR_US
        + rng.integers(-1_800, 1_800, (drivers, rows)) * 1_000_000
    )
    hourly = _history(rng, gaps, 0)
    n = drivers * rows
    conv = rng.random(n)
    conv_null = rng.random(n) < 0.005
    _write_shuffled(
        rng,
        {
            "driver_id": pa.array(np.repeat(ids, rows)),
            "event_timestamp": _timestamps(hourly.event_us),
            "created": pa.array(
                (START + hourly.created_us.astype("timedelta64[us]")).ravel(),
                pa.timestamp("us"),
                mask=hourly.created_null.ravel(),
            ),
            "conv_rate": pa.array(conv, pa.float64(), mask=conv_null),
            "acc_rate": pa.array(rng.random(n), pa.float64()),
            "trips": pa.array(rng.integers(0, 50, n), pa.int64()),
        },
        data / "driver_hourly.parquet",
    )

    # driver_daily: about one row a day, starting a day before the hourly history
    daily_rows = max(rows // 10, 2)
    daily_gaps = rng.integers(DAY_US // 2, DAY_US * 3 // 2, (drivers, daily_rows))
    daily = _history(rng, daily_gaps, -2 * DAY_US)
    m = drivers * daily_rows
    _write_shuffled(
        rng,
        {
            "driver_id": pa.array(np.repeat(ids, daily_rows)),
            "event_timestamp": _timestamps(daily.event_us),
            "created": pa.array(
                (START + daily.created_us.astype("timedelta64[us]")).ravel(),
                pa.timestamp("us"),
                mask=daily.created_null.ravel(),
            ),
            "rating": pa.array(rng.random(m) * 5, pa.float64()),
            "city": pa.array(CITIES[rng.integers(0, len(CITIES), m)], pa.string()),
        },
        data / "driver_daily.parquet",
    )

    # spine: random times over the driver's history (and 2h past it); ~5% before any history,
    # ~3% exactly on an hourly event, ~1% exactly on the TTL bound of an hourly event,
    # ~3% just after a tied hourly event
    per_driver = max(rows // 10, 1)
    s = drivers * per_driver
    kind = rng.random(s)
    tie_driver, tie_row = np.nonzero(hourly.tie)
    tie_pick = rng.integers(0, max(len(tie_driver), 1), s)
    on_tie = (kind >= 0.09) & (kind < 0.12) & (len(tie_driver) > 0)
    driver_index = np.repeat(np.arange(drivers), per_driver)
    if len(tie_driver):
        driver_index = np.where(on_tie, tie_driver[tie_pick], driver_index)
    end_us = hourly.event_us[driver_index, -1] + 2 * HOUR_US
    t = (rng.random(s) * end_us).astype(np.int64)
    event_pick = hourly.event_us[driver_index, rng.integers(0, rows, s)]
    t = np.where(kind < 0.05, -3 * DAY_US - rng.integers(1, DAY_US, s), t)
    t = np.where((kind >= 0.05) & (kind < 0.08), event_pick, t)
    t = np.where((kind >= 0.08) & (kind < 0.09), event_pick + TTL_SECONDS * 1_000_000, t)
    if len(tie_driver):
        tie_time = hourly.event_us[tie_driver[tie_pick], tie_row[tie_pick]]
        t = np.where(on_tie, tie_time + rng.integers(0, 1_800_000_000, s), t)
    order = rng.permutation(s)
    pq.write_table(
        pa.table(
            {
                "driver_id": pa.array(ids[driver_index][order]),
                "event_timestamp": _timestamps(t[order]),
                "label": pa.array(rng.integers(0, 2, s)[order], pa.int8()),
            }
        ),
        data / "spine.parquet",
    )


def compare(aligned_out: Path, baseline_out: Path) -> dict[str, int]:
    """Raise BenchmarkError unless both datasets are identical; return row statistics."""
    aligned_columns = pq.read_schema(aligned_out).names
    if aligned_columns != COLUMNS:
        raise BenchmarkError(f"aligned output columns {aligned_columns}, expected {COLUMNS}")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    numbered = "SELECT *, file_row_number AS rn FROM read_parquet('{}', file_row_number = true)"
    per_column = ", ".join(
        f"count(*) FILTER (WHERE a.{c} IS DISTINCT FROM b.{c}) AS {c}" for c in COLUMNS
    )
    joined = f"""
        WITH a AS ({numbered.format(aligned_out)}), b AS ({numbered.format(baseline_out)})
        SELECT {{}} FROM a FULL JOIN b ON a.rn = b.rn
    """
    counts = con.execute(
        joined.format(f"count(*) FILTER (WHERE a.rn IS NULL OR b.rn IS NULL), {per_column}")
    ).fetchone()
    assert counts is not None
    missing, by_column = counts[0], dict(zip(COLUMNS, counts[1:], strict=True))
    if missing or any(by_column.values()):
        differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in COLUMNS)
        first = con.execute(
            joined.format(f"a.rn, {', '.join(f'a.{c}, b.{c}' for c in COLUMNS)}")
            + f" WHERE {differs} ORDER BY a.rn LIMIT 1"
        ).fetchone()
        example = ""
        if first is not None:
            pairs = zip(COLUMNS, first[1::2], first[2::2], strict=True)
            example = f"; e.g. spine row {first[0]}: " + ", ".join(
                f"{c} aligned={a!r} baseline={b!r}" for c, a, b in pairs if a != b
            )
        wrong = ", ".join(f"{c} {n}" for c, n in by_column.items() if n)
        raise BenchmarkError(
            f"aligned output differs from the baseline: {missing} rows missing on one side,"
            f" differing values by column: {wrong or 'none'}{example}"
        )
    stats = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE trips IS NULL),
                   count(*) FILTER (WHERE city IS NULL)
            FROM read_parquet('{baseline_out}')"""
    ).fetchone()
    assert stats is not None
    return {"rows": stats[0], "hourly_null_rows": stats[1], "daily_null_rows": stats[2]}


def _latest(rows: list[dict[str, Any]], t: dt.datetime) -> dict[str, Any] | None:
    """The row with the greatest (event_timestamp, created) at or before t; NULL created
    loses a tie."""
    qualifying = [r for r in rows if r["event_timestamp"] <= t]
    return max(
        qualifying,
        key=lambda r: (r["event_timestamp"], r["created"] or dt.datetime.min),
        default=None,
    )


def reference_check(data: Path, baseline_out: Path) -> None:
    """Check the baseline itself against a brute-force Python reference (small data only)."""
    history: dict[str, defaultdict[int, list[dict[str, Any]]]] = {}
    for view in ("driver_hourly", "driver_daily"):
        history[view] = defaultdict(list)
        for row in pq.read_table(data / f"{view}.parquet").to_pylist():
            history[view][row["driver_id"]].append(row)
    ttl = dt.timedelta(seconds=TTL_SECONDS)
    expected: list[tuple[Any, ...]] = []
    for spine in pq.read_table(data / "spine.parquet").to_pylist():
        t = spine["event_timestamp"]
        hourly = _latest(history["driver_hourly"][spine["driver_id"]], t)
        if hourly is not None and hourly["event_timestamp"] < t - ttl:
            hourly = None
        daily = _latest(history["driver_daily"][spine["driver_id"]], t)
        expected.append(
            (
                *(spine[c] for c in ("driver_id", "event_timestamp", "label")),
                *(hourly[c] if hourly else None for c in ("conv_rate", "acc_rate", "trips")),
                *(daily[c] if daily else None for c in ("rating", "city")),
            )
        )
    got = [tuple(r.values()) for r in pq.read_table(baseline_out).to_pylist()]
    if got != expected:
        bad = [i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b]
        raise BenchmarkError(
            f"the baseline disagrees with the Python reference ({len(got)} vs "
            f"{len(expected)} rows, first differing rows {bad[:5]})"
        )


def run(scale: Scale) -> BenchResult:
    """Interleave ROUNDS runs of aligned and of the baseline; compare their outputs."""
    drivers, rows = SIZES[scale]
    params = {"version": GENERATOR_VERSION, "seed": SEED, "drivers": drivers, "rows": rows}
    result = BenchResult(name="pit", scale=scale, details=dict(params))
    try:
        project = cached_dataset(
            f"pit-{drivers}x{rows}", params, lambda d: generate(d, drivers, rows)
        )
        shutil.rmtree(project / "target", ignore_errors=True)
        aligned_out = project / "target" / "datasets" / "driver_model.parquet"
        baseline_out = project / "baseline" / "driver_model.parquet"
        baseline_out.parent.mkdir(exist_ok=True)
        aligned_cmd: list[str | Path] = [
            ALIGNED, "run", "--select", "model:driver_model", "--project-dir", project,
        ]  # fmt: skip
        baseline_cmd: list[str | Path] = [
            PYTHON, BENCH_DIR / "pit_baseline.py", project / "data", baseline_out,
            "--ttl-seconds", str(TTL_SECONDS),
        ]  # fmt: skip

        def aligned_run() -> Measurement:
            aligned_out.unlink(missing_ok=True)
            measurement = run_process(aligned_cmd, cwd=project)
            if not aligned_out.exists():
                raise BenchmarkError(f"`aligned run` exited 0 but wrote no {aligned_out}")
            return measurement

        run_process(baseline_cmd)  # warm-up: page cache, imports
        aligned_run()  # and the compile cache, as for any rerun (cold: compile_bench)
        aligned: list[Measurement] = []
        baseline: list[Measurement] = []
        for round_ in range(ROUNDS):
            if round_ % 2 == 0:
                aligned.append(aligned_run())
                baseline.append(run_process(baseline_cmd))
            else:
                baseline.append(run_process(baseline_cmd))
                aligned.append(aligned_run())
        if drivers * rows <= REFERENCE_MAX_ROWS:
            reference_check(project / "data", baseline_out)
            result.details["baseline_checked_against_python_reference"] = True
        result.details["aligned_runs"] = [vars(m) for m in aligned]
        result.details["baseline_runs"] = [vars(m) for m in baseline]
        mib = 1024 * 1024
        result.metrics = [
            Metric(
                f"`aligned run` wall time ({drivers * rows:,} feature rows)",
                "s",
                median([m.seconds for m in aligned]),
                median([m.seconds for m in baseline]),
                "duckdb",
                TIME_TARGET,
            ),
            Metric(
                "peak RSS",
                "MiB",
                median([m.peak_rss_bytes / mib for m in aligned]),
                median([m.peak_rss_bytes / mib for m in baseline]),
                "duckdb",
                RSS_TARGET,
            ),
        ]
        result.details["output"] = compare(aligned_out, baseline_out)
    except Exception as error:  # reported in the table; run_all exits non-zero
        result.error = f"{type(error).__name__}: {error}"
    write_result(result)
    return result


def main() -> int:
    return main_for(run, __doc__)


if __name__ == "__main__":
    sys.exit(main())
