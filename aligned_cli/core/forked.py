"""Computing a value in a forked child process while this process does other work.

A compile has independent halves (a big project's SQL; its DAG, checksums and
lineage) and a machine usually has a second core. A forked child inherits the
loaded project for free (no pickling of the IR), computes one half and sends its
result back through a pipe (plain data: cheap to pickle).

The child is only ever a shortcut. Whenever it cannot be used (not Linux, other
threads running, no idle CPU, `ALIGNED_COMPILE_JOBS=1`) `Forked.start` returns None, and
whenever it fails (an exception, a crash, a result that does not pickle) `result()`
returns None: the caller then computes the value itself, exactly as it would have
without a child, so errors are raised by this process with their usual messages
(never twice: what the child printed is kept and printed here only when its result
is used).
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

T = TypeVar("T")
P = TypeVar("P")

JOBS_VARIABLE = "ALIGNED_COMPILE_JOBS"  # 1: never fork; 2: fork whenever possible
# Allocations between the child's garbage collections (see `_child`): bounds what
# garbage can pile up to a few hundred MB at most.
_CHILD_GC_THRESHOLD = 1_000_000


def jobs_setting() -> int | None:
    """`ALIGNED_COMPILE_JOBS` as a number, or None when unset (decide by size)."""
    text = os.environ.get(JOBS_VARIABLE, "").strip()
    try:
        return max(1, int(text)) if text else None
    except ValueError:
        return None


def can_fork() -> bool:
    """Whether a child can be forked safely and would have a CPU of its own (see
    `_busy`).

    Only on Linux (macOS's system libraries are not safe to use in a forked child,
    which is why Python does not fork there by default), and only from a
    single-threaded process: a thread holding a lock at fork time would leave it
    held forever in the child (the runtime API may run in a threaded server; the
    CLI compiles in its only thread).
    """
    if not sys.platform.startswith("linux") or jobs_setting() == 1:
        return False
    if threading.active_count() != 1 or threading.current_thread() is not threading.main_thread():
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return False
    return jobs_setting() is not None or not _busy(cpus)


def _busy(cpus: int) -> bool:
    """Whether no CPU is idle for a child: as many other tasks as CPUs but this one's
    are running right now, and have been over the last minute (Linux's /proc/loadavg:
    runnable tasks now, and their 1-minute average; neither alone, so that a task
    waking up for an instant does not decide).

    A child is worth it only on an idle CPU: on a busy machine it competes with this
    process and adds its own costs (forking, copied pages), and one process is
    faster (a 500-view project on two CPUs, one kept busy by another program:
    1.48 s in one process, 1.68 s with a child). `ALIGNED_COMPILE_JOBS=2` forks
    whatever the load.
    """
    try:
        with open("/proc/loadavg", encoding="ascii") as stream:
            fields = stream.read().split()
        average = float(fields[0])
        running = int(fields[3].partition("/")[0]) - 1  # this process is running, reading
    except (OSError, ValueError, IndexError):
        return False
    return running >= cpus - 1 and average >= cpus - 0.5


class Forked(Generic[T]):
    """A forked child computing one value; `result()` collects it.

    `start(function)` computes `function()` at once. `serve(prepare, function)`
    runs `prepare()` at once (imports, connections: work this process would do
    later) and `function(prepared, argument)` when `send(argument)` gives it its
    input. The child is a `multiprocessing` process of the fork context, its value
    and input travel through `multiprocessing` pipes.
    """

    def __init__(
        self, process: BaseProcess, results: Connection, inputs: Connection | None = None
    ) -> None:
        self._process: BaseProcess | None = process
        self._results = results
        self._inputs = inputs

    @classmethod
    def start(cls, function: Callable[[], T]) -> Forked[T] | None:
        """Fork a child computing `function()`; None when no child can be used."""
        return cls._fork(lambda _: function(), needs_input=False)

    @classmethod
    def serve(cls, prepare: Callable[[], P], function: Callable[[P, Any], T]) -> Forked[T] | None:
        """Fork a child running `prepare()` now and `function(prepared, argument)`
        once `send(argument)` is called; None when no child can be used."""

        def run(read_input: Callable[[], Any]) -> T:
            prepared = prepare()
            return function(prepared, read_input())

        return cls._fork(run, needs_input=True)

    @classmethod
    def _fork(cls, run: Callable[[Callable[[], Any]], T], *, needs_input: bool) -> Forked[T] | None:
        if not can_fork():
            return None
        import multiprocessing

        context = multiprocessing.get_context("fork")
        ends: list[Connection] = []
        try:
            results_in, results_out = context.Pipe(duplex=False)
            ends += [results_in, results_out]
            inputs_in = inputs_out = None
            if needs_input:
                inputs_in, inputs_out = context.Pipe(duplex=False)
                ends += [inputs_in, inputs_out]
            # The child closes this process's ends first: a write end it held itself
            # would keep it waiting forever for input this process never sends.
            process = context.Process(
                target=_child,
                args=(run, results_out, inputs_in, (results_in, inputs_out)),
                name="aligned-compile",
            )
            process.start()
        except OSError:  # no pipes or no process to be had (limits): no child then
            for end in ends:
                end.close()
            return None
        results_out.close()  # the child's ends: only the child holds them now
        if inputs_in is not None:
            inputs_in.close()
        return cls(process, results_in, inputs_out)

    def send(self, argument: Any) -> None:
        """Give a `serve` child its argument (a child that died is noticed by `result`)."""
        assert self._inputs is not None, "only a served child takes an argument"
        inputs, self._inputs = self._inputs, None
        with contextlib.suppress(OSError, ValueError, pickle.PicklingError):
            inputs.send(argument)
        inputs.close()

    def result(self) -> T | None:
        """The child's value (what it printed is printed here), or None if it failed."""
        process = self._process
        if process is None:
            return None
        self._close_input()
        try:
            received = self._results.recv()
        except Exception:  # nothing sent (failed, crashed) or not unpicklable here
            received = None
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): stop the child at once
            self.close()
            raise
        self._process = None
        self._results.close()
        process.join()
        if received is None or process.exitcode != 0:
            return None
        value, out, err = received
        if out:
            sys.stdout.write(out)
        if err:
            sys.stderr.write(err)
        result: T = value
        return result

    def close(self) -> None:
        """Stop the child if its result was not collected (the caller failed first)."""
        self._close_input()
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.join()
        self._results.close()

    def _close_input(self) -> None:
        if self._inputs is not None:
            self._inputs.close()
            self._inputs = None


