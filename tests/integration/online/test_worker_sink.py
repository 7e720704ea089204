"""`aligned worker` with an offline sink (`stream_source: {stream: S, sink: ...}`):
the rows written online land in a parquet directory or a DuckDB/PostgreSQL table,
each message exactly once, across a crash between the sink write and the ack."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, aligned, event, write_project

from aligned_cli.core.naming import STREAM_ID_COLUMN as STREAM_ID
from aligned_cli.online.codec import decode
from aligned_cli.online.sink import ParquetDirectorySink
from aligned_cli.online.worker import DEAD_SUFFIX, Worker, group_name

KEY = "aligned:fleet:driver_stats:"
STREAM = "driver_events"
GROUP = group_name("fleet", "driver_stats")
SINKS = {
    "directory": "{file: target/streams/drivers/}",
    "duckdb": "{table: driver_log}",  # the default connection (DuckDB)
    "postgres": "{table: driver_log, schema: streams, connection: warehouse}",
}


def sink_project(root: Path, redis_url: str, kind: str, pg_dsn: str | None = None) -> Path:
    write_project(root, redis_url, [event(1, 48, 0.1)])
    if pg_dsn is not None:
        project = root / "aligned_project.yml"
        project.write_text(
            project.read_text().replace(
                "connections:\n",
                f"connections:\n  warehouse: {{type: postgres, dsn: '{pg_dsn}'}}\n",
            )
        )
    features = root / "features" / "drivers.yml"
    text = features.read_text().replace("    stream: driver_events\n", "")
    text = text.replace(
        "    source: driver_events\n",
        "    source: driver_events\n"
        f"    stream_source: {{stream: {STREAM}, sink: {SINKS[kind]}}}\n",
    )
    features.write_text(text)
    return root


def message(driver: int, minutes_ago: int, conv: float, trips: Any, **extra: str) -> dict[str, str]:
    ts = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {
        "driver_id": str(driver),
        "event_timestamp": ts,
        "created": ts,
        "conv_rate": str(conv),
        "trips": str(trips),
        **extra,
    }


def sink_rows(root: Path, kind: str, pg_dsn: str | None = None) -> list[dict[str, Any]]:
    if kind == "directory":
        import pyarrow.dataset as ds

        directory = root / "target" / "streams" / "drivers"
        return ds.dataset(directory, format="parquet").to_table().to_pylist()
    if kind == "duckdb":
        import duckdb

        con = duckdb.connect(str(root / "target" / "aligned.duckdb"), read_only=True)
        try:
            return con.sql("select * from main.driver_log").to_arrow_table().to_pylist()
        finally:
            con.close()
    import psycopg
    from psycopg.rows import dict_row

    assert pg_dsn is not None
    with psycopg.connect(pg_dsn, row_factory=dict_row) as conn:
        return list(conn.execute("select * from streams.driver_log").fetchall())


def ids_of(entries: list[Any]) -> list[str]:
    return [entry_id.decode() for entry_id in entries]


def test_directory_sink_holds_the_written_rows_with_their_message_ids(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    root = sink_project(tmp_path / "p", redis_url, "directory")
    added = [
        redis_client.xadd(STREAM, message(1, 5, 0.5, 4, city="bergen")),
        redis_client.xadd(STREAM, message(1, 50, 0.9, 9)),  # older: ignored online, kept
        redis_client.xadd(STREAM, message(2, 1, 0.25, 2)),  # no city field: NULL
        redis_client.xadd(STREAM, message(3, 1, 0.25, "many")),  # cannot be an int32
    ]
    result = aligned("worker", "--once", "--consumer", "w1", "--log-format", "json", cwd=root)
    assert result.exit_code == 0, result.output
    assert '"sunk": 3' in result.output and '"dead": 1' in result.output
    rows = {row[STREAM_ID]: row for row in sink_rows(root, "directory")}
    assert sorted(rows) == sorted(ids_of(added[:3]))  # the dead letter is not there
    first = rows[added[0].decode()]
    assert first["driver_id"] == 1 and first["busy"] == 2.0 and first["city"] == "bergen"
    assert first["event_timestamp"] == (NOW - timedelta(minutes=5))
    assert rows[added[1].decode()]["busy"] == pytest.approx(8.1)
    assert rows[added[2].decode()]["city"] is None
    # Online: the newest row of each entity, the same derived value.
    assert decode(redis_client.hget(f"{KEY}1", "busy").decode()) == 2.0
    assert not redis_client.exists(f"{KEY}3")
    dead = redis_client.xrange(STREAM + DEAD_SUFFIX)
    assert [entry[1][b"stream_id"] for entry in dead] == [added[3]]
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 0
    # Nothing half-written is visible: part files only, no temporary files.
    files = sorted(p.name for p in (root / "target" / "streams" / "drivers").iterdir())
    assert files and all(name.startswith("part-") for name in files), files


class Crash(BaseException):
    """Stands for the process dying (not an error the worker would handle)."""


@pytest.mark.parametrize("regroup", [1, 10], ids=["smaller-batches", "larger-batch"])
@pytest.mark.parametrize("kind", ["directory", "duckdb", "postgres"])
def test_crash_after_the_sink_write_before_the_ack_leaves_each_message_once(
    kind: str,
    regroup: int,
    tmp_path: Path,
    redis_url: str,
    redis_client: Any,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    pg_dsn = request.getfixturevalue("postgres_dsn") if kind == "postgres" else None
    root = sink_project(tmp_path / "p", redis_url, kind, pg_dsn)
    added = [redis_client.xadd(STREAM, message(d, 10 - d, 0.1 * d, d)) for d in range(1, 6)]
    # The worker dies on its second acknowledgement: batch [3, 4] is written online and
    # to the sink, but never acknowledged.
    acks: list[int] = []
    real_ack = Worker._ack

    def ack_then_die(self: Worker, view: Any, ids: list[Any]) -> None:
        acks.append(len(ids))
        if len(acks) == 2:
            raise Crash
        real_ack(self, view, ids)

    monkeypatch.setattr(Worker, "_ack", ack_then_die)
    with pytest.raises(Crash):
        aligned("worker", "--once", "--consumer", "w1", "--count", "2", cwd=root)
    monkeypatch.undo()
    assert Counter(row[STREAM_ID] for row in sink_rows(root, kind, pg_dsn)) == Counter(
        ids_of(added[:4])
    )
    # A later read of message 5 died before anything was written: it is pending too.
    redis_client.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=1)
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 3
    # The restarted worker re-reads [3, 4, 5] grouped differently than before.
    again = ("worker", "--once", "--consumer", "w1", "--count", str(regroup))
    result = aligned(*again, cwd=root)
    assert result.exit_code == 0, result.output
    rows = sink_rows(root, kind, pg_dsn)
    assert Counter(row[STREAM_ID] for row in rows) == Counter(ids_of(added))
    assert sorted((row["driver_id"], row["busy"]) for row in rows) == [
        (d, pytest.approx(0.1 * d * d)) for d in range(1, 6)
    ]
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 0
    for driver in range(1, 6):
        assert decode(redis_client.hget(f"{KEY}{driver}", "trips").decode()) == driver
    # Another run finds nothing to do and writes nothing.
    assert aligned(*again, cwd=root).exit_code == 0
    assert len(sink_rows(root, kind, pg_dsn)) == 5


def test_directory_sink_deduplicates_per_message_id_whatever_the_grouping(
    tmp_path: Path,
) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds

    sink = ParquetDirectorySink(tmp_path / "parts", "parts")

    def batch(*ids: str) -> tuple[pa.Table, list[str]]:
        return pa.table({"x": [int(i.split("-")[0]) for i in ids]}), list(ids)

    assert sink.write(*batch("5-0", "9-0", "10-1")) == 3
    assert sink.write(*batch("5-0", "9-0", "10-1")) == 0  # the same batch again
    assert sink.write(*batch("1-0", "9-0", "10-0")) == 2  # overlaps: only 9-0 is known
    assert sink.write(*batch("10-1", "11-0")) == 1
    assert sink.write(*batch("9-0")) == 0
    written = ds.dataset(tmp_path / "parts", format="parquet").to_table()
    assert sorted(written.column(STREAM_ID).to_pylist()) == sorted(
        ["1-0", "5-0", "9-0", "10-0", "10-1", "11-0"]
    )
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [
        "part-1-0_10-0.parquet",
        "part-11-0_11-0.parquet",
        "part-5-0_10-1.parquet",
    ]


def test_sink_rows_equal_what_aligned_run_computes_offline(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    """Online/offline parity: the same events, once as stream messages (text values)
    and once as the view's source file, give the same rows, derived features too."""
    events = [
        event(1, 30, 0.5, trips=4, city="bergen"),
        event(1, 20, 0.125, trips=7, city=None, active=False),
        event(2, 10, 0.75, trips=0, city="oslo"),
    ]
    root = write_project(tmp_path / "p", redis_url, events)
    features = root / "features" / "drivers.yml"
    text = features.read_text().replace("    stream: driver_events\n", "")
    text = text.replace(
        "    source: driver_events\n",
        "    source: driver_events\n"
        "    materialized_source: {file: target/offline/driver_stats.parquet}\n"
        f"    stream_source: {{stream: {STREAM}, sink: {SINKS['directory']}}}\n",
    )
    text += (
        "      label: {expression: \"coalesce(city, 'none') || '/' || cast(trips AS varchar)\"}\n"
        '      slow: {expression: "not active or conv_rate < 0.2"}\n'
    )
    features.write_text(text)
    for row in events:
        fields = {
            "driver_id": str(row["driver_id"]),
            "event_timestamp": row["event_timestamp"].isoformat(),
            "created": row["created"].isoformat(),
            "conv_rate": str(row["conv_rate"]),
            "trips": str(row["trips"]),
            "active": "true" if row["active"] else "false",
        }
        if row["city"] is not None:  # a string field is text as sent: NULL is no field
            fields["city"] = row["city"]
        redis_client.xadd(STREAM, fields)
    run = aligned("run", cwd=root)
    assert run.exit_code == 0, run.output
    worker = aligned("worker", "--once", "--consumer", "w1", cwd=root)
    assert worker.exit_code == 0, worker.output
    import pyarrow.parquet as pq

    offline = pq.read_table(root / "target" / "offline" / "driver_stats.parquet").to_pylist()
    online = sink_rows(root, "directory")
    assert len(online) == len(offline) == 3

    def keyed(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
        return {(r["driver_id"], r["event_timestamp"]): r for r in rows}

    sunk = keyed(online)
    for key, expected in keyed(offline).items():
        got = sunk[key]
        assert set(got) == set(expected) | {STREAM_ID}
        for name, value in expected.items():
            same = value == got[name] or (
                isinstance(value, float) and math.isnan(value) and math.isnan(got[name])
            )
            assert same, (key, name, value, got[name])
    assert {r["label"] for r in online} == {"bergen/4", "none/7", "oslo/0"}


def test_sink_declaration_errors_are_located(tmp_path: Path, redis_url: str) -> None:
    root = sink_project(tmp_path / "p", redis_url, "duckdb")
    features = root / "features" / "drivers.yml"
    original = features.read_text()
    cases = {
        "{table: driver_log, connection: locall}": ("connection 'locall'", "did you mean 'local'"),
        "{file: target/streams/x.csv}": ("parquet part files, not csv", "features/drivers.yml:"),
        "{file: s3://bucket/x/}": ("not a local directory", "features/drivers.yml:"),
        "{file: x/, table: y}": ("exactly one of `file` or `table`", "features/drivers.yml:"),
        "{tabel: x}": ("tabel", "features/drivers.yml:"),
        "{table: 'x; drop table y'}": ("x; drop table y", "features/drivers.yml:"),
    }
    for sink, (message, where) in cases.items():
        features.write_text(original.replace(SINKS["duckdb"], sink))
        result = aligned("compile", cwd=root)
        assert result.exit_code == 2, (sink, result.output)
        assert message in result.output and where in result.output, (sink, result.output)
        assert "Traceback" not in result.output


def test_python_dsl_declares_a_stream_sink(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    root = write_project(tmp_path / "p", redis_url, [event(1, 48, 0.1)])
    (root / "features" / "drivers.yml").unlink()
    (root / "features" / "drivers.py").write_text(
        """
from aligned_cli import feature_view, FileSource, Int64, Float, Int32, EventTimestamp

events = FileSource.parquet_at("data/driver_events.parquet")

@feature_view(
    name="driver_stats",
    source=events,
    stream_source="driver_events",
    stream_sink=FileSource.parquet_at("target/streams/drivers/"),
)
class DriverStats:
    driver_id = Int64().as_entity()
    event_timestamp = EventTimestamp()
    conv_rate = Float()
    trips = Int32()
    busy = conv_rate * trips
"""
    )
    compiled = aligned("compile", cwd=root)
    assert compiled.exit_code == 0, compiled.output
    added = redis_client.xadd(
        STREAM,
        {"driver_id": "7", "event_timestamp": NOW.isoformat(), "conv_rate": "0.5", "trips": "3"},
    )
    result = aligned("worker", "--once", "--consumer", "w1", cwd=root)
    assert result.exit_code == 0, result.output
    rows = sink_rows(root, "directory")
    assert [(r["driver_id"], r["busy"], r[STREAM_ID]) for r in rows] == [(7, 1.5, added.decode())]
    # A sink without a stream to fill it is a located error.
    text = (root / "features" / "drivers.py").read_text()
    (root / "features" / "drivers.py").write_text(
        text.replace('    stream_source="driver_events",\n', "")
    )
    broken = aligned("compile", cwd=root)
    assert broken.exit_code == 2, broken.output
    assert "stream_sink but no stream_source" in broken.output
    assert "features/drivers.py:" in broken.output
