"""`aligned worker`: stream messages -> online store; crash and resume."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import NOW, aligned, event, write_project

from aligned_cli.online.codec import decode
from aligned_cli.online.worker import group_name

KEY = "aligned:fleet:driver_stats:"


def message(driver: int, minutes_ago: int, conv: float, trips: int) -> dict[str, str]:
    ts = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {
        "driver_id": str(driver),
        "event_timestamp": ts,
        "conv_rate": str(conv),
        "trips": str(trips),
    }


def test_worker_applies_messages(tmp_path: Path, redis_url: str, redis_client: Any) -> None:
    root = write_project(tmp_path / "p", redis_url, [event(1, 48, 0.1)])
    redis_client.xadd("driver_events", message(1, 5, 0.5, 4))
    redis_client.xadd("driver_events", message(1, 50, 0.9, 9))  # older: ignored by CAS
    redis_client.xadd("driver_events", message(2, 1, 0.25, 2))
    result = aligned("worker", "--once", "--consumer", "w1", cwd=root)
    assert result.exit_code == 0, result.output
    assert decode(redis_client.hget(f"{KEY}1", "busy").decode()) == 2.0
    assert decode(redis_client.hget(f"{KEY}2", "conv_rate").decode()) == 0.25
    group = group_name("fleet", "driver_stats")
    assert redis_client.xpending("driver_events", group)["pending"] == 0


def test_crash_after_read_before_write_loses_nothing(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    root = write_project(tmp_path / "p", redis_url, [event(1, 48, 0.1)])
    group = group_name("fleet", "driver_stats")
    redis_client.xgroup_create("driver_events", group, id="0", mkstream=True)
    for driver in (3, 4):
        redis_client.xadd("driver_events", message(driver, 2, 0.5, driver))
    # A worker read both messages and died before writing: they are pending, unacked.
    read = redis_client.xreadgroup(group, "w1", {"driver_events": ">"}, count=10)
    assert len(read[0][1]) == 2 and not redis_client.exists(f"{KEY}3")
    result = aligned("worker", "--once", "--consumer", "w1", cwd=root)
    assert result.exit_code == 0, result.output
    for driver in (3, 4):
        assert decode(redis_client.hget(f"{KEY}{driver}", "trips").decode()) == driver
    assert redis_client.xpending("driver_events", group)["pending"] == 0
    # Restarting again applies nothing twice: nothing is pending or new.
    again = aligned("worker", "--once", "--consumer", "w1", "--log-format", "json", cwd=root)
    assert '"messages": 0' in again.output


def test_other_consumers_abandoned_entries_are_claimed(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    root = write_project(tmp_path / "p", redis_url, [event(1, 48, 0.1)])
    group = group_name("fleet", "driver_stats")
    redis_client.xgroup_create("driver_events", group, id="0", mkstream=True)
    redis_client.xadd("driver_events", message(5, 2, 0.5, 5))
    redis_client.xreadgroup(group, "dead-worker", {"driver_events": ">"}, count=10)
    args = ("worker", "--once", "--consumer", "w2", "--claim-idle-ms", "0")
    assert aligned(*args, cwd=root).exit_code == 0
    assert decode(redis_client.hget(f"{KEY}5", "trips").decode()) == 5
    assert redis_client.xpending("driver_events", group)["pending"] == 0


def test_stream_declared_on_the_view_feeds_the_worker(
    tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    # SPEC §10 spelling: `stream_source: {stream: NAME}` on the view, not `stream:` on
    # its source.
    root = write_project(tmp_path / "p", redis_url, [event(1, 48, 0.1)])
    features = root / "features" / "drivers.yml"
    text = features.read_text().replace("    stream: driver_events\n", "")
    text = text.replace(
        "    source: driver_events\n",
        "    source: driver_events\n    stream_source: {stream: view_events}\n",
    )
    features.write_text(text)
    redis_client.xadd("view_events", message(3, 5, 0.5, 4))
    result = aligned("worker", "--once", "--consumer", "w1", cwd=root)
    assert result.exit_code == 0, result.output
    assert decode(redis_client.hget(f"{KEY}3", "busy").decode()) == 2.0
