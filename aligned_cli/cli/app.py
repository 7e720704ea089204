"""The typer application. Commands live in `cli/commands/`, one module each.

`aligned <command>` imports only that command's module: typer reads every registered
command's signature (evaluating its annotations) before parsing argv, which for all
commands cost ~50 ms of CPU on every invocation. `app` (what tests and CliRunner
use) is the application with every command registered.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import typer

from aligned_cli import __version__
from aligned_cli.cli.argv import AlignedGroup, move_leading_common_options

F = TypeVar("F", bound=Callable[..., Any])

cli = typer.Typer(
    name="aligned",
    cls=AlignedGroup,
    help="aligned: compile ML feature definitions into point-in-time correct datasets, "
    "data tests, artifacts and online features.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _debug_enabled() -> bool:
    return os.environ.get("ALIGNED_DEBUG", "") not in ("", "0", "false")


def handle_errors(function: F) -> F:
    """Turn aligned's errors into one readable message and the documented exit code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from aligned_cli.errors import EXIT_USAGE, AlignedError

        try:
            return function(*args, **kwargs)
        except AlignedError as error:
            if _debug_enabled():
                raise
            from aligned_cli.cli.output import error as print_error

            print_error(error.render())
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt as stop:
            from aligned_cli.cli.output import error as print_error

            terminated = isinstance(stop, Terminated)
            print_error("terminated" if terminated else "interrupted")
            raise typer.Exit(128 + (15 if terminated else 2)) from None  # as a shell reports
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except BrokenPipeError:
            if not stdout_is_broken():
                raise
            raise typer.Exit(quiet_broken_pipe()) from None
        except OSError as error:
            if error.filename is None or _debug_enabled():
                raise
            # A path the user gave (or the project names) cannot be read or written:
            # their environment, not a bug; name the path and the reason.
            from aligned_cli.cli.output import error as print_error

            print_error(
                f"cannot use '{error.filename}': {error.strerror or error}\n"
                "  hint: check that the path exists and its permissions"
            )
            raise typer.Exit(EXIT_USAGE) from None
        except Exception as error:  # a bug in aligned: say so, keep the traceback out
            if _debug_enabled():
                raise
            from aligned_cli.cli.output import error as print_error

            print_error(
                f"internal error: {type(error).__name__}: {error}\n"
                "  hint: this is a bug in aligned; rerun with --debug for the traceback "
                "and report it"
            )
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aligned {__version__}")
        raise typer.Exit()


@cli.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks (for reporting bugs).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """aligned: dbt for ML features."""
    if debug:
        os.environ["ALIGNED_DEBUG"] = "1"


# Command name -> its module in `aligned_cli.cli.commands` (each registers on `cli`).
COMMANDS = (
    "apply",
    "compile",
    "docs",
    "freshness",
    "init",
    "lineage",
    "ls",
    "materialize",
    "monitor",
    "run",
    "serve",
    "test",
    "worker",
)


def register(names: Iterable[str] = COMMANDS) -> typer.Typer:
    """Register the commands `names` (idempotent); the application."""
    for name in names:
        importlib.import_module(f"aligned_cli.cli.commands.{name}")
    return cli


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole application: every command registered
        return register()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def invoked_command(args: list[str]) -> str | None:
    """The command `aligned ARGS` runs: the first argument that is not a root flag
    (the root options, --debug and --version, take no value); None for the root's own
    help (`aligned --help run` lists every command). Common flags before the command
    are read as the parser will (`aligned --log-format json run` runs `run`)."""
    for arg in move_leading_common_options(list(args)):
        if arg in ("--help", "-h"):
            return None
        if not arg.startswith("-"):
            return arg
    return None


def stdout_is_broken() -> bool:
    """True when stdout is a pipe whose reader has gone (`aligned ls | head -3`)."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def quiet_broken_pipe() -> int:
    """Stop writing to a closed pipe without a message, like other Unix tools.

    stdout is pointed at /dev/null so that Python's final flush does not complain;
    the exit code is what a shell reports for a process ended by SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13  # SIGPIPE


class Terminated(KeyboardInterrupt):
    """SIGTERM: how CI cancels a job and `timeout` or `kill` stop a process."""


def stop_on_sigterm() -> None:
    """Make SIGTERM stop a command the way Ctrl-C does (SPEC §9): a run marks what it
    did not finish, writes run_results.json and removes its temporary outputs,
    instead of dying mid-write. Left alone if someone already handles SIGTERM (a
    server installs its own when it starts)."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise Terminated()

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, stop)


def main() -> None:
    _process.append(True)  # this process ends with the command (see `keep_until_exit`)
    stop_on_sigterm()
    command = invoked_command(sys.argv[1:])
    # Only the invoked command; all of them for `--help`, a typo (click's suggestion
    # needs the names) or no command at all.
    register([command] if command in COMMANDS else COMMANDS)
    try:
        cli()
    except BrokenPipeError:  # raised outside a command, e.g. while printing --help
        if not stdout_is_broken():
            raise
        raise SystemExit(quiet_broken_pipe()) from None
    except SystemExit as done:  # how click ends every command
        if done.code is None or isinstance(done.code, int):
            exit_without_teardown(done.code or 0)
        raise


_process: list[bool] = []  # [True] once `main` runs: the command ends the process
_kept: list[object] = []


def keep_until_exit(*objects: object) -> None:
    """Keep what a command made alive until its process ends (`exit_without_teardown`):
    returning would free a big compiled project object by object, 20 ms of a 500-view
    compile, just before the process ends anyway. Only in a process `main` runs; a
    caller that goes on (tests, CliRunner) keeps nothing."""
    if _process:
        _kept.extend(objects)


def exit_without_teardown(code: int) -> None:
    """End the process without tearing the interpreter down, when that is safe.

    After a command, Python's own shutdown only frees memory: it clears hundreds of
    modules and collects every object (the loaded project, pydantic's schemas), which
    takes 50-100 ms on this kind of box — a third of a warm `aligned run` on small
    data. Everything a command writes is written and closed before it returns; exit
    handlers still run and output is flushed. With other threads still alive, the
    usual shutdown waits for them (other than daemons), so this returns and lets it happen.
    """
    import atexit
    import contextlib
    import threading

    # Daemon threads (py4j's finalizer in a Spark run) never delay an exit anyway.
    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.main_thread()
    ):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
    os._exit(code)
