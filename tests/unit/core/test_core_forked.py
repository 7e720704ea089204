"""A forked child is only a shortcut: its value when it works, None when it does not."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from aligned_cli.core import forked
from aligned_cli.core.forked import Forked, can_fork, jobs_setting

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux")


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Children are forked even in a test worker (which may run helper threads)."""
    monkeypatch.delenv(forked.JOBS_VARIABLE, raising=False)
    monkeypatch.setattr(forked, "can_fork", lambda: True)


def _shout() -> dict[str, list[int]]:
    print("from the child")
    print("a warning", file=sys.stderr)
    return {"pid": [os.getpid()]}


def test_a_child_computes_the_value_and_its_output_is_printed_here(
    forking: None, capsys: pytest.CaptureFixture[str]
) -> None:
    child = Forked.start(_shout)
    assert child is not None
    value = child.result()
    assert value is not None and value["pid"] != [os.getpid()]
    out, err = capsys.readouterr()
    assert out == "from the child\n" and err == "a warning\n"
    assert child.result() is None  # collected once


def _fail() -> int:
    print("printed before failing")
    raise ValueError("boom")


def test_a_failing_child_gives_none_and_prints_nothing(
    forking: None, capsys: pytest.CaptureFixture[str]
) -> None:
    child = Forked.start(_fail)
    assert child is not None
    assert child.result() is None
    assert capsys.readouterr() == ("", "")


def _unpicklable() -> object:
    return lambda: None


def _crash() -> int:
    os._exit(3)


@pytest.mark.parametrize("function", [_unpicklable, _crash])
def test_a_child_whose_value_cannot_come_back_gives_none(function: object, forking: None) -> None:
    child = Forked.start(function)  # type: ignore[arg-type]
    assert child is not None
    assert child.result() is None


def test_a_served_child_prepares_then_answers_what_it_is_sent(forking: None) -> None:
    child = Forked.serve(lambda: 10, lambda prepared, argument: prepared + sum(argument))
    assert child is not None
    child.send([1, 2, 3])
    assert child.result() == 16


def test_a_served_child_never_sent_anything_gives_none(forking: None) -> None:
    child = Forked.serve(lambda: 10, lambda prepared, argument: prepared)
    assert child is not None
    assert child.result() is None


def _sleep() -> int:
    time.sleep(60)
    return 1


def test_close_stops_a_child_still_working(forking: None) -> None:
    child = Forked.start(_sleep)
    assert child is not None
    assert child._process is not None
    pid = child._process.pid
    assert pid is not None
    started = time.monotonic()
    child.close()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind
    assert child.result() is None


def test_no_child_when_disabled_or_other_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.JOBS_VARIABLE, "1")
    assert jobs_setting() == 1
    assert not can_fork()
    assert Forked.start(_shout) is None
    monkeypatch.delenv(forked.JOBS_VARIABLE)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize(("text", "expected"), [("", None), ("2", 2), ("0", 1), ("x", None)])
def test_jobs_setting(monkeypatch: pytest.MonkeyPatch, text: str, expected: int | None) -> None:
    monkeypatch.setenv(forked.JOBS_VARIABLE, text)
    assert jobs_setting() == expected


def test_by_default_a_child_needs_an_idle_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(forked.JOBS_VARIABLE, raising=False)
    monkeypatch.setattr(forked.threading, "active_count", lambda: 1)
    monkeypatch.setattr(forked.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(forked, "_busy", lambda cpus: False)
    assert can_fork()
    monkeypatch.setattr(forked, "_busy", lambda cpus: True)
    assert not can_fork()
    monkeypatch.setenv(forked.JOBS_VARIABLE, "2")  # forced: whatever the load
    assert can_fork()
    monkeypatch.setattr(forked.os, "sched_getaffinity", lambda pid: {0})
    assert not can_fork()  # never with one CPU


@pytest.mark.parametrize(
    ("loadavg", "busy"),
    [
        ("0.10 0.20 0.30 1/300 999\n", False),  # only this process runs
        ("2.40 3.00 3.10 3/300 999\n", True),  # others running now and all minute
        ("0.30 0.20 0.10 3/300 999\n", False),  # others for an instant only
        ("2.40 3.00 3.10 1/300 999\n", False),  # busy a while ago, idle now
        ("garbage", False),
    ],
)
def test_busy_reads_proc_loadavg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, loadavg: str, busy: bool
) -> None:
    import builtins

    fake = tmp_path / "loadavg"
    fake.write_text(loadavg)
    real_open = builtins.open

    def fake_open(file: object, *args: object, **kwargs: object) -> object:
        return real_open(fake if file == "/proc/loadavg" else file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", fake_open)
    assert forked._busy(2) is busy


def test_an_interrupted_wait_stops_the_child_at_once(forking: None) -> None:
    import signal

    child = Forked.start(_sleep)
    assert child is not None and child._process is not None
    pid = child._process.pid
    assert pid is not None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            child.result()  # Ctrl-C or SIGTERM while waiting: the child goes too
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped


def test_no_pipes_to_be_had_means_no_child(forking: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing.context

    def no_pipes(self: object, duplex: bool = True) -> object:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(multiprocessing.context.BaseContext, "Pipe", no_pipes)
    assert Forked.start(_shout) is None
    assert Forked.serve(lambda: 1, lambda prepared, argument: argument) is None
