"""`aligned test --store-failures`: each test's failing rows in a table (SPEC §6).

One table per test, `aligned_failures.<test name>`, replaced on every run (empty
when the test passes, so an old failure never lingers); names longer than
PostgreSQL's 63 bytes end in a short hash so that two long names stay distinct.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from aligned_cli.core.ir import Output

if TYPE_CHECKING:
    from aligned_cli.execute.adapters.base import Adapter

FAILURES_SCHEMA = "aligned_failures"
_MAX_IDENTIFIER_BYTES = 63


def failures_output(test_name: str) -> Output:
    return Output(table=bounded_name(test_name), schema_name=FAILURES_SCHEMA)


def bounded_name(name: str) -> str:
    """`name`, or its first bytes plus an 8-hex hash when it is over 63 bytes."""
    if len(name.encode()) <= _MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = name.encode()[: _MAX_IDENTIFIER_BYTES - len(digest) - 2].decode(errors="ignore")
    return f"{head}__{digest}"


def store_failures(adapter: Adapter, failing_rows_sql: str, test_name: str) -> str:
    """Replace the test's failures table with `failing_rows_sql`; where it went."""
    output = failures_output(test_name)
    adapter.write_output(failing_rows_sql, output)
    return f"{output.schema_name}.{output.table}"
