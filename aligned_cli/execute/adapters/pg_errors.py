"""PostgreSQL driver errors as one readable message (never the password, never a traceback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aligned_cli.errors import ExecutionError

if TYPE_CHECKING:
    import psycopg


def connect_error(error: psycopg.Error, server: str, connection_name: str) -> ExecutionError:
    """Why connecting to `server` (host:port/dbname) failed, with what to check."""
    text = str(error)
    lowered = text.lower()
    where = f"PostgreSQL at {server} (connection '{connection_name}')"
    if "password authentication failed" in lowered or (
        "role" in lowered and "does not exist" in lowered
    ):
        return ExecutionError(
            f"cannot log in to {where}: {_server_reason(text)}",
            hint="check the user and password in the connection's dsn",
        )
    if "database" in lowered and "does not exist" in lowered:
        return ExecutionError(
            f"cannot open {where}: {_server_reason(text)}",
            hint="create the database, or fix the database name in the connection's dsn",
        )
    if "timeout" in lowered:
        reason = "the connection timed out"
    elif "refused" in lowered:
        reason = "connection refused"
    else:
        reason = _server_reason(text)
    return ExecutionError(
        f"cannot connect to {where}: {reason}",
        hint="check that the server is running and reachable, and the connection's dsn",
    )


def _server_reason(text: str) -> str:
    """libpq's reason without its `connection to server at ... failed:` preamble."""
    reason = text.split("failed:", 1)[-1].strip()
    reason = reason.removeprefix("FATAL:").strip()
    return reason.splitlines()[0] if reason else text


def query_error(error: psycopg.Error, connection_name: str) -> ExecutionError:
    """A failed statement: the server's message (it names the table, schema, column...)."""
    import psycopg.errors as pg_errors

    diag = error.diag
    message = diag.message_primary or str(error).splitlines()[0]
    if isinstance(error, pg_errors.QueryCanceled) and "statement timeout" in message:
        return ExecutionError(
            f"PostgreSQL: a statement exceeded the statement_timeout of connection "
            f"'{connection_name}' and was cancelled",
            hint="raise `options: {statement_timeout: ...}` on the connection, or add an index",
        )
    if diag.message_detail:
        message += f" ({diag.message_detail})"
    return ExecutionError(f"PostgreSQL: {message}", hint=diag.message_hint)
