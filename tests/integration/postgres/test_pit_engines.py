"""`aligned run` gives the same point-in-time dataset on DuckDB and PostgreSQL.

The PostgreSQL run path reads each temporal view from an indexed relation: a TEMP
copy of the view (file sources, transformed views) or the user's own table when the
view reads it unchanged and it has an index. Either way the dataset must not change,
and no temporary table may outlive the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

pytestmark = pytest.mark.postgres

T0 = datetime(2024, 3, 1, 10, 0)
H = timedelta(hours=1)

# driver 1: a tie at 10:00 broken by `created`; at 12:00 a NULL `created` loses the tie.
# driver 2: one row with a NULL `created`. Driver 3 has no history.
HOURLY = [
    (1, T0, T0 + timedelta(minutes=5), 0.1),
    (1, T0, T0 + timedelta(minutes=10), 0.2),
    (1, T0 + 2 * H, None, 0.3),
    (1, T0 + 2 * H, T0 + H, 0.4),
    (2, T0 - H, None, 0.5),
]
DAILY = [(1, T0 - 24 * H, T0 - 24 * H, "oslo"), (2, T0 - 24 * H, None, "rome")]
# (driver, t) -> expected (conv_rate, city); ttl of driver_hourly is 2h (bound inclusive)
SPINE = [
    ((1, T0 - H), (None, "oslo")),  # before any hourly history
    ((1, T0), (0.2, "oslo")),  # exactly on a tied event: the greatest created wins
    ((1, T0 + 2 * H - timedelta(seconds=1)), (0.2, "oslo")),
    ((1, T0 + 2 * H), (0.4, "oslo")),  # NULL created loses the tie
    ((1, T0 + 4 * H), (0.4, "oslo")),  # exactly on the TTL bound: qualifies
    ((1, T0 + 4 * H + timedelta(seconds=1)), (None, "oslo")),  # past the TTL
    ((2, T0 - timedelta(minutes=30)), (0.5, "rome")),
    ((3, T0), (None, None)),  # no history at all
    ((1, T0 - 48 * H), (None, None)),  # before every view's history
]

VIEWS_YML = """\
feature_views:
  - name: driver_hourly
    source: hourly_source
    entities: [driver_id]
    event_timestamp: event_timestamp
    created_timestamp: created
    ttl: 2h
    features:
      conv_rate: {type: float}
  - name: driver_daily
    source: daily_source
    entities: [driver_id]
    event_timestamp: event_timestamp
    created_timestamp: created
    features:
      city: {type: string}

models:
  - name: drivers
    features: [driver_hourly:conv_rate, driver_daily:city]
    spine: spine_source
    output: {file: target/datasets/drivers.parquet}
"""
FILE_SOURCES = """\
sources:
  - {name: hourly_source, file: data/hourly.parquet}
  - {name: daily_source, file: data/daily.parquet}
  - {name: spine_source, file: data/spine.parquet}
"""
TABLE_SOURCES = """\
sources:
  - {name: hourly_source, table: hourly}
  - {name: daily_source, table: daily}
  - {name: spine_source, table: spine}