def _child(
    run: Callable[[Callable[[], Any]], T],
    results: Connection,
    inputs: Connection | None,
    parent_ends: tuple[Connection | None, ...],
) -> None:
    """Run, then send (value, stdout text, stderr text); exit 1 if anything fails."""
    for end in parent_ends:
        if end is not None:
            end.close()
    # Objects inherited from the parent stay out of this process's collections (they
    # are not garbage here, and scanning them would copy their pages), and the
    # collector runs rarely: this process ends soon, returning all its memory. A
    # 500-view project's SQL is ~150k objects of cyclic garbage (syntax trees): at
    # the compile's thresholds, four collections and 40% of the child's time.
    gc.freeze()
    gc.set_threshold(max(gc.get_threshold()[0], _CHILD_GC_THRESHOLD))
    gc.enable()  # the parent may hold it (`pipeline._fewer_gc_passes`)
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = out, err  # printed by the parent, only if the value is used

    def read_input() -> Any:
        assert inputs is not None
        return inputs.recv()  # EOFError when the parent went on without this child

    try:
        value = run(read_input)
        results.send((value, out.getvalue(), err.getvalue()))
    except BaseException:
        # The parent computes the value itself and reports any error: nothing is said
        # here (multiprocessing would print the traceback).
        os._exit(1)
