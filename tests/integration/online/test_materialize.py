"""`aligned materialize` against a real Redis and DuckDB."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import NOW, aligned, event, write_events, write_project

from aligned_cli.online.codec import datetime_to_micros, decode

KEY = "aligned:fleet:driver_stats:"


def stored(client: Any, driver: int) -> dict[str, Any] | None:
    raw = client.hgetall(f"{KEY}{driver}")
    if not raw:
        return None
    return {k.decode(): v.decode() for k, v in raw.items()}


def brute_force_latest(rows: list[dict[str, Any]], ttl: timedelta) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["event_timestamp"] > NOW or row["event_timestamp"] < NOW - ttl:
            continue
        best = latest.get(row["driver_id"])
        order = (row["event_timestamp"], row["created"])
        if best is None or order > (best["event_timestamp"], best["created"]):
            latest[row["driver_id"]] = row
    return latest


ROWS = [
    event(1, 5, 0.1, 2),
    event(1, 1, 0.2, 3),  # latest of driver 1
    event(2, 3, 0.5, 1, created=NOW - timedelta(hours=2)),
    event(2, 3, 0.6, 4, created=NOW - timedelta(hours=1)),  # same event, later created
    event(3, 2, float("nan"), 5, city=None, active=False),  # NaN and NULL round-trip
    event(4, 24 * 40, 0.9),  # outside the 30d ttl: never written
    event(5, -5, 0.7),  # in the future: not yet
]


def test_latest_values_match_brute_force(tmp_path: Path, redis_url: str, redis_client: Any) -> None:
    root = write_project(tmp_path / "p", redis_url, ROWS)
    result = aligned("materialize", cwd=root)
    assert result.exit_code == 0, result.output
    expected = brute_force_latest(ROWS, timedelta(days=30))
    assert set(expected) == {1, 2, 3}
    for driver in (4, 5):
        assert stored(redis_client, driver) is None
    for driver, row in expected.items():
        got = stored(redis_client, driver)
        assert got is not None
        assert int(got["__ts"]) == datetime_to_micros(row["event_timestamp"])
        assert int(got["__created"]) == datetime_to_micros(row["created"])
        assert decode(got["trips"]) == row["trips"]
        assert decode(got["city"]) == row["city"]
        assert decode(got["active"]) is row["active"]
        conv = decode(got["conv_rate"])
        if math.isnan(row["conv_rate"]):
            assert math.isnan(conv) and math.isnan(decode(got["busy"]))
        else:
            assert conv == row["conv_rate"]
            assert decode(got["busy"]) == row["conv_rate"] * row["trips"]


def test_incremental_writes_only_new_rows_and_wiped_redis_refills(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    root = write_project(tmp_path / "p", redis_url, ROWS)
    assert aligned("materialize", cwd=root).exit_code == 0
    marker = "oslo-marker"
    # Tamper with driver 1's stored row: an incremental run with nothing newer leaves it.
    redis_client.hset(f"{KEY}1", "city", f"s:{marker}")
    write_events(root, [*ROWS, event(2, 0.5, 0.99, 9)])
    result = aligned("materialize", "--log-format", "json", cwd=root)
    assert result.exit_code == 0, result.output
    assert '"written": 1' in result.output
    assert decode(stored(redis_client, 2)["conv_rate"]) == 0.99  # type: ignore[index]
    assert decode(stored(redis_client, 1)["city"]) == marker  # type: ignore[index]
    redis_client.flushdb()
    assert aligned("materialize", cwd=root).exit_code == 0
    assert decode(stored(redis_client, 1)["city"]) == "oslo"  # type: ignore[index]
    assert {int(k.split(b":")[-1]) for k in redis_client.keys(f"{KEY}*")} == {1, 2, 3}


def test_older_rows_never_replace_newer_unless_forced(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    root = write_project(tmp_path / "p", redis_url, ROWS)
    assert aligned("materialize", cwd=root).exit_code == 0
    newer = NOW - timedelta(minutes=1)
    redis_client.hset(f"{KEY}1", mapping={"__ts": datetime_to_micros(newer), "trips": "i:77"})
    assert (
        aligned("materialize", "--start", (NOW - timedelta(days=1)).isoformat(), cwd=root).exit_code
        == 0
    )
    assert decode(stored(redis_client, 1)["trips"]) == 77  # type: ignore[index]
    assert aligned("materialize", "--force", cwd=root).exit_code == 0
    assert decode(stored(redis_client, 1)["trips"]) == 3  # type: ignore[index]


def test_keys_expire_at_event_timestamp_plus_ttl(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    root = write_project(tmp_path / "p", redis_url, ROWS, ttl="2d")
    assert aligned("materialize", cwd=root).exit_code == 0
    ts = NOW - timedelta(hours=1)
    expected_ms = datetime_to_micros(ts + timedelta(days=2)) // 1000
    assert redis_client.pexpiretime(f"{KEY}1") == expected_ms
    assert 0 < redis_client.pttl(f"{KEY}1") <= 2 * 86_400_000


def test_a_materialize_process_never_imports_pandas(tmp_path: Path, redis_url: str) -> None:
    """pandas costs ~0.3 s to import and materialize has no use for it (pyarrow would
    import it to check Python constants passed to its kernels; see arrow_constants)."""
    import subprocess
    import sys

    root = write_project(tmp_path / "p", redis_url, ROWS)
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('pandas imported:', 'pandas' in sys.modules))\n"
        "from aligned_cli.cli.app import main\n"
        f"sys.argv = ['aligned', 'materialize', '--project-dir', {str(root)!r}]\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "written" in result.stdout + result.stderr
    assert "pandas imported: False" in result.stdout