"""


def _project(root: Path, dsn: str, sources: str) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: pit_engines\nfeature-paths: [features]\ntarget-path: target\n"
        "default-connection: local\nconnections:\n"
        "  local: {type: duckdb, path: target/aligned.duckdb}\n"
        f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'
    )
    (root / "features" / "drivers.yml").write_text(sources + VIEWS_YML)
    ts = pa.timestamp("us")
    hourly = list(zip(*HOURLY, strict=True))
    pq.write_table(
        pa.table(
            {
                "driver_id": pa.array(hourly[0], pa.int64()),
                "event_timestamp": pa.array(hourly[1], ts),
                "created": pa.array(hourly[2], ts),
                "conv_rate": pa.array(hourly[3], pa.float64()),
            }
        ),
        root / "data" / "hourly.parquet",
    )
    daily = list(zip(*DAILY, strict=True))
    pq.write_table(
        pa.table(
            {
                "driver_id": pa.array(daily[0], pa.int64()),
                "event_timestamp": pa.array(daily[1], ts),
                "created": pa.array(daily[2], ts),
                "city": pa.array(daily[3], pa.string()),
            }
        ),
        root / "data" / "daily.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "driver_id": pa.array([k[0] for k, _ in SPINE], pa.int64()),
                "event_timestamp": pa.array([k[1] for k, _ in SPINE], ts),
            }
        ),
        root / "data" / "spine.parquet",
    )
    return root


def _run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["run", *args, "--project-dir", str(root)])


def _dataset(root: Path) -> list[tuple[Any, ...]]:
    """Rows of the dataset, timestamps as naive UTC (DuckDB's and Postgres' spellings)."""
    rows = pq.read_table(root / "target" / "datasets" / "drivers.parquet").to_pylist()
    return [
        tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row.values())
        for row in rows
    ]


def _expected() -> list[tuple[Any, ...]]:
    return [(driver, t, conv, city) for (driver, t), (conv, city) in SPINE]


def _aligned_tables(dsn: str) -> list[str]:
    """Tables aligned creates for a run (`__aligned_tmp_*`), in any schema or session."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname LIKE '\\_\\_aligned\\_tmp\\_%'"
        ).fetchall()
    return [str(r[0]) for r in rows]


@pytest.fixture()
def file_project(tmp_path: Path, postgres_dsn: str) -> Path:
    return _project(tmp_path / "files", postgres_dsn, FILE_SOURCES)


def test_file_sources_give_the_same_dataset_on_both_engines(
    file_project: Path, postgres_dsn: str
) -> None:
    duck = _run(file_project)
    assert duck.exit_code == 0, duck.output
    on_duckdb = _dataset(file_project)
    pg = _run(file_project, "--target", "warehouse")
    assert pg.exit_code == 0, pg.output
    assert _dataset(file_project) == on_duckdb == _expected()
    assert _aligned_tables(postgres_dsn) == []
    # Staged files are aligned's own copies: nothing for the user to index.
    assert "CREATE INDEX" not in pg.output


def _load_tables(dsn: str, *, indexed: bool) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(
            "CREATE TABLE hourly (driver_id bigint, event_timestamp timestamptz,"
            " created timestamptz, conv_rate double precision)"
        )
        conn.execute(
            "CREATE TABLE daily (driver_id bigint, event_timestamp timestamp,"
            " created timestamp, city text)"  # naive: read as UTC like the view does
        )
        conn.execute("CREATE TABLE spine (driver_id bigint, event_timestamp timestamptz)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO hourly VALUES (%s, %s, %s, %s)", HOURLY)
            cur.executemany("INSERT INTO daily VALUES (%s, %s, %s, %s)", DAILY)
            cur.executemany("INSERT INTO spine VALUES (%s, %s)", [k for k, _ in SPINE])
        if indexed:
            conn.execute("CREATE INDEX ON hourly (driver_id, event_timestamp)")
            conn.execute("CREATE INDEX ON daily (driver_id, event_timestamp DESC)")


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "unindexed"])
def test_table_sources_give_the_file_dataset(
    tmp_path: Path, postgres_dsn: str, indexed: bool
) -> None:
    _load_tables(postgres_dsn, indexed=indexed)
    root = _project(tmp_path / "tables", postgres_dsn, TABLE_SOURCES)
    result = _run(root, "--target", "warehouse")
    assert result.exit_code == 0, result.output
    # The spine table's `event_timestamp` column is found at run time (SPEC §4).
    assert _dataset(root) == _expected()
    assert _aligned_tables(postgres_dsn) == []
    advice = [line for line in result.output.splitlines() if "CREATE INDEX" in line]
    if indexed:
        assert advice == []
    else:
        # Once per table, with the exact statement, though two lookups read them.
        text = " ".join(result.output.split())
        assert text.count("CREATE INDEX") == 2
        assert (
            'CREATE INDEX IF NOT EXISTS "hourly__pit" ON "hourly"('
            '"driver_id", "event_timestamp" DESC, "created" DESC NULLS LAST);' in text
        )


