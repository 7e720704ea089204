"""How commands talk to the user: rich text on a terminal, JSON lines for CI.

Status lines written to a pipe or a file (CI logs, `| tee`) are plain text: colour
would be dropped there anyway, and not importing rich saves ~40 ms of every command.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

_state: dict[str, Any] = {"log_format": "text"}

# The colour of every node/test/freshness/monitoring status, in every command.
STATUS_STYLE = {
    "success": "green",
    "pass": "green",
    "warn": "yellow",
    "fail": "red",
    "error": "red",
    "runtime error": "red",
    "skipped": "dim",
}


def set_log_format(log_format: str) -> None:
    _state["log_format"] = log_format


def use_log_format(log_format: str) -> None:
    """`--log-format` as a command received it: `text` or `json`, else a usage error."""
    from aligned_cli.errors import UsageError

    if log_format not in ("text", "json"):
        raise UsageError(f"unknown --log-format '{log_format}'", hint="use text or json")
    set_log_format(log_format)


def json_logs() -> bool:
    return bool(_state["log_format"] == "json")


@lru_cache(maxsize=1)
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@lru_cache(maxsize=1)
def error_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def log_event(level: str, message: str, **fields: Any) -> None:
    """One structured line on stdout in JSON mode; rich text otherwise."""
    if json_logs():
        record = {"ts": datetime.now(UTC).isoformat(), "level": level, "msg": message, **fields}
        sys.stdout.write(json.dumps(record, default=str) + "\n")
        sys.stdout.flush()
        return
    style = {"error": "red", "warn": "yellow", "success": "green"}.get(level, "")
    line(message, style, stderr=level == "error")


def line(text: str, style: str = "", *, stderr: bool = False) -> None:
    """One line of text, in `style` (a rich style such as "red") on a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    if not _colours(stream):
        stream.write(text + "\n")
        stream.flush()
        return
    markup = f"[{style}]{_escape(text)}[/{style}]" if style else _escape(text)
    (error_console() if stderr else console()).print(markup)


def _colours(stream: Any) -> bool:
    """Whether rich should render for `stream`: a terminal, or colour forced as rich
    itself allows (FORCE_COLOR, TTY_COMPATIBLE)."""
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def info(message: str, **fields: Any) -> None:
    log_event("info", message, **fields)


def warn(message: str, **fields: Any) -> None:
    log_event("warn", message, **fields)


def error(message: str, **fields: Any) -> None:
    log_event("error", message, **fields)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