def test_a_failing_model_leaves_no_temporary_table(file_project: Path, postgres_dsn: str) -> None:
    # The output path is a directory: the export fails after the lookups were built.
    (file_project / "target" / "datasets" / "drivers.parquet").mkdir(parents=True)
    result = _run(file_project, "--target", "warehouse")
    assert result.exit_code == 1, result.output
    assert "model drivers: ERROR" in result.output
    assert _aligned_tables(postgres_dsn) == []


@pytest.fixture()
def pg_compiled(file_project: Path, postgres_dsn: str) -> Iterator[tuple[Any, Any]]:
    from aligned_cli.core.ir import Connection
    from aligned_cli.execute.adapters import open_adapter
    from aligned_cli.pipeline import load_and_compile

    compiled = load_and_compile(file_project)
    connection = Connection(name="warehouse", type="postgres", dsn=postgres_dsn)
    with open_adapter(connection, file_project) as adapter:
        for source in compiled.project.sources.values():
            adapter.stage_source(source, project=compiled.project.name)
        yield compiled, adapter


def _session_temp_tables(adapter: Any) -> list[str]:
    rows = adapter.fetch_rows(
        "SELECT relname::text FROM pg_class WHERE relnamespace = pg_my_temp_schema()"
        " AND relkind = 'r'"
    )
    return [str(r[0]) for r in rows]


def test_lookup_tables_are_indexed_and_dropped_on_error(pg_compiled: tuple[Any, Any]) -> None:
    """Within the run's own session (where TEMP tables would otherwise linger)."""
    from aligned_cli.execute.model_sql import run_model_sql

    compiled, adapter = pg_compiled
    uid = "model.pit_engines.drivers"
    model = compiled.dag.nodes[uid]["obj"]
    with run_model_sql(compiled, adapter, uid, model, warn=None, warned=set()) as sql:
        temps = _session_temp_tables(adapter)
        assert len(temps) == 2 and all(t.startswith("__aligned_tmp_") for t in temps)
        for temp in temps:
            assert temp in sql
            plan = adapter.fetch_rows(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (temp,)
            )
            assert "event_timestamp DESC" in plan[0][0]
    assert _session_temp_tables(adapter) == []

    with (
        pytest.raises(RuntimeError),
        run_model_sql(compiled, adapter, uid, model, warn=None, warned=set()),
    ):
        raise RuntimeError("the build failed")
    assert _session_temp_tables(adapter) == []

    with (
        pytest.raises(KeyboardInterrupt),
        run_model_sql(compiled, adapter, uid, model, warn=None, warned=set()),
    ):
        raise KeyboardInterrupt
    assert _session_temp_tables(adapter) == []


def test_an_indexed_user_table_is_read_directly(tmp_path: Path, postgres_dsn: str) -> None:
    """No copy when the view reads a typed, indexed table unchanged."""
    from aligned_cli.core.ir import Connection
    from aligned_cli.execute.adapters import open_adapter
    from aligned_cli.execute.pit_tables import indexed_view_relations
    from aligned_cli.pipeline import load_and_compile

    _load_tables(postgres_dsn, indexed=True)
    root = _project(tmp_path / "tables", postgres_dsn, TABLE_SOURCES)
    compiled = load_and_compile(root)
    model = compiled.project.models["drivers"]
    warnings: list[str] = []
    connection = Connection(name="warehouse", type="postgres", dsn=postgres_dsn)
    with (
        open_adapter(connection, root) as adapter,
        indexed_view_relations(
            adapter, compiled.project, model, lambda v: "unused", warn=warnings.append,
            warned=set(),
        ) as (relations, copied),
    ):  # fmt: skip
        read = {name: rel.sql(dialect="postgres") for name, rel in relations.items()}
        assert _session_temp_tables(adapter) == []
        assert not copied
    assert read["driver_hourly"].endswith('FROM "hourly"')
    assert read["driver_daily"].endswith('FROM "daily"')
    assert warnings == []


def _run_sql_entries(root: Path) -> dict[str, str]:
    """Cached run-time SQL: (model, connection) file -> digest and SQL."""
    import json

    folder = root / "target" / ".aligned_cache" / "run_sql"
    entries: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        entry = json.loads(path.read_text())
        entries[path.name] = f"{entry['compile_id']} {entry['digest']}\n{entry['sql']}"
    return entries


def test_a_rerun_reuses_the_run_time_sql_until_the_catalog_changes(
    tmp_path: Path, postgres_dsn: str
) -> None:
    """The recompiled SQL is cached per compile and catalog state (`run_sql_cache`)."""
    _load_tables(postgres_dsn, indexed=True)
    root = _project(tmp_path / "tables", postgres_dsn, TABLE_SOURCES)
    assert _run(root, "--target", "warehouse").exit_code == 0
    first = _run_sql_entries(root)
    assert list(first) == ["model.pit_engines.drivers.warehouse.json"]  # cacheable
    (sql,) = first.values()
    assert '"hourly"' in sql and "__aligned_tmp_" not in sql

    # Same compile, same catalog: the cached SQL, the same dataset.
    result = _run(root, "--target", "warehouse")
    assert result.exit_code == 0, result.output
    assert _run_sql_entries(root) == first
    assert _dataset(root) == _expected()

    # A dropped index changes the catalog: the run copies (and warns), caches nothing.
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        for (name,) in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'hourly'"
        ).fetchall():
            conn.execute(f'DROP INDEX "{name}"')
    result = _run(root, "--target", "warehouse")
    assert result.exit_code == 0, result.output
    assert "CREATE INDEX" in result.output
    assert _run_sql_entries(root) == first
    assert _dataset(root) == _expected()
    assert _aligned_tables(postgres_dsn) == []

    # A new spine column changes the catalog too: a new entry, and the column is output.
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE INDEX ON hourly (driver_id, event_timestamp)")
        conn.execute("ALTER TABLE spine ADD COLUMN label int DEFAULT 7")
    assert _run(root, "--target", "warehouse").exit_code == 0
    assert len(_run_sql_entries(root)) == 1  # the model's entry, replaced
    assert _run_sql_entries(root) != first
    rows = pq.read_table(root / "target" / "datasets" / "drivers.parquet")
    assert rows.column_names[:3] == ["driver_id", "event_timestamp", "label"]
    assert set(rows.column("label").to_pylist()) == {7}


def test_a_new_compile_starts_the_run_time_sql_afresh(tmp_path: Path, postgres_dsn: str) -> None:
    _load_tables(postgres_dsn, indexed=True)
    root = _project(tmp_path / "tables", postgres_dsn, TABLE_SOURCES)
    assert _run(root, "--target", "warehouse").exit_code == 0
    before = _run_sql_entries(root)
    views = root / "features" / "drivers.yml"
    views.write_text(views.read_text().replace("ttl: 2h", "ttl: 3h"))
    assert _run(root, "--target", "warehouse").exit_code == 0
    after = _run_sql_entries(root)
    assert len(after) == 1 and after != before
    assert "10800 SECONDS" in next(iter(after.values()))


def test_a_compile_redone_for_an_env_var_does_not_reuse_run_time_sql(
    tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An env var's value is no part of the files' fingerprint: the compile redone for
    it is a new compile, and the SQL cached for the previous one is not used."""
    _load_tables(postgres_dsn, indexed=True)
    root = _project(tmp_path / "tables", postgres_dsn, TABLE_SOURCES)
    views = root / "features" / "drivers.yml"
    views.write_text(views.read_text().replace("ttl: 2h", "ttl: \"{{ env_var('HOURLY_TTL') }}\""))
    monkeypatch.setenv("HOURLY_TTL", "2h")
    assert _run(root, "--target", "warehouse").exit_code == 0
    assert "7200 SECONDS" in next(iter(_run_sql_entries(root).values()))
    monkeypatch.setenv("HOURLY_TTL", "3h")
    assert _run(root, "--target", "warehouse").exit_code == 0
    assert "10800 SECONDS" in next(iter(_run_sql_entries(root).values()))
